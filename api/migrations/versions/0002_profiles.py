"""Storage follows profiles: a reading's values as one JSON object, a profile per row and machine.

Revision 0002 (parent 0001).

- ``predictions``: the AI4I columns (category, five sensors, product id) become ``values_json``
  (compact JSON text, exact floats), plus ``profile`` (``ai4i-mill`` for every existing row:
  it was the only machine class); probability, model version and threshold become nullable
  (a reading of a profile without a model is stored unscored). The machine index no longer
  carries the AI4I values.
- ``history_minutes``: the per-field sums move to the narrow ``history_minute_values``
  (machine, minute, field, n, total); ``max_probability`` becomes nullable.
- ``machines`` and ``alerts``: ``profile`` (``ai4i-mill`` for every one known so far); an
  alert's probability becomes nullable (a detected failure of a machine without a model).

SQLite rebuilds ``predictions`` by copying it in chunks through Python (its json_object()
prints 15 digits and would round some floats); PostgreSQL changes it in place with
json_build_object (shortest exact float text). Irreversible: values of other profiles have
no column to go back to.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from contract.compat import V1_PROFILE, V1_READING_NUMBERS, V1_VALUE_FIELDS

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# the legacy columns are the contract's version-1 names (contract/compat.py, frozen): the only
# machine class before profiles was the AI4I mill
_PROFILE = V1_PROFILE
_LEGACY_VALUES = V1_READING_NUMBERS
_LEGACY_KEYS = V1_VALUE_FIELDS
_COPY_CHUNK = 20_000
_KEPT = (
    "machine_id", "reading_id", "ts_ms", "scored_at", "status", "failure_probability", "predicted_mode",
    "model_version", "threshold", "failure", "failure_description", "explanation", "schema_version",
)  # fmt: skip
_MACHINE_INDEX = ("machine_id", "ts_ms", "reading_id", "status", "failure_probability")


def upgrade() -> None:
    _machines()
    _alerts()
    _rollup()
    if op.get_bind().dialect.name == "sqlite":
        _predictions_sqlite()
    else:
        _predictions_in_place()


def downgrade() -> None:
    raise NotImplementedError("revision 0002 is irreversible: restore a backup taken before the upgrade")


def _machines() -> None:
    op.add_column("machines", sa.Column("profile", sa.String(64)))
    op.execute(sa.text("UPDATE machines SET profile = :profile").bindparams(profile=_PROFILE))


def _alerts() -> None:
    op.add_column("alerts", sa.Column("profile", sa.String(64)))
    op.execute(sa.text("UPDATE alerts SET profile = :profile").bindparams(profile=_PROFILE))
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("failure_probability", existing_type=sa.Float, nullable=True)


def _rollup() -> None:
    op.create_table(
        "history_minute_values",
        sa.Column("machine_id", sa.String(64), nullable=False),
        sa.Column("minute_ms", sa.BigInteger, nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.Column("total", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("machine_id", "minute_ms", "field", name="pk_history_minute_values"),
        sqlite_with_rowid=False,
    )
    for name in _LEGACY_VALUES:
        op.execute(
            sa.text(
                "INSERT INTO history_minute_values (machine_id, minute_ms, field, n, total) "  # noqa: S608
                f"SELECT machine_id, minute_ms, :field, n, sum_{name} FROM history_minutes"
            ).bindparams(field=name)
        )
    with op.batch_alter_table("history_minutes") as batch:
        for name in _LEGACY_VALUES:
            batch.drop_column(f"sum_{name}")
        batch.alter_column("max_probability", existing_type=sa.Float, nullable=True)


def _new_predictions(name: str) -> sa.Table:
    return op.create_table(
        name,
        sa.Column("machine_id", sa.String(64), nullable=False),
        sa.Column("reading_id", sa.String(128), nullable=False),
        sa.Column("ts_ms", sa.BigInteger, nullable=False),
        sa.Column("scored_at", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_probability", sa.Float),
        sa.Column("predicted_mode", sa.String(64)),
        sa.Column("model_version", sa.String(64)),
        sa.Column("threshold", sa.Float),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("values_json", sa.Text, nullable=False),
        sa.Column("failure", sa.SmallInteger),
        sa.Column("failure_description", sa.String(256)),
        sa.Column("explanation", sa.Text),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("machine_id", "reading_id", name=f"pk_{name}"),
    )


def _create_indexes() -> None:
    op.create_index("ix_predictions_machine_ts", "predictions", list(_MACHINE_INDEX))
    op.create_index("ix_predictions_status_ts", "predictions", ["status", "ts_ms", "machine_id", "reading_id"])
    op.create_index("ix_predictions_ts", "predictions", ["ts_ms", "machine_id", "reading_id"])


def _predictions_sqlite() -> None:
    """Copy into a new table in rowid order, chunk by chunk, then swap the tables."""
    conn = op.get_bind()
    _new_predictions("predictions_0002")
    columns = ", ".join(_KEPT)
    select = (
        f"SELECT rowid, {columns}, {', '.join(_LEGACY_KEYS)} FROM predictions "  # noqa: S608
        "WHERE rowid > ? ORDER BY rowid LIMIT ?"
    )
    insert = (
        f"INSERT INTO predictions_0002 ({columns}, profile, values_json) "  # noqa: S608
        f"VALUES ({', '.join('?' * (len(_KEPT) + 2))})"
    )
    last = -(2**63)
    while True:
        rows = conn.exec_driver_sql(select, (last, _COPY_CHUNK)).all()
        if not rows:
            break
        conn.exec_driver_sql(insert, [_copied(row) for row in rows])
        last = rows[-1][0]
    op.drop_table("predictions")  # its indexes go with it
    op.rename_table("predictions_0002", "predictions")
    _create_indexes()


def _copied(row: Any) -> tuple[Any, ...]:
    kept = tuple(row[1 : 1 + len(_KEPT)])
    legacy = row[1 + len(_KEPT) :]
    values = {key: value for key, value in zip(_LEGACY_KEYS, legacy, strict=True) if value is not None}
    return (*kept, _PROFILE, json.dumps(values, separators=(",", ":")))


def _predictions_in_place() -> None:
    """PostgreSQL: add the new columns, fill them in one UPDATE, drop the old ones."""
    op.add_column("predictions", sa.Column("profile", sa.String(64)))
    op.add_column("predictions", sa.Column("values_json", sa.Text))
    pairs = ", ".join(f"'{key}', {key}" for key in _LEGACY_KEYS)
    values = f"json_strip_nulls(json_build_object({pairs}))::text"
    update = f"UPDATE predictions SET profile = :profile, values_json = {values}"  # noqa: S608
    op.execute(sa.text(update).bindparams(profile=_PROFILE))
    op.drop_index("ix_predictions_machine_ts", table_name="predictions")
    with op.batch_alter_table("predictions") as batch:
        batch.alter_column("profile", existing_type=sa.String(64), nullable=False)
        batch.alter_column("values_json", existing_type=sa.Text, nullable=False)
        for name in ("failure_probability", "threshold"):
            batch.alter_column(name, existing_type=sa.Float, nullable=True)
        batch.alter_column("model_version", existing_type=sa.String(64), nullable=True)
        for key in _LEGACY_KEYS:
            batch.drop_column(key)
    op.create_index("ix_predictions_machine_ts", "predictions", list(_MACHINE_INDEX))

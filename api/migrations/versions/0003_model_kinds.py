"""Model kinds: remaining useful life and anomaly scores beside failure probabilities.

Revision 0003 (parent 0002).

- ``predictions``: ``model_kind`` (``classifier`` for every existing row: the only kind so
  far), and nullable ``rul``, ``rul_low``, ``rul_high`` (the remaining life and its interval,
  in ``rul_unit``), ``rul_horizon``, ``anomaly_score`` and ``anomaly_threshold``. Plain
  columns, not JSON: the history charts them and nothing has to parse a row to read them.
- ``history_minutes``: per machine and minute, how many readings carried a RUL and the sums of
  ``rul``, ``rul_low`` and ``rul_high`` (their means chart a long window), and the highest
  anomaly score.
- ``alerts``: nullable ``rul``, ``rul_unit``, ``anomaly_score`` and ``anomaly_threshold``.

Columns are only added (nullable, or with a constant default), so neither engine rewrites a
table: SQLite's ADD COLUMN and PostgreSQL's (11+) are changes of the table's description.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_PREDICTION_NUMBERS = ("rul", "rul_low", "rul_high", "rul_horizon", "anomaly_score", "anomaly_threshold")
_ROLLUP_SUMS = ("rul_sum", "rul_low_sum", "rul_high_sum")


def upgrade() -> None:
    op.add_column("predictions", sa.Column("model_kind", sa.String(16), nullable=False, server_default="classifier"))
    for name in _PREDICTION_NUMBERS:
        op.add_column("predictions", sa.Column(name, sa.Float))
    op.add_column("predictions", sa.Column("rul_unit", sa.String(32)))

    op.add_column("history_minutes", sa.Column("rul_n", sa.BigInteger, nullable=False, server_default="0"))
    for name in _ROLLUP_SUMS:
        op.add_column("history_minutes", sa.Column(name, sa.Float, nullable=False, server_default="0"))
    op.add_column("history_minutes", sa.Column("max_anomaly_score", sa.Float))

    for name in ("rul", "anomaly_score", "anomaly_threshold"):
        op.add_column("alerts", sa.Column(name, sa.Float))
    op.add_column("alerts", sa.Column("rul_unit", sa.String(32)))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        for name in ("rul", "anomaly_score", "anomaly_threshold", "rul_unit"):
            batch.drop_column(name)
    with op.batch_alter_table("history_minutes") as batch:
        for name in ("rul_n", *_ROLLUP_SUMS, "max_anomaly_score"):
            batch.drop_column(name)
    with op.batch_alter_table("predictions") as batch:
        for name in ("model_kind", *_PREDICTION_NUMBERS, "rul_unit"):
            batch.drop_column(name)

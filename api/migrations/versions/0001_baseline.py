"""Baseline: the history database as main created it before migrations (commit 55ee1a1).

Revision 0001 (no parent). Tables are created only where missing, so a database made by
``create_schema`` of that time takes this revision as it is and is upgraded from here.
The legacy AI4I columns are frozen history: revision 0002 moves them into ``values_json``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from contract.compat import V1_READING_NUMBERS, V1_VALUE_FIELDS

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_CATEGORY, *_, _TEXT = V1_VALUE_FIELDS  # product quality (L/M/H) first, product id last
_MACHINE_INDEX = ("machine_id", "ts_ms", "reading_id", "status", "failure_probability")
_CATEGORY, *_, _TEXT = V1_VALUE_FIELDS  # product quality (L/M/H) first, product id last
_MACHINE_INDEX = ("machine_id", "ts_ms", "reading_id", "status", "failure_probability")
# the AI4I sensor columns of that schema: the contract's version-1 names (contract/compat.py, frozen)
_LEGACY_VALUES = V1_READING_NUMBERS


def _tables() -> sa.MetaData:
    metadata = sa.MetaData()
    sa.Table(
        "predictions",
        metadata,
        sa.Column("machine_id", sa.String(64), nullable=False),
        sa.Column("reading_id", sa.String(128), nullable=False),
        sa.Column("ts_ms", sa.BigInteger, nullable=False),
        sa.Column("scored_at", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_probability", sa.Float, nullable=False),
        sa.Column("predicted_mode", sa.String(64)),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column(_CATEGORY, sa.String(1), nullable=False),
        *(sa.Column(name, sa.Float, nullable=False) for name in _LEGACY_VALUES),
        sa.Column(_TEXT, sa.String(64)),
        sa.Column("failure", sa.SmallInteger),
        sa.Column("failure_description", sa.String(256)),
        sa.Column("explanation", sa.Text),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("machine_id", "reading_id", name="pk_predictions"),
        sa.Index("ix_predictions_machine_ts", *_MACHINE_INDEX, *_LEGACY_VALUES),
        sa.Index("ix_predictions_status_ts", "status", "ts_ms", "machine_id", "reading_id"),
        sa.Index("ix_predictions_ts", "ts_ms", "machine_id", "reading_id"),
    )
    sa.Table(
        "alerts",
        metadata,
        sa.Column("alert_id", sa.String(256), primary_key=True),
        sa.Column("machine_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("opened_at_ms", sa.BigInteger, nullable=False),
        sa.Column("reading_id", sa.String(128), nullable=False),
        sa.Column("failure_probability", sa.Float, nullable=False),
        sa.Column("predicted_mode", sa.String(64)),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("cleared_at_ms", sa.BigInteger),
        sa.Column("acked_by", sa.String(64)),
        sa.Column("acked_at_ms", sa.BigInteger),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Index("ix_alerts_state_opened", "state", "opened_at_ms"),
        sa.Index("ix_alerts_machine_opened", "machine_id", "opened_at_ms"),
    )
    sa.Table(
        "history_minutes",
        metadata,
        sa.Column("machine_id", sa.String(64), nullable=False),
        sa.Column("minute_ms", sa.BigInteger, nullable=False),
        sa.Column("n", sa.BigInteger, nullable=False),
        sa.Column("sum_ts_offset", sa.BigInteger, nullable=False),
        *(sa.Column(f"sum_{name}", sa.Float, nullable=False) for name in _LEGACY_VALUES),
        sa.Column("max_probability", sa.Float, nullable=False),
        sa.Column("max_rank", sa.SmallInteger, nullable=False),
        sa.PrimaryKeyConstraint("machine_id", "minute_ms", name="pk_history_minutes"),
    )
    sa.Table(
        "api_state",
        metadata,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    sa.Table(
        "machines",
        metadata,
        sa.Column("machine_id", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(8)),
        sa.Column("state_ts_ms", sa.BigInteger),
        sa.Column("readings", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("predictive", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("failure", sa.BigInteger, nullable=False, server_default="0"),
    )
    return metadata


def upgrade() -> None:
    _tables().create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    _tables().drop_all(op.get_bind(), checkfirst=True)

"""Feedback from the people who run the machines: verdicts, maintenance, snoozes, windows.

Revision 0004 (parent 0003: the RUL and anomaly columns).
New tables only, nothing existing changes:

- ``verdicts``: one row per verdict given (the latest of an alert wins; the rest is history).
- ``maintenance``: the maintenance log.
- ``snoozes`` (a machine or one alert, until a time) and ``maintenance_windows`` (a machine,
  from a time to a time): alert events then are stored but not notified.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verdicts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.String(256), nullable=False),
        sa.Column("machine_id", sa.String(64), nullable=False),
        sa.Column("profile", sa.String(64)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("verdict", sa.String(24), nullable=False),
        sa.Column("mode", sa.String(64)),
        sa.Column("note", sa.Text),
        sa.Column("by", sa.String(64)),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("model_version", sa.String(64)),
        sa.Column("alert_opened_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_verdicts_alert", "verdicts", ["alert_id", "id"])
    op.create_index("ix_verdicts_at", "verdicts", ["at_ms"])
    op.create_table(
        "maintenance",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("machine_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("by", sa.String(64)),
        sa.Column("recorded_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_maintenance_machine_at", "maintenance", ["machine_id", "at_ms"])
    op.create_table(
        "snoozes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("machine_id", sa.String(64)),
        sa.Column("alert_id", sa.String(256)),
        sa.Column("until_ms", sa.BigInteger, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("by", sa.String(64)),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_snoozes_until", "snoozes", ["until_ms"])
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("machine_id", sa.String(64), nullable=False),
        sa.Column("starts_ms", sa.BigInteger, nullable=False),
        sa.Column("ends_ms", sa.BigInteger, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("by", sa.String(64)),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_maintenance_windows_ends", "maintenance_windows", ["ends_ms"])


def downgrade() -> None:
    for table in ("maintenance_windows", "snoozes", "maintenance", "verdicts"):
        op.drop_table(table)

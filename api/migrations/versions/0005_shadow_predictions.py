"""Champion and challenger: the challenger's predictions, stored apart (issue 17).

Revision 0005 (parent 0004; the lead re-chains if 0003 lands between).

- ``shadow_predictions``: one row per (machine, reading, model version) a challenger model
  scored in shadow; never alerts. The reading's values stay in ``predictions``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shadow_predictions",
        sa.Column("machine_id", sa.String(64), nullable=False),
        sa.Column("reading_id", sa.String(128), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("ts_ms", sa.BigInteger, nullable=False),
        sa.Column("scored_at", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_probability", sa.Float),
        sa.Column("predicted_mode", sa.String(64)),
        sa.Column("threshold", sa.Float),
        sa.PrimaryKeyConstraint("machine_id", "reading_id", "model_version", name="pk_shadow_predictions"),
    )
    op.create_index("ix_shadow_predictions_model_ts", "shadow_predictions", ["profile", "model_version", "ts_ms"])
    op.create_index("ix_shadow_predictions_ts", "shadow_predictions", ["ts_ms"])


def downgrade() -> None:
    op.drop_table("shadow_predictions")  # its indexes go with it

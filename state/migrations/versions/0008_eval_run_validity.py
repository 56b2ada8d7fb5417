"""eval run validity: a run with too many failed calls is stored but is no measurement

`invalid_reason` is NULL for a valid run. Runs stored before this rule with an error rate above
the default `max_error_rate` (0.02) are marked invalid here, so that no gate, baseline or
monitor reads a provider outage recorded as scores of 0.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("eval_run", sa.Column("invalid_reason", sa.Text(), nullable=True))
    op.execute(
        "UPDATE eval_run SET invalid_reason = 'error rate above 0.02 "
        "(recorded before the validity rule)' WHERE error_rate > 0.02"
    )


def downgrade() -> None:
    with op.batch_alter_table("eval_run") as batch:
        batch.drop_column("invalid_reason")

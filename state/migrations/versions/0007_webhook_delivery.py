"""webhook deliveries: the `webhook-id` of every request taken, to refuse replays

Keyed by (use case, webhook-id): a second request with the same id for the same use case is a
replay, whichever process receives it and after any restart. Rows whose `webhook-timestamp`
has left the tolerance window are pruned by the webhook API (index on `sent_at`).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_delivery",
        sa.Column("use_case", sa.String(length=63), primary_key=True),
        sa.Column("webhook_id", sa.String(length=128), primary_key=True),
        sa.Column("sent_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_webhook_delivery_sent_at", "webhook_delivery", ["sent_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_delivery_sent_at", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")

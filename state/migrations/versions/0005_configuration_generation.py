"""configuration generation: the spec's sampling settings and answer extraction

Both are nullable JSON: a configuration stored before they existed has neither, and its
content hash leaves them out (state/store.py), so it keeps its identity.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("configuration", schema=None) as batch_op:
        batch_op.add_column(sa.Column("generation", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("answers", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("configuration", schema=None) as batch_op:
        batch_op.drop_column("answers")
        batch_op.drop_column("generation")

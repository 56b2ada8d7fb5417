"""chunk embeddings: one float32 vector per chunk and embedding model

The foreign key cascades, so a re-chunked or removed document drops its vectors with its chunks
(SQLite enforces it with `PRAGMA foreign_keys=ON`, which state/db.py sets on every connection).
The primary key leads with `chunk_id`, which also serves the cascade's lookups.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chunk_embedding",
        sa.Column(
            "chunk_id",
            sa.Integer(),
            sa.ForeignKey("chunk.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("model", sa.String(length=200), primary_key=True),
        sa.Column("dimensions", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("chunk_embedding")

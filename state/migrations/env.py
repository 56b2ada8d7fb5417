"""Alembic environment: runs on the connection handed over by `state.db.upgrade`."""

from alembic import context
from sqlmodel import SQLModel

import state.models  # noqa: F401  (registers the tables)
import state.rollout_models  # noqa: F401

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()

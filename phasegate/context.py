"""The store session the edges share, on the configured store."""

from contextlib import AbstractContextManager

from state import db
from state.settings import get_settings


def store_session() -> AbstractContextManager:
    """A unit of work on the configured (and migrated) state store."""
    return db.store_session(get_settings().store_url)

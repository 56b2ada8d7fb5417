"""Look up a use case's row id by name; the one place that words "unknown use case"."""

from sqlmodel import Session, select

from state.errors import NotFound
from state.models import UseCaseRecord


def unknown_use_case(name: str) -> NotFound:
    """The error for a use case that is not registered."""
    return NotFound(f"unknown use case: {name!r} (register it with `phasegate apply`)")


def use_case_id(session: Session, name: str) -> int:
    """The id of the use case called `name`; raises NotFound."""
    found = session.exec(select(UseCaseRecord.id).where(UseCaseRecord.name == name)).first()
    if found is None:
        raise unknown_use_case(name)
    return found

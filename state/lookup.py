"""Look up a use case by name; the one place that words "unknown use case"."""

from typing import TypeVar

from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from state.errors import NotFound
from state.models import UseCaseRecord

T = TypeVar("T")


def unknown_use_case(name: str) -> NotFound:
    """The error for a use case that is not registered."""
    return NotFound(f"unknown use case: {name!r} (register it with `phasegate apply`)")


def use_case_id(session: Session, name: str) -> int:
    """The id of the use case called `name`; raises NotFound."""
    return _named(session, select(UseCaseRecord.id), name)


def use_case_row(session: Session, name: str) -> UseCaseRecord:
    """The row of the use case called `name`; raises NotFound."""
    return _named(session, select(UseCaseRecord), name)


def _named(session: Session, query: SelectOfScalar[T], name: str) -> T:
    found = session.exec(query.where(UseCaseRecord.name == name)).first()
    if found is None:
        raise unknown_use_case(name)
    return found

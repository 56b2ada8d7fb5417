"""Store functions for use cases: register or update a spec, read one or all."""

from sqlmodel import Session, select

from state import lookup
from state.convert import to_use_case
from state.domain.use_cases import ApplyResult, UseCase
from state.models import UseCaseRecord, utcnow
from state.spec import LoadedSpec


def apply_spec(loaded: LoadedSpec, *, session: Session) -> ApplyResult:
    """Register a use case or update its spec; unchanged specs write nothing."""
    spec, spec_hash = loaded.spec, loaded.spec.spec_hash()
    row = session.exec(select(UseCaseRecord).where(UseCaseRecord.name == spec.name)).first()
    if row is None:
        session.add(
            UseCaseRecord(
                name=spec.name,
                description=spec.description,
                spec_json=spec.canonical_json(),
                spec_hash=spec_hash,
                spec_path=str(loaded.path),
            )
        )
        session.flush()
        return ApplyResult(name=spec.name, outcome="created", spec_hash=spec_hash)
    if row.spec_hash == spec_hash and row.spec_path == str(loaded.path):
        return ApplyResult(name=spec.name, outcome="unchanged", spec_hash=spec_hash)
    row.description, row.spec_json, row.spec_hash = (
        spec.description,
        spec.canonical_json(),
        spec_hash,
    )
    row.spec_path, row.updated_at, row.version = (
        str(loaded.path),
        utcnow(),
        row.version + 1,
    )
    session.add(row)
    session.flush()
    return ApplyResult(name=spec.name, outcome="updated", spec_hash=spec_hash)


def require_use_case(name: str, *, session: Session) -> UseCase:
    """The use case called `name`; raises NotFound."""
    return to_use_case(lookup.use_case_row(session, name))


def list_use_cases(*, session: Session) -> list[UseCase]:
    """Every registered use case, by name."""
    rows = session.exec(select(UseCaseRecord).order_by(UseCaseRecord.name)).all()
    return [to_use_case(row) for row in rows]

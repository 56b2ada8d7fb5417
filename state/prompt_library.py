"""The prompt library: immutable prompt versions per use case, identified by content hash."""

from sqlalchemy import func
from sqlmodel import Session, col, select

from state import lookup
from state.canonical import content_hash
from state.convert import aware
from state.domain.use_cases import PromptVersion
from state.errors import NotFound
from state.models import PromptVersionRecord, UseCaseRecord
from state.spec import PromptVariant


def _version(row: PromptVersionRecord, use_case: str) -> PromptVersion:
    return PromptVersion(
        id=row.id,
        use_case=use_case,
        name=row.name,
        version=row.version,
        variant=PromptVariant.model_validate(row.content),
        content_hash=row.content_hash,
        created_at=aware(row.created_at),
    )


def save_prompt_version(
    use_case: str, variant: PromptVariant, *, session: Session
) -> PromptVersion:
    """Store a variant as a new version, or return the version with the same content."""
    use_case_id = lookup.use_case_id(session, use_case)
    # A changed prompt is a new version.
    digest = content_hash(variant.model_dump(mode="json"))
    row = session.exec(
        select(PromptVersionRecord).where(
            PromptVersionRecord.use_case_id == use_case_id,
            PromptVersionRecord.content_hash == digest,
        )
    ).first()
    if row is None:
        latest = session.exec(
            select(func.max(PromptVersionRecord.version)).where(
                PromptVersionRecord.use_case_id == use_case_id,
                PromptVersionRecord.name == variant.name,
            )
        ).one()
        row = PromptVersionRecord(
            use_case_id=use_case_id,
            name=variant.name,
            version=(latest or 0) + 1,
            kind=variant.kind,
            content=variant.model_dump(mode="json"),
            content_hash=digest,
        )
        session.add(row)
        session.flush()
    return _version(row, use_case)


def get_prompt_version(version_id: int, *, session: Session) -> PromptVersion | None:
    """The prompt version with this id, or None."""
    row = session.get(PromptVersionRecord, version_id)
    if row is None:
        return None
    return _version(row, session.get(UseCaseRecord, row.use_case_id).name)


def list_prompt_versions(use_case: str, *, session: Session) -> list[PromptVersion]:
    """Every prompt version of a use case, by name then version."""
    rows = session.exec(
        select(PromptVersionRecord)
        .where(PromptVersionRecord.use_case_id == lookup.use_case_id(session, use_case))
        .order_by(col(PromptVersionRecord.name), col(PromptVersionRecord.version))
    ).all()
    return [_version(row, use_case) for row in rows]


def find_prompt_version(use_case: str, label: str, *, session: Session) -> PromptVersion:
    """A version by `name` (the latest) or `name@vN`; raises NotFound."""
    name, _, number = label.partition("@v")
    versions = [v for v in list_prompt_versions(use_case, session=session) if v.name == name]
    if number:
        versions = [v for v in versions if str(v.version) == number]
    if not versions:
        raise NotFound(f"{use_case}: no prompt version {label!r} (see `phasegate prompts list`)")
    return versions[-1]

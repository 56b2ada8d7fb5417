"""Store functions for configurations: saved once per content, read by id."""

from sqlmodel import Session, select

from state import lookup
from state.canonical import content_hash
from state.convert import to_configuration
from state.domain.use_cases import Configuration, ConfigurationDraft
from state.models import ConfigurationRecord


def _content_hash(draft: ConfigurationDraft) -> str:
    data = draft.model_dump(mode="json")
    # Fields added later count only when set, so stored configurations keep their hash.
    for name in ("generation", "answers"):
        if data[name] is None:
            del data[name]
    return content_hash(data)


def _stored(use_case_id: int, content_hash: str, session: Session) -> ConfigurationRecord | None:
    return session.exec(
        select(ConfigurationRecord).where(
            ConfigurationRecord.use_case_id == use_case_id,
            ConfigurationRecord.content_hash == content_hash,
        )
    ).first()


def save_configuration(
    use_case: str, draft: ConfigurationDraft, *, session: Session
) -> Configuration:
    """Store a configuration, or return the stored one with the same content."""
    use_case_id = lookup.use_case_id(session, use_case)
    content_hash = _content_hash(draft)
    row = _stored(use_case_id, content_hash, session)
    if row is None:
        row = ConfigurationRecord(
            use_case_id=use_case_id, content_hash=content_hash, **draft.model_dump()
        )
        session.add(row)
        session.flush()
    return to_configuration(row)


def find_configuration(
    use_case: str, draft: ConfigurationDraft, *, session: Session
) -> Configuration | None:
    """The stored configuration with the draft's content, or None."""
    row = _stored(lookup.use_case_id(session, use_case), _content_hash(draft), session)
    return to_configuration(row) if row else None


def get_configuration(configuration_id: int, *, session: Session) -> Configuration | None:
    """The configuration with this id, or None."""
    row = session.get(ConfigurationRecord, configuration_id)
    return to_configuration(row) if row else None

"""The rows of `phasegate status`, read in one SQL statement through the DB-API.

`phasegate status` must answer in well under a second of CPU, and importing SQLAlchemy alone
costs more: this reads with `sqlite3` (or `psycopg`) directly, from a store whose schema is at
the migrations' head. A store that does not exist yet, has an older schema or cannot be read
here answers None, and the caller takes the full path (which migrates, or says what is wrong).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from state.domain.status import StatusRow
from state.revisions import head_revision
from state.volume_window import window_start

if TYPE_CHECKING:  # only types: the fast path imports none of the store's models
    from state.domain import Approval, Configuration, Decision, UseCase

# {p} is the driver's placeholder. The last decision is the newest; the pending approval shown
# is the latest requested (as `status` showed when it read them through the store functions).
QUERY = """
SELECT u.name, u.active_phase, c.id, c.model, c.retrieval, c.routing,
    (SELECT d.kind FROM decision d WHERE d.use_case_id = u.id ORDER BY d.id DESC LIMIT 1),
    (SELECT COALESCE(SUM(n.count), 0) FROM usage n
        WHERE n.use_case_id = u.id AND n.day BETWEEN {p} AND {p}),
    (SELECT a.to_phase FROM approval a WHERE a.use_case_id = u.id AND a.status = 'pending'
        ORDER BY a.requested_at DESC, a.id DESC LIMIT 1),
    (SELECT r.model || ' on ' || CAST(r.shutdown_date AS TEXT) FROM model_retirement r
        WHERE r.configuration_id = u.active_configuration_id
        ORDER BY r.shutdown_date, r.id LIMIT 1)
FROM use_case u LEFT JOIN configuration c ON c.id = u.active_configuration_id
ORDER BY u.name
"""
VERSION = "SELECT version_num FROM alembic_version"


def status_row(
    use_case: UseCase,
    config: Configuration | None,
    decision: Decision | None,
    volume: int,
    pending: Approval | None,
    retiring: str | None = None,
) -> StatusRow:
    """The row of a use case read through the store functions (the full path)."""
    return StatusRow(
        name=use_case.name,
        phase=str(use_case.active_phase),
        configuration_id=config.id if config else None,
        model=config.model if config else None,
        retrieval=config.retrieval if config else None,
        routed=bool(config and config.routing),
        last_decision=str(decision.kind) if decision else None,
        volume_30d=volume,
        pending_to_phase=str(pending.to_phase) if pending else None,
        retiring=retiring,
    )


def _row(record: tuple, decode: Any) -> StatusRow:
    name, phase, config_id, model, retrieval, routing, kind, volume, pending, retiring = record
    return StatusRow(
        name=name,
        phase=phase,
        configuration_id=config_id,
        model=model,
        retrieval=decode(retrieval),
        routed=bool(decode(routing)),
        last_decision=kind,
        volume_30d=int(volume),
        pending_to_phase=pending,
        retiring=retiring,
    )


def _json_text(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def _sqlite(path: str, today: date) -> list[StatusRow] | None:
    """The rows of an existing SQLite store at head, in one read transaction."""
    if not path or path == ":memory:" or not Path(path).is_file():
        return None
    connection = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        connection.execute("BEGIN")
        if [row[0] for row in connection.execute(VERSION)] != [head_revision()]:
            return None
        window = (window_start(today).isoformat(), today.isoformat())
        records = connection.execute(QUERY.format(p="?"), window).fetchall()
        return [_row(record, _json_text) for record in records]
    except sqlite3.Error:  # no tables yet, not a database: the full path says what it is
        return None
    finally:
        connection.close()


def _postgresql(conninfo: str, today: date) -> list[StatusRow] | None:
    """The rows of a PostgreSQL store at head, in one read-only snapshot."""
    import psycopg

    try:
        with psycopg.connect(conninfo) as connection:
            connection.read_only = True
            connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            versions = connection.execute(VERSION).fetchall()
            if [row[0] for row in versions] != [head_revision()]:
                return None
            window = (window_start(today), today)
            records = connection.execute(QUERY.format(p="%s"), window).fetchall()
            return [_row(record, lambda value: value) for record in records]
    except psycopg.Error:  # unreachable, no tables yet: the full path says what it is
        return None


def read_status(url: str, *, today: date) -> list[StatusRow] | None:
    """The status rows of the store at `url`, or None when the full path must read them."""
    if url.startswith("sqlite:///") and not {"?", "%"} & set(url):
        return _sqlite(url.removeprefix("sqlite:///"), today)
    for scheme in ("postgresql://", "postgresql+psycopg://"):
        if url.startswith(scheme):
            return _postgresql("postgresql://" + url.removeprefix(scheme), today)
    return None

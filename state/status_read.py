"""The rows of `phasegate status`, read in one SQL statement through the DB-API.

`phasegate status` must answer in well under a second of CPU, and importing SQLAlchemy alone
costs more: this reads with `sqlite3` (or `psycopg`) directly, from a store whose schema is at
the migrations' head. A store that does not exist yet, has an older schema or cannot be read
here answers None, and the caller takes the full path (which migrates, or says what is wrong).
The full path (`Store.status_rows`) sends the same statement through its session's driver and
builds its rows here too: the table and `--json` have one reader.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from state.domain.status import StatusRow
from state.revisions import head_revision
from state.volume_window import window_start

# {p} is the driver's placeholder. The last decision is the newest; the pending approval shown
# is the latest requested; the retirement shown is the soonest noted for the active
# configuration. The one query of `status`: the table and --json, on every path.
QUERY = """
SELECT u.name, u.active_phase, c.id, c.model, c.retrieval, c.routing,
    (SELECT d.kind FROM decision d WHERE d.use_case_id = u.id ORDER BY d.id DESC LIMIT 1),
    (SELECT COALESCE(SUM(n.count), 0) FROM usage n
        WHERE n.use_case_id = u.id AND n.day BETWEEN {p} AND {p}),
    (SELECT a.to_phase FROM approval a WHERE a.use_case_id = u.id AND a.status = 'pending'
        ORDER BY a.requested_at DESC, a.id DESC LIMIT 1),
    (SELECT r.model || ' on ' || CAST(r.shutdown_date AS TEXT) FROM model_retirement r
        WHERE r.configuration_id = u.active_configuration_id
        ORDER BY r.shutdown_date, r.id LIMIT 1),
    (SELECT d.created_at FROM decision d WHERE d.use_case_id = u.id ORDER BY d.id DESC LIMIT 1),
    c.phase, c.prompt_version_id, c.model_version_id, c.generation, c.answers
FROM use_case u LEFT JOIN configuration c ON c.id = u.active_configuration_id
ORDER BY u.name
"""
VERSION = "SELECT version_num FROM alembic_version"


def _json(value: Any) -> Any:
    """A JSON column as stored: text on SQLite, already decoded by psycopg."""
    return json.loads(value) if isinstance(value, str) else value


def _when(value: Any) -> datetime | None:
    """A stored time, timezone-aware (SQLite keeps UTC as naive text)."""
    if value is None:
        return None
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def status_rows(records: Iterable[Sequence[Any]]) -> list[StatusRow]:
    """The rows of `QUERY`'s records, whichever driver read them."""
    return [_row(record) for record in records]


def window(today: date) -> tuple[date, date]:
    """The bounds of `QUERY`'s 30-day volume (its two parameters)."""
    return window_start(today), today


def _row(record: Sequence[Any]) -> StatusRow:
    name, phase, config_id, model, retrieval, routing, kind, volume, pending, retiring = record[:10]
    decided_at, config_phase, prompt_id, model_version_id, generation, answers = record[10:]
    retrieval, routing = _json(retrieval), _json(routing)
    configuration = None
    if config_id is not None:
        configuration = {
            "id": config_id,
            "phase": config_phase,
            "model": model,
            "prompt_version_id": prompt_id,
            "model_version_id": model_version_id,
            "retrieval": retrieval,
            "routing": routing,
            "generation": _json(generation),
            "answers": _json(answers),
        }
    return StatusRow(
        name=name,
        phase=phase,
        configuration_id=config_id,
        model=model,
        retrieval=retrieval,
        routed=bool(routing),
        last_decision=kind,
        volume_30d=int(volume),
        pending_to_phase=pending,
        retiring=retiring,
        last_decision_at=_when(decided_at),
        configuration=configuration,
    )


def _sqlite(path: str, today: date) -> list[StatusRow] | None:
    """The rows of an existing SQLite store at head, in one read transaction."""
    if not path or path == ":memory:" or not Path(path).is_file():
        return None
    connection = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        connection.execute("BEGIN")
        if [row[0] for row in connection.execute(VERSION)] != [head_revision()]:
            return None
        bounds = tuple(day.isoformat() for day in window(today))
        return status_rows(connection.execute(QUERY.format(p="?"), bounds).fetchall())
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
            return status_rows(connection.execute(QUERY.format(p="%s"), window(today)).fetchall())
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

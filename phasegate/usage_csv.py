"""Parse a usage CSV (`use_case,day,count[,source]`) with errors that name the line."""

import csv
from datetime import date
from pathlib import Path

from state.errors import InputError
from state.usage import UsageCount

REQUIRED = ("use_case", "day", "count")


def read_usage_csv(path: Path) -> list[UsageCount]:
    """All rows of a usage CSV; raises InputError naming file, line and column."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
        return [_row(path, reader.line_num, raw) for raw in reader]


def _row(path: Path, line: int, raw: dict[str, str]) -> UsageCount:
    try:
        day = date.fromisoformat((raw["day"] or "").strip())
    except ValueError as exc:
        raise InputError(f"{path}: line {line}: day: not an ISO date: {raw['day']!r}") from exc
    try:
        count = int((raw["count"] or "").strip())
    except ValueError as exc:
        raise InputError(f"{path}: line {line}: count: not an integer: {raw['count']!r}") from exc
    if count < 0:
        raise InputError(f"{path}: line {line}: count: must be ≥ 0")
    name = (raw["use_case"] or "").strip()
    if not name:
        raise InputError(f"{path}: line {line}: use_case: empty")
    return UsageCount(name, day, count, (raw.get("source") or "default").strip() or "default")

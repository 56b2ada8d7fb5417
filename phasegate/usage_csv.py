"""Parse a usage CSV (`use_case,day,count[,source]`) with errors that name the line.

Every row is held to the webhook's bounds (state/inputs.py); a UTF-8 byte-order mark is read
as such; an unknown column, a row of the wrong width or two rows for the same use case, day
and source are errors, so that the file is imported whole or not at all.
"""

import csv
import io
import re
from datetime import date
from pathlib import Path

from state.domain import UsageCount
from state.errors import InputError
from state.inputs import DEFAULT_SOURCE, parse_day, usage_report

REQUIRED = ("use_case", "day", "count")
COLUMNS = (*REQUIRED, "source")
INTEGER = re.compile(r"[+-]?\d+")
SHOWN = 40


def _text(path: Path) -> str:
    """The file's text without a byte-order mark; unreadable or non-UTF-8 bytes are named."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{path}: line {line}: not UTF-8 (byte 0x{data[exc.start]:02x})") from exc


def _header(path: Path, names: list[str] | None) -> list[str]:
    """The column names of line 1: known, each once, the required ones present."""
    header = [name.strip() for name in names or []]
    where = f"{path}: line 1:"
    if unknown := [name for name in header if name not in COLUMNS]:
        raise InputError(
            f"{where} unknown column(s) {', '.join(map(repr, unknown))} "
            f"(columns: {', '.join(COLUMNS)})"
        )
    if twice := sorted({name for name in header if header.count(name) > 1}):
        raise InputError(f"{where} column(s) given twice: {', '.join(twice)}")
    if missing := [name for name in REQUIRED if name not in header]:
        raise InputError(f"{where} missing column(s) {', '.join(missing)}")
    return header


def _shown(value: str) -> str:
    """A cell as quoted in an error: its repr, cut short."""
    return repr(value if len(value) <= SHOWN else value[:SHOWN] + "…")


def _row(where: str, values: dict[str, str]) -> UsageCount:
    """One row, parsed and held to the shared bounds; errors start with `where`."""
    day, count = values["day"].strip(), values["count"].strip()
    parsed_day = parse_day(day)
    if parsed_day is None:
        raise InputError(f"{where}day: not an ISO date (YYYY-MM-DD): {_shown(day)}")
    if not INTEGER.fullmatch(count):
        raise InputError(f"{where}count: not an integer: {_shown(count)}")
    source = values.get("source", "").strip() or DEFAULT_SOURCE
    report = usage_report(values["use_case"].strip(), parsed_day, int(count), source, where=where)
    return UsageCount(report.use_case, report.day, report.count, report.source)


def read_usage_csv(path: Path) -> dict[int, UsageCount]:
    """All rows of a usage CSV by line number; raises InputError naming file, line and column."""
    reader = csv.reader(io.StringIO(_text(path), newline=""))
    rows: dict[int, UsageCount] = {}
    first_line: dict[tuple[str, date, str], int] = {}
    try:
        header = _header(path, next(reader, None))
        for cells in reader:
            line = reader.line_num
            if not cells:
                continue
            if len(cells) != len(header):
                raise InputError(
                    f"{path}: line {line}: {len(cells)} field(s), the header has {len(header)}"
                )
            row = _row(f"{path}: line {line}: ", dict(zip(header, cells, strict=True)))
            key = (row.use_case, row.day, row.source)
            if key in first_line:
                first = first_line[key]
                raise InputError(
                    f"{path}: line {line}: same use_case, day and source as line {first}"
                )
            first_line[key] = line
            rows[line] = row
    except csv.Error as exc:
        raise InputError(f"{path}: line {reader.line_num}: {exc}") from exc
    return rows

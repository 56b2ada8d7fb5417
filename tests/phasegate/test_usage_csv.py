"""The usage CSV reader: the webhook's bounds, a BOM read as such, errors naming the line."""

from datetime import date
from pathlib import Path

import pytest

from phasegate.usage_csv import read_usage_csv
from state.domain import UsageCount
from state.errors import InputError

HEADER = "use_case,day,count,source\n"


def _csv(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "usage.csv"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def test_read_usage_csv_reads_rows_with_and_without_source(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER + "demo-qa,2026-11-24,7,app\ndemo-qa,2026-11-24,3,\n\n")
    assert list(read_usage_csv(path).values()) == [
        UsageCount("demo-qa", date(2026, 11, 24), 7, "app"),
        UsageCount("demo-qa", date(2026, 11, 24), 3, "default"),
    ]


def test_read_usage_csv_keys_rows_by_line(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER + "\ndemo-qa,2026-11-24,7,app\n")
    assert list(read_usage_csv(path)) == [3]


def test_read_usage_csv_reads_a_byte_order_mark(tmp_path: Path) -> None:
    path = _csv(tmp_path, b"\xef\xbb\xbfuse_case,day,count\r\ndemo-qa,2026-11-24,7\r\n")
    assert list(read_usage_csv(path).values()) == [UsageCount("demo-qa", date(2026, 11, 24), 7)]


def test_read_usage_csv_reads_columns_in_any_order(tmp_path: Path) -> None:
    path = _csv(tmp_path, "count, day ,use_case\n7,2026-11-24,demo-qa\n")
    assert list(read_usage_csv(path).values()) == [UsageCount("demo-qa", date(2026, 11, 24), 7)]


BAD = {
    "count over the column": ("demo-qa,2026-11-24,3000000000,app", "line 2: count: must be ≤"),
    "count of 10**20": (f"demo-qa,2026-11-24,{10**20},app", "line 2: count: must be ≤ 2147483647"),
    "negative count": ("demo-qa,2026-11-24,-1,app", "line 2: count: must be ≥ 0"),
    "count not an integer": ("demo-qa,2026-11-24,1e3,app", "line 2: count: not an integer: '1e3'"),
    "long source": ("demo-qa,2026-11-24,1," + "s" * 300, "line 2: source: must be at most 63"),
    "bad source": ("demo-qa,2026-11-24,1,Bad Source!", "line 2: source: must match"),
    "NUL in source": ("demo-qa,2026-11-24,1,a\x00b", "line 2: source: must match"),
    "bad use case": ("Demo QA,2026-11-24,1,app", "line 2: use_case: must match"),
    "empty use case": (",2026-11-24,1,app", "line 2: use_case: must not be empty"),
    "day 0001-01-01": ("demo-qa,0001-01-01,1,app", "line 2: day: must be from 2000-01-01 to"),
    "day 9999-12-31": ("demo-qa,9999-12-31,1,app", "line 2: day: must be from 2000-01-01 to"),
    "day not ISO": (
        "demo-qa,yesterday,1,app",
        "line 2: day: not an ISO date (YYYY-MM-DD): 'yesterday'",
    ),
    "day impossible": (
        "demo-qa,2026-02-30,1,app",
        "line 2: day: not an ISO date (YYYY-MM-DD): '2026-02-30'",
    ),
    "extra field": ("demo-qa,2026-11-24,1,app,more", "line 2: 5 field(s), the header has 4"),
    "missing field": ("demo-qa,2026-11-24,1", "line 2: 3 field(s), the header has 4"),
    "same key twice": (
        "demo-qa,2026-11-24,1,app\ndemo-qa,2026-11-24,2,app",
        "line 3: same use_case, day and source as line 2",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_read_usage_csv_refuses_a_bad_row_naming_file_and_line(tmp_path: Path, case: str) -> None:
    rows, message = BAD[case]
    path = _csv(tmp_path, HEADER + rows + "\n")
    with pytest.raises(InputError) as caught:
        read_usage_csv(path)
    assert str(caught.value).startswith(f"{path}: {message}")


BAD_HEADERS = {
    "extra column": ("use_case,day,count,region", "line 1: unknown column(s) 'region'"),
    "column twice": ("use_case,day,count,day", "line 1: column(s) given twice: day"),
    "missing column": ("use_case,count", "line 1: missing column(s) day"),
    "empty file": ("", "line 1: missing column(s) use_case, day, count"),
}


@pytest.mark.parametrize("case", sorted(BAD_HEADERS))
def test_read_usage_csv_refuses_a_bad_header(tmp_path: Path, case: str) -> None:
    header, message = BAD_HEADERS[case]
    path = _csv(tmp_path, header + "\n" if header else "")
    with pytest.raises(InputError) as caught:
        read_usage_csv(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_read_usage_csv_names_the_line_of_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER.encode() + b"demo-qa,2026-11-24,1,app\ncaf\xe9,2026-11-24,1,a\n")
    with pytest.raises(InputError, match=r"usage.csv: line 3: not UTF-8 \(byte 0xe9\)"):
        read_usage_csv(path)


def test_read_usage_csv_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.csv: cannot read"):
        read_usage_csv(tmp_path / "nope.csv")

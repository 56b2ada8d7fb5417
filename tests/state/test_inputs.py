"""The bounds every door applies to usage: names, sources, counts, days."""

import re
from datetime import date, timedelta

import pytest

from state.errors import InputError
from state.inputs import FIRST_DAY, MAX_COUNT, UsageReport, last_day, usage_report

DAY = date(2026, 11, 24)


def test_usage_report_accepts_the_edges_of_every_bound() -> None:
    low = usage_report("a", FIRST_DAY, 0, "a", where="")
    high = usage_report("a" * 63, last_day(), MAX_COUNT, "b-" * 31 + "c", where="")
    assert (low.day, low.count, high.day, high.count) == (FIRST_DAY, 0, last_day(), MAX_COUNT)


BAD = {
    "count over a 32-bit column": ({"count": 3_000_000_000}, "count: must be ≤ 2147483647"),
    "count of 10**20": ({"count": 10**20}, "count: must be ≤ 2147483647"),
    "negative count": ({"count": -1}, "count: must be ≥ 0"),
    "boolean count": ({"count": True}, "count: Input should be a valid integer"),
    "300-character source": ({"source": "s" * 300}, "source: must be at most 63 characters"),
    "source with space and !": ({"source": "Bad Source!"}, "source: must match"),
    "empty source": ({"source": ""}, "source: must not be empty"),
    "NUL in source": ({"source": "app\x00"}, "source: must match"),
    "trailing newline in name": ({"use_case": "qa\n"}, "use_case: must match"),
    "NUL in use case": ({"use_case": "q\x00a"}, "use_case: must match"),
    "day 0001-01-01": ({"day": date(1, 1, 1)}, "day: must be from 2000-01-01 to"),
    "day 9999-12-31": ({"day": date(9999, 12, 31)}, "day: must be from 2000-01-01 to"),
    "day before 2000": ({"day": FIRST_DAY - timedelta(days=1)}, "day: must be from"),
    # Computed as the test runs, not at collection: a run can cross midnight UTC.
    "day after tomorrow": (lambda: {"day": last_day() + timedelta(days=1)}, "day: must be from"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_usage_report_refuses_out_of_bounds_naming_the_field(case: str) -> None:
    changes, message = BAD[case]
    changes = changes() if callable(changes) else changes
    fields = {"use_case": "support-qa", "day": DAY, "count": 1, "source": "app"} | changes
    with pytest.raises(InputError, match="^line 3: " + re.escape(message)):
        usage_report(**fields, where="line 3: ")


def test_usage_report_error_does_not_echo_the_value() -> None:
    with pytest.raises(InputError) as caught:
        usage_report("support-qa", DAY, 1, "sekret value!", where="")
    assert "sekret" not in str(caught.value)


def test_usage_report_model_is_strict() -> None:
    with pytest.raises(ValueError, match="count"):
        UsageReport.model_validate(
            {"use_case": "a", "day": DAY, "count": "12", "source": "default"}
        )

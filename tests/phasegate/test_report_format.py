"""The report's numbers: three significant digits with their unit, never `None`."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from phasegate import report_format as fmt


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.031432182840633545, "0.0314"),
        (0.62, "0.620"),
        (62.44, "62.4"),
        (180.0, "180"),
        (1234.6, "1,235"),
        (0, "0"),
        (-0.5861, "-0.586"),
        (None, "—"),
        (float("nan"), "—"),
    ],
)
def test_sig3_keeps_three_significant_digits_without_exponent(
    value: float | None, shown: str
) -> None:
    assert fmt.sig3(value) == shown


def test_units_are_written_after_the_number() -> None:
    assert fmt.percent(0.0314) == "3.14 %"
    assert fmt.milliseconds(745.2) == "745 ms"
    assert fmt.milliseconds(1970.0) == "1.97 s"
    assert fmt.dollars(0.0008) == "$0.000800"
    assert fmt.dollars(-4.1) == "-$4.10"
    assert fmt.months(0.4339) == "0.434 months"
    assert fmt.count(7765.0) == "7,765"


def test_a_move_that_saves_nothing_never_breaks_even() -> None:
    assert fmt.months(None) == "never"


def test_when_writes_utc_whatever_the_zone() -> None:
    moment = datetime(2026, 12, 2, 15, 5, tzinfo=timezone(timedelta(hours=1)))
    assert fmt.when(moment) == "2026-12-02 14:05 UTC"
    assert fmt.when(datetime(2026, 12, 2, 14, 5)) == "2026-12-02 14:05 UTC"
    assert fmt.when(datetime(2026, 12, 2, 14, 5, tzinfo=UTC)) == "2026-12-02 14:05 UTC"
    assert fmt.when(None) == "—"


@pytest.mark.parametrize(
    ("check", "value", "shown"),
    [
        ("latency", 2000.0, "2.00 s"),
        ("cost_break_even", 1.8359, "1.84 months"),
        ("need_volume", 5000, "5,000"),
        ("quality_gain", 0.39512, "0.395"),
        ("privacy", "self-hosted", "self-hosted"),
        ("quality_gain", None, "—"),
        ("approval", True, "True"),
    ],
)
def test_gate_value_uses_the_unit_of_its_check(check: str, value: object, shown: str) -> None:
    assert fmt.gate_value(check, value) == shown

"""Numbers for people: three significant digits with their unit, and dates in UTC.

Every function takes a value that may be missing and returns text; a missing value reads "—",
never `None`. They are the report template's filters.
"""

import math
from datetime import UTC, datetime

MISSING = "—"


def sig3(value: float | int | None) -> str:
    """`0.0314`, `62.4`, `1,234`: three significant digits, no exponent, thousands separated."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if value == 0:
        return "0"
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{round(value, decimals):,.{decimals}f}"


def score(value: float | None) -> str:
    """A metric value (0–1) with three significant digits."""
    return sig3(value)


def percent(value: float | None) -> str:
    """A share (0–1) as a percentage: `3.14 %`."""
    return MISSING if value is None else f"{sig3(value * 100)} %"


def milliseconds(value: float | None) -> str:
    """A duration in ms: `180 ms`, or `1.23 s` from one second up."""
    if value is None:
        return MISSING
    return f"{sig3(value / 1000)} s" if value >= 1000 else f"{sig3(value)} ms"


def dollars(value: float | None) -> str:
    """An amount in US dollars: `$0.000800`, `$12.3`, `-$4.10`."""
    if value is None:
        return MISSING
    return f"-${sig3(-value)}" if value < 0 else f"${sig3(value)}"


def months(value: float | None) -> str:
    """A break-even time: `2.41 months`; missing means the move never pays back."""
    return "never" if value is None else f"{sig3(value)} months"


def count(value: int | float | None) -> str:
    """A count with thousands separated: `9,000`."""
    return MISSING if value is None else f"{round(value):,}"


def when(value: datetime | None) -> str:
    """A moment as `2026-12-02 14:05 UTC`."""
    if value is None:
        return MISSING
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return f"{aware.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def gate_value(check: str, value: object) -> str:
    """A gate's observed value or threshold in the unit its check declares; text as it is."""
    # Imported on use: `status` imports this module and must not load the gates' packages.
    from tasks.gates import unit_of

    if value is None:
        return MISSING
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return FILTERS[unit_of(check)](value)


FILTERS = {
    "sig3": sig3,
    "score": score,
    "percent": percent,
    "ms": milliseconds,
    "dollars": dollars,
    "months": months,
    "count": count,
    "when": when,
}

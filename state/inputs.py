"""The bounds every door applies to usage input: the webhook, `usage record`, `usage import`.

- a use case name or a source is a slug: `[a-z0-9][a-z0-9-]*`, 1 to 63 characters (so no NUL,
  no space, no upper case);
- a count is an integer from 0 to 2**31 - 1: `usage.count` is a 32-bit INTEGER column on
  PostgreSQL, and 2.1 billion queries a day from one source is past any real use case;
- a day lies from 2000-01-01 to tomorrow in UTC (a reporter east of UTC may already be a day
  ahead); 0001-01-01 or 9999-12-31 is a typo or a placeholder, never a count.

Like `errors`, this module is a leaf: it imports nothing of the project but the error tree.
"""

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from state.errors import InputError

SLUG = r"^[a-z0-9][a-z0-9-]{0,62}$"
MAX_SLUG_LENGTH = 63
MAX_COUNT = 2**31 - 1
FIRST_DAY = date(2000, 1, 1)
DEFAULT_SOURCE = "default"
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def last_day() -> date:
    """The latest day a count may be reported for: tomorrow in UTC."""
    return datetime.now(UTC).date() + timedelta(days=1)


def _within_window(day: date) -> date:
    """Refuse a day outside FIRST_DAY..last_day()."""
    last = last_day()
    if not FIRST_DAY <= day <= last:
        raise PydanticCustomError(
            "day_out_of_range",
            "must be from {first} to {last}",
            {"first": FIRST_DAY.isoformat(), "last": last.isoformat()},
        )
    return day


def parse_day(text: str) -> date | None:
    """The day written `YYYY-MM-DD`, or None (`date.fromisoformat` alone takes `20261124` too)."""
    if not ISO_DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


Slug = Annotated[str, Field(min_length=1, max_length=MAX_SLUG_LENGTH, pattern=SLUG)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Day = Annotated[date, AfterValidator(_within_window)]

MESSAGES = {
    "greater_than_equal": "must be ≥ {ge}",
    "less_than_equal": "must be ≤ {le}",
    "missing": "field required",
    "extra_forbidden": "unknown field",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
    "string_pattern_mismatch": "must match {pattern}",
    "model_type": "must be a JSON object",
    "json_invalid": "not valid JSON ({error})",
}


class UsageReport(BaseModel):
    """The queries one source served for one use case on one day, within the bounds above."""

    # Strict: the CLI hands over typed values; "12" is not a count here.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    use_case: Slug
    day: Day
    count: Count
    source: Slug = DEFAULT_SOURCE


def describe(
    error: ValidationError, labels: Mapping[str, str] | None = None, *, whole: str = "(value)"
) -> str:
    """The errors of a validation, each as `field.path: problem`, joined by `; `; inputs not echoed.

    `labels` renames top-level fields (`{"day": "--day"}` for a command-line option); `whole`
    names the value itself in an error of no field (`(body)` for a request body).
    """
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        if item["type"] == "value_error":
            # Our own validators already name the field path in the message.
            parts.append(str(item["ctx"]["error"]))
            continue
        loc = [str(part) for part in item["loc"]]
        if loc and labels:
            loc[0] = labels.get(loc[0], loc[0])
        template = MESSAGES.get(item["type"])
        message = template.format(**item.get("ctx", {})) if template else item["msg"]
        parts.append(f"{'.'.join(loc) or whole}: {message}")
    return "; ".join(parts)


def usage_report(
    use_case: str,
    day: date,
    count: int,
    source: str,
    *,
    where: str = "",
    labels: Mapping[str, str] | None = None,
) -> UsageReport:
    """A validated usage report; raises InputError `where` + `field: problem` otherwise."""
    try:
        return UsageReport(use_case=use_case, day=day, count=count, source=source)
    except ValidationError as exc:
        raise InputError(f"{where}{describe(exc, labels)}") from exc

"""The webhook holds usage to the same bounds as the CLI (state/inputs.py)."""

import json

import pytest

from phasegate.webhook_models import ApiError, UsageRequest, parse_body
from state.inputs import FIRST_DAY, MAX_COUNT, last_day

TARGET = "POST /v1/usecases/demo-qa/usage"

BAD = {
    "day 0001-01-01": ({"day": "0001-01-01"}, "counts.0.day: must be from 2000-01-01 to"),
    "day 9999-12-31": ({"day": "9999-12-31"}, "counts.0.day: must be from 2000-01-01 to"),
    "count 3000000000": ({"count": 3_000_000_000}, f"counts.0.count: must be ≤ {MAX_COUNT}"),
    "300-character source": ({"source": "s" * 300}, "counts.0.source: must be at most 63"),
    "NUL in source": ({"source": "a\u0000"}, "counts.0.source: must match"),
}


def _body(**changes: object) -> bytes:
    item = {"day": "2026-11-24", "count": 1} | changes
    return json.dumps({"target": TARGET, "counts": [item]}).encode()


@pytest.mark.parametrize("case", sorted(BAD))
def test_webhook_usage_refuses_what_the_cli_refuses(case: str) -> None:
    changes, message = BAD[case]
    with pytest.raises(ApiError) as caught:
        parse_body(UsageRequest, "application/json", _body(**changes), target=TARGET)
    assert (caught.value.status, caught.value.code) == (422, "invalid_body")
    assert caught.value.message.startswith(message)


def test_webhook_usage_accepts_the_edges_of_the_day_window() -> None:
    for day in (FIRST_DAY, last_day()):
        body = _body(day=day.isoformat())
        parsed = parse_body(UsageRequest, "application/json", body, target=TARGET)
        assert parsed.counts[0].day == day

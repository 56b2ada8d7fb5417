"""A check's progress: bars on a terminal, one line per stage and batch in a pipe."""

import io

import pytest
from rich.console import Console

from phasegate.cli import progress_view
from phasegate.cli.progress_view import follow
from tasks import progress


def _run_a_batch() -> None:
    """What a check reports: a stage, then a batch of four calls, one of them failed."""
    progress.stage("support-qa: measuring the active configuration, few-shot")
    with progress.batch("few-shot", 4):
        for failed in (False, True, False, False):
            progress.tick(error=failed)


def test_progress_in_a_pipe_is_one_line_per_stage_and_batch() -> None:
    out = io.StringIO()
    with follow(Console(file=out, width=80)):
        _run_a_batch()
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0].endswith(" support-qa: measuring the active configuration, few-shot")
    assert lines[1].endswith("  few-shot: 4 calls")
    assert "  few-shot: 4/4 calls, " in lines[2] and lines[2].endswith(", 1 error, 0 s")


def test_progress_in_a_pipe_adds_a_heartbeat_in_a_long_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress_view, "HEARTBEAT_SECONDS", 0.0)
    out = io.StringIO()
    with follow(Console(file=out, width=80)):
        _run_a_batch()
    beats = [line for line in out.getvalue().splitlines() if "/4 calls" in line]
    assert [beat.split("few-shot: ")[1][:3] for beat in beats] == [
        "1/4",
        "2/4",
        "3/4",
        "4/4",
        "4/4",
    ]


def test_progress_on_a_terminal_draws_a_bar_per_batch_with_errors() -> None:
    out = io.StringIO()
    with follow(Console(file=out, width=120, force_terminal=True)):
        _run_a_batch()
    shown = out.getvalue()
    assert "· support-qa: measuring the active configuration, few-shot" in shown
    assert "few-shot" in shown and "4/4" in shown and "1 error " in shown


def test_progress_ignores_ticks_outside_a_batch() -> None:
    out = io.StringIO()
    with follow(Console(file=out, width=80)):
        progress.tick(label="no such batch")
    assert out.getvalue() == ""

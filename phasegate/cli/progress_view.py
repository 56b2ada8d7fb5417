"""A running check's progress for the person who started it: live on a terminal, lines in a pipe.

On stderr, so that stdout keeps the result alone (one JSON document with --json). On a
terminal, rich draws one bar per batch of calls (done of total, rate, errors so far) under the
stage lines; piped into a file or a CI log, each stage is one line, each batch says when it
starts and ends, and a long batch adds a line every `HEARTBEAT_SECONDS` — never minutes of
silence.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from tasks.progress import Batch, watching

HEARTBEAT_SECONDS = 30.0


def _errors(batch: Batch) -> str:
    """`0 errors`, `1 error`."""
    return f"{batch.errors} error{'s' if batch.errors != 1 else ''}"


def _counts(batch: Batch) -> str:
    """`12/36 calls, 0.4/s, 0 errors`."""
    return f"{batch.done}/{batch.total} calls, {batch.rate:.1f}/s, {_errors(batch)}"


class LiveProgress:
    """Bars on a terminal: one per batch, under the stage lines."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("  {task.description}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[errors]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self.tasks: dict[int, TaskID] = {}

    def stage(self, text: str) -> None:
        """Print the stage above the bars."""
        self.progress.console.print(f"· {text}", markup=False, highlight=False)

    def started(self, batch: Batch) -> None:
        """Add a bar for the batch."""
        self.tasks[id(batch)] = self.progress.add_task(
            batch.label, total=batch.total, rate="", errors=""
        )

    def ticked(self, batch: Batch) -> None:
        """Move the batch's bar, its rate and its error count."""
        errors = _errors(batch) if batch.errors else ""
        self.progress.update(
            self.tasks[id(batch)], completed=batch.done, rate=f"{batch.rate:.1f}/s", errors=errors
        )

    def finished(self, batch: Batch) -> None:
        """Freeze the batch's bar with its final counts."""
        task = self.tasks.pop(id(batch))
        self.progress.update(task, completed=batch.done, rate=f"{batch.rate:.1f}/s")
        self.progress.stop_task(task)


class LineProgress:
    """Plain lines for a pipe: stages, batch start and end, a heartbeat in long batches."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.last: dict[int, float] = {}

    def _line(self, text: str) -> None:
        """One timestamped line."""
        moment = datetime.now(UTC).strftime("%H:%M:%S")
        self.console.print(f"{moment} {text}", markup=False, highlight=False, soft_wrap=True)

    def stage(self, text: str) -> None:
        """A line per stage."""
        self._line(text)

    def started(self, batch: Batch) -> None:
        """Say what the batch is and how big."""
        self.last[id(batch)] = time.monotonic()
        self._line(f"  {batch.label}: {batch.total} calls")

    def ticked(self, batch: Batch) -> None:
        """A heartbeat line when the last line of the batch is old."""
        now = time.monotonic()
        if now - self.last.get(id(batch), now) >= HEARTBEAT_SECONDS:
            self.last[id(batch)] = now
            self._line(f"  {batch.label}: {_counts(batch)}")

    def finished(self, batch: Batch) -> None:
        """The batch's final counts and duration."""
        self.last.pop(id(batch), None)
        took = time.monotonic() - batch.started
        self._line(f"  {batch.label}: {_counts(batch)}, {took:.0f} s")


@contextmanager
def follow(console: Console | None = None) -> Iterator[None]:
    """Show the progress of everything run inside on stderr (live on a terminal)."""
    shown = console or Console(stderr=True)
    if shown.is_terminal:
        live = LiveProgress(shown)
        with live.progress, watching(live):
            yield
    else:
        with watching(LineProgress(shown)):
            yield

"""What a running check is doing, for whoever watches: stages and call counts, to a sink.

Flows report their stages (`stage`) and batches of provider calls (`batch`); the provider
client ticks the current batch as each call ends (`tick`). Nothing is shown unless an edge
installs a sink with `watching` — the CLI draws a live table on a terminal and one line per
stage into a pipe; a worker or a deployment run installs none, and its runs log as before.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Batch:
    """One batch of calls under way: what it is, how far, how fast, how many failed."""

    label: str
    total: int
    done: int = 0
    errors: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        """Calls finished per second so far."""
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0


class Sink(Protocol):
    """Where progress goes."""

    def stage(self, text: str) -> None:
        """A new step of the check begins."""

    def started(self, batch: Batch) -> None:
        """A batch of calls begins."""

    def ticked(self, batch: Batch) -> None:
        """A call of the batch ended."""

    def finished(self, batch: Batch) -> None:
        """The batch ended."""


_sinks: list[Sink] = []
_current: list[Batch] = []
_lock = threading.Lock()


@contextmanager
def watching(sink: Sink) -> Iterator[Sink]:
    """Send the progress of everything run inside to `sink`."""
    _sinks.append(sink)
    try:
        yield sink
    finally:
        _sinks.remove(sink)


def stage(text: str) -> None:
    """Say which step of the check begins."""
    for sink in list(_sinks):
        sink.stage(text)


@contextmanager
def batch(label: str, total: int) -> Iterator[Batch]:
    """Follow a batch of `total` calls named `label` (a configuration, a probe)."""
    current = Batch(label, total)
    with _lock:
        _current.append(current)
    for sink in list(_sinks):
        sink.started(current)
    try:
        yield current
    finally:
        with _lock:
            _current.remove(current)
        for sink in list(_sinks):
            sink.finished(current)


def tick(*, error: bool = False, label: str | None = None) -> None:
    """Count one finished call in the newest batch (or the one named `label`)."""
    with _lock:
        found = [b for b in _current if label is None or b.label == label]
        if not found:
            return
        current = found[-1]
        current.done += 1
        current.errors += error
    for sink in list(_sinks):
        sink.ticked(current)

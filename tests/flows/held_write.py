"""Run a `phasegate` command that stops inside a write, before its commit, until it is killed.

`python -m tests.flows.held_write MARKER 'INSERT INTO activation' ARGS…`: when the command is
about to execute the first statement that starts with the given words, it writes to the file
MARKER every write (INSERT, UPDATE, DELETE) it has executed so far, one a line, then waits
for ever — for the test to kill it there with SIGKILL, its transaction not committed.
"""

import sys
import threading
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine

WRITES = ("INSERT", "UPDATE", "DELETE")


def hold_before(marker: Path, words: str) -> None:
    """Make this process stop before its first statement that starts with `words`."""
    written: list[str] = []

    @event.listens_for(Engine, "before_cursor_execute")
    def _hold(_connection, _cursor, statement: str, *_rest) -> None:
        first_line = " ".join(statement.split())
        if first_line.upper().startswith(words.upper()):
            # Written whole, then renamed: the test polls for the marker and reads it at once.
            partial = marker.with_suffix(".partial")
            partial.write_text("".join(f"{line}\n" for line in written))
            partial.replace(marker)
            threading.Event().wait()  # never set: the test kills this process here
        if first_line.upper().startswith(WRITES):
            written.append(first_line)


def main() -> None:
    """Run the command given after MARKER and the words, held before them."""
    marker, words, *command = sys.argv[1:]
    hold_before(Path(marker), words)
    from phasegate.cli import main as phasegate

    sys.argv = ["phasegate", *command]
    phasegate()


if __name__ == "__main__":
    main()

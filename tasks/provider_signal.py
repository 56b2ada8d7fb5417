"""A pause between two polls of a provider object, cut short when a webhook says it ended.

`ended(object_id)` is a cheap read (the flag the webhook API keeps in the store); it is asked
every `every` seconds of the pause. A failing read says no: the signal only shortens a wait,
polling alone still ends it.
"""

import asyncio
import time
from collections.abc import Callable

Ended = Callable[[str], bool]


async def signalled(ended: Ended, object_id: str) -> bool:
    """Whether `ended` says the object ended; a failing read (the store away) says no."""
    try:
        return await asyncio.to_thread(ended, object_id)
    except Exception:  # noqa: BLE001 - the signal only shortens the wait; polling goes on
        return False


async def nap(seconds: float, ended: Ended | None, object_id: str, every: float = 0.5) -> bool:
    """Sleep `seconds`, asking `ended(object_id)` every `every` s; True when it said so."""
    wake = time.monotonic() + seconds
    while (left := wake - time.monotonic()) > 0:
        await asyncio.sleep(min(every if ended else left, left))
        if ended and await signalled(ended, object_id):
            return True
    return False

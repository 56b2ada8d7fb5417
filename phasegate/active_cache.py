"""The bodies of `GET .../active`, kept per use case and checked against the store at most so often.

A use case's snapshot holds its arms' bodies and ETags and the token they were read under
(`served_token`: the use case's version and its live rollout's id and version; every write that
changes what is served — a decision, a spec update, a rollout move — changes it). A read within
`max_age` seconds of the snapshot's last check is answered from memory: one sha256 of the
routing key picks the arm, nothing else is computed and the store is not touched. An older
snapshot is checked first (`refresh`: one indexed query; the bodies are rebuilt only when the
token moved). A change is therefore served by every webhook process to every read that starts
more than `max_age` after it was committed; `max_age` 0 checks on every read.
"""

import hashlib
import time
from collections.abc import Callable
from typing import NamedTuple

from phasegate.webhook_models import active_configuration
from state.canonical import canonical_json
from state.domain import ActiveParts, ServedArms
from state.errors import NotFound
from state.store_api import Store


class Body(NamedTuple):
    """One arm's answer: the JSON bytes and their ETag."""

    content: bytes
    etag: str


def body_of(parts: ActiveParts) -> Body:
    """The `GET .../active` body of one arm and its ETag (the quoted sha256 of the bytes)."""
    content = canonical_json(active_configuration(parts).model_dump(mode="json")).encode()
    return Body(content, f'"{hashlib.sha256(content).hexdigest()}"')


class Snapshot(NamedTuple):
    """A use case's arms and their bodies, and when the store last confirmed them (monotonic)."""

    served: ServedArms
    bodies: list[Body]
    checked_at: float

    def body(self, key: str | None) -> Body:
        """The body a routing key is served (a random arm's without a key)."""
        return self.bodies[self.served.pick(key)]


class ActiveCache:
    """What each use case serves, with its bodies, confirmed at most `max_age` seconds ago."""

    def __init__(
        self, store: Store, *, max_age: float = 0.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.store = store
        self.max_age = max_age
        self.clock = clock
        self._snapshots: dict[str, Snapshot] = {}

    def fresh(self, use_case: str) -> Snapshot | None:
        """The use case's snapshot if it was confirmed within `max_age`, else None (no I/O)."""
        snapshot = self._snapshots.get(use_case)
        if snapshot is None or self.clock() - snapshot.checked_at > self.max_age:
            return None
        return snapshot

    def refresh(self, use_case: str) -> Snapshot:
        """Confirm the snapshot with one query, rebuilding it if the token moved.

        Raises NotFound for an unknown use case (and forgets what it kept of it).
        """
        if (snapshot := self.fresh(use_case)) is not None:
            return snapshot  # another reader confirmed it while this one queued
        checked_at = self.clock()  # before the query: a write committed earlier is seen
        kept = self._snapshots.get(use_case)
        try:
            token = self.store.served_token(use_case)
        except NotFound:
            self._snapshots.pop(use_case, None)
            raise
        if kept is not None and kept.served.token == token:
            snapshot = kept._replace(checked_at=checked_at)
        else:
            served = self.store.served_arms(use_case)
            snapshot = Snapshot(served, [body_of(p) for p in served.arms], checked_at)
        # One assignment: a concurrent reader sees the old snapshot or the new, never a mix.
        self._snapshots[use_case] = snapshot
        return snapshot

    def read(self, use_case: str, key: str | None) -> Body:
        """The body a routing key is served now; raises NotFound for an unknown use case."""
        snapshot = self.fresh(use_case) or self.refresh(use_case)
        return snapshot.body(key)

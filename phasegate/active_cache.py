"""The bodies of `GET .../active`, kept per use case while nothing they depend on changes.

A read costs one indexed query (`served_token`: the use case's version and its live rollout's
id and version) and, per routing key, one sha256 to pick the arm; the arms' bodies and ETags
are rebuilt only when that token changes. Every write that changes what is served (a decision,
a spec update, a rollout move) changes the token, so a read right after it sees it: nothing is
served stale, in this process or in another webhook process.
"""

import hashlib
from typing import NamedTuple

from phasegate.webhook_models import active_configuration
from state.canonical import canonical_json
from state.domain import ActiveParts, ServedArms
from state.store_api import Store


class Body(NamedTuple):
    """One arm's answer: the JSON bytes and their ETag."""

    content: bytes
    etag: str


def body_of(parts: ActiveParts) -> Body:
    """The `GET .../active` body of one arm and its ETag (the quoted sha256 of the bytes)."""
    content = canonical_json(active_configuration(parts).model_dump(mode="json")).encode()
    return Body(content, f'"{hashlib.sha256(content).hexdigest()}"')


class ActiveCache:
    """What each use case serves, with its bodies, as of the token it was read under."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._served: dict[str, tuple[ServedArms, list[Body]]] = {}

    def read(self, use_case: str, key: str | None) -> Body:
        """The body a routing key is served now; raises NotFound for an unknown use case."""
        token = self.store.served_token(use_case)
        cached = self._served.get(use_case)
        if cached is None or cached[0].token != token:
            served = self.store.served_arms(use_case)
            # One assignment: a concurrent reader sees the old pair or the new, never a mix.
            cached = self._served[use_case] = (served, [body_of(p) for p in served.arms])
        served, bodies = cached
        return bodies[served.pick(key)]

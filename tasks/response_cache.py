"""The provider response cache kept in the state store."""

from collections.abc import Mapping, Sequence

from state.store_api import Store
from tasks.llm import CACHED_FIELDS, CallResult


class StoreResponseCache:
    """The response cache of the state store at `url`: one read per batch, writes in groups."""

    def __init__(self, url: str) -> None:
        """Use the store at `url` (migrated on first use)."""
        self.url = url
        self.store = Store(url)

    def get_many(self, keys: Sequence[str]) -> dict[str, CallResult]:
        """The cached results among `keys`."""
        found = self.store.get_cached_responses(keys)
        # An entry without every field (written by other code) is a miss, not a crash.
        return {
            key: CallResult.from_cache(value)
            for key, value in found.items()
            if set(CACHED_FIELDS) <= value.keys()
        }

    def put_many(self, results: Mapping[str, CallResult]) -> None:
        """Keep these results."""
        self.store.put_cached_responses({key: r.to_cache() for key, r in results.items()})

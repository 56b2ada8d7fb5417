"""Whether a provider webhook reported an object's end: the flag the webhook API keeps."""

from state.domain import provider_scope
from state.store_api import Store
from tasks.llm_batch import Ended


def ended_by_webhook(store_url: str) -> Ended:
    """`ended(batch_id)`: whether the webhook API took an OpenAI event about that batch."""
    store = Store(store_url)
    return lambda batch_id: store.provider_event_received(provider_scope(batch_id))

"""Whether a provider webhook reported an object's end: the flag the webhook API keeps."""

from state.domain import provider_scope
from state.store_api import Store
from tasks.provider_signal import Ended


def ended_by_webhook(store_url: str) -> Ended:
    """`ended(object_id)`: whether the webhook API took an OpenAI event about that batch or
    fine-tuning job."""
    store = Store(store_url)
    return lambda object_id: store.provider_event_received(provider_scope(object_id))

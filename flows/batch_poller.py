"""The batch poller: the fallback that resumes suspended runs when a batch's webhook is lost."""

from prefect import flow, get_run_logger

from state.settings import get_settings, provider_options
from state.store_api import Store
from tasks.batch_waits import poll_waited_batches, resume_ready


@flow(name="poll-batches")
def poll_batches(max_poll_seconds: float = 1800.0) -> list[str]:
    """Poll the batches suspended runs wait for; resume each run whose batches all ended.

    Each batch is polled when due (its pause doubles up to `max_poll_seconds`); the provider's
    webhook usually resumes a run first, and this finds the rest.
    """
    settings = get_settings()
    ended = poll_waited_batches(provider_options(settings), settings.store_url, max_poll_seconds)
    resumed = resume_ready(Store(settings.store_url))
    if ended or resumed:
        get_run_logger().info("%d batches ended; resumed flow runs %s", ended, resumed or "none")
    return resumed

"""Where shutdown dates come from (the provider's model list, the local table) and who is hit."""

from datetime import date

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict

from state.domain import RetirementNotice
from state.errors import ProviderError, ProviderUnreachable
from state.settings import ProviderOptions
from tasks.llm import model_shutdowns

LOCAL_TABLE = "local table (PHASEGATE_RETIREMENTS)"


class Shutdown(BaseModel):
    """A model's announced shutdown date and where it was read."""

    model_config = ConfigDict(frozen=True)

    shutdown_date: date
    source: str


@task(
    name="read-shutdown-dates",
    cache_policy=NO_CACHE,
    retries=1,
    retry_delay_seconds=2,
    timeout_seconds=120,
)
def read_shutdowns(options: ProviderOptions, local: dict[str, date]) -> dict[str, Shutdown]:
    """The shutdown dates the provider publishes, and the local table's for the rest."""
    import openai

    try:
        listed = model_shutdowns(options)
    except openai.APIConnectionError as exc:
        raise ProviderUnreachable(f"{options.base_url}: cannot list models ({exc})") from exc
    except openai.APIError as exc:
        raise ProviderError(f"{options.base_url}: GET /models failed ({exc})") from exc
    found = {m: Shutdown(shutdown_date=d, source=LOCAL_TABLE) for m, d in local.items()}
    for model, when in listed.items():
        if when:  # the provider's date wins over the local table's
            source = f"provider {options.base_url} (GET /models)"
            found[model] = Shutdown(shutdown_date=date.fromisoformat(when[:10]), source=source)
    return found


def notices_for(
    use_case: str,
    configuration_id: int,
    models: list[str],
    shutdowns: dict[str, Shutdown],
    *,
    today: date,
    horizon_days: int,
) -> list[RetirementNotice]:
    """The models of one active configuration that shut down within the horizon (or did)."""
    notices = []
    for model in dict.fromkeys(models):
        shutdown = shutdowns.get(model)
        if shutdown is None:
            continue
        days_left = (shutdown.shutdown_date - today).days
        if days_left <= horizon_days:
            notices.append(
                RetirementNotice(
                    use_case=use_case,
                    configuration_id=configuration_id,
                    model=model,
                    shutdown_date=shutdown.shutdown_date,
                    source=shutdown.source,
                    days_left=days_left,
                )
            )
    return notices


#: Successors of models whose provider names one, used when the spec's `successors` has none.
DEFAULT_SUCCESSORS = {"sandbox-small": "sandbox-small-2"}


def successor_of(model: str, successors: dict[str, str]) -> str | None:
    """The model a retiring model's configuration moves to: the spec's, else the table's."""
    return successors.get(model) or DEFAULT_SUCCESSORS.get(model)

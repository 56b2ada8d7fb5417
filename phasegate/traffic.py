"""Simulated application traffic: signed reads of /active, real provider calls, rated reports.

Each simulated interaction does what an application does: it reads
`GET /v1/usecases/{uc}/active?key=<random key>` through the signed API, calls the configuration
it was served on the provider, and reports the interaction (`POST .../interactions`) with that
configuration's id. The question is a random item of the use case's eval set, and the rating
is the spec's metric (token F1, accuracy, …) of the answer against the item's expected
answer, computed by the same code as an eval run — so a degraded canary gets worse ratings by
the provider's mechanics, never by a number written here.

Time can be compressed: `speed` simulated seconds pass per real second (`--speed 60` serves an
hour of traffic at `--rate` per simulated second in a minute). Calls and reports are real; only
their pacing is faster. `drop_arm` serves an arm but never reports its interactions, which
breaks the observed split (the sample-ratio check must catch it). Any number of arms works: a
canary rollout's two, an online A/B's k (each interaction is reported under the arm /active
named).
"""

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from flows.context import UseCaseContext
from flows.scoring import prepare_requests, prepare_routed
from phasegate.signing import signed_request
from state.domain import EvalItem
from state.errors import InputError, NotFound, SignatureError, Unavailable
from state.settings import Settings
from tasks.evaluation import EvalTarget, evaluate

# The webhook API's refusals as the error tree's classes (exit codes); others: unavailable.
REFUSALS = {401: SignatureError, 404: NotFound, 413: InputError, 422: InputError}
# Interactions reported per POST: well under the API's 1,000 items per request.
REPORT_BATCH = 200


def webhook_secret(settings: Settings, use_case: str) -> str:
    """The secret that signs a use case's requests: its own, else the shared one."""
    secrets = settings.webhook_secrets.get(use_case) or settings.webhook_secret
    if not secrets:
        raise InputError(
            "PHASEGATE_WEBHOOK_SECRET: no webhook secret to sign the simulated requests with"
        )
    return secrets[0].get_secret_value()


@dataclass(frozen=True)
class Traffic:
    """How much traffic to send and how fast: `rate` per simulated second for `duration` s."""

    rate: float
    duration: float
    speed: float = 1.0
    drop_arm: str | None = None
    seed: int | None = None
    tick_seconds: float = 1.0

    def __post_init__(self) -> None:
        for name in ("rate", "duration", "speed", "tick_seconds"):
            if not getattr(self, name) > 0:
                raise InputError(f"{name}: must be a number above 0")
        if self.drop_arm is not None and not self.drop_arm.strip():
            raise InputError("drop_arm: name an arm (control, canary, or an A/B's arm)")

    @property
    def total(self) -> int:
        """Interactions to send in all."""
        return round(self.rate * self.duration)


@dataclass
class TrafficTally:
    """What the simulator served, reported and dropped, by arm, and the ratings it reported."""

    served: Counter = field(default_factory=Counter)
    reported: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    rating_sum: Counter = field(default_factory=Counter)
    rated: Counter = field(default_factory=Counter)
    configurations: dict[str, set[int]] = field(default_factory=dict)

    def mean_rating(self, arm: str) -> float | None:
        """The mean reported rating of an arm; None when none was rated."""
        return self.rating_sum[arm] / self.rated[arm] if self.rated[arm] else None


@dataclass(frozen=True)
class Served:
    """One read of /active: the routing key, the arm and the configuration id it named."""

    key: str
    arm: str
    configuration_id: int
    item: EvalItem


class TrafficClient:
    """The signed webhook API as the simulated application calls it."""

    def __init__(self, api_url: str, secret: str, use_case: str) -> None:
        self.http = httpx.Client(base_url=api_url.rstrip("/"), timeout=30)
        self.secret = secret
        self.path = f"/v1/usecases/{use_case}"

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

    def _send(self, method: str, path: str, payload: dict | None, **params: str) -> Any:
        body, headers = signed_request(self.secret, method, path, payload)
        try:
            response = self.http.request(method, path, content=body, headers=headers, params=params)
        except httpx.HTTPError as exc:
            raise Unavailable(f"the webhook API at {self.http.base_url}: {exc}") from exc
        if response.status_code >= 400:
            error = REFUSALS.get(response.status_code, Unavailable)
            raise error(
                f"{method} {self.http.base_url}{path}: the webhook API answered "
                f"{response.status_code}: {response.text[:300]}"
            )
        return response.json()

    def active(self, key: str) -> dict[str, Any]:
        """The configuration served to a routing key (signed GET of /active?key=…)."""
        return self._send("GET", f"{self.path}/active", None, key=key)

    def report(self, interactions: list[dict[str, Any]]) -> None:
        """Report interactions (signed POST), in batches the API accepts."""
        for start in range(0, len(interactions), REPORT_BATCH):
            batch = interactions[start : start + REPORT_BATCH]
            self._send("POST", f"{self.path}/interactions", {"interactions": batch})


def serve(
    client: TrafficClient, items: list[EvalItem], count: int, rng: random.Random
) -> list[Served]:
    """Read /active `count` times, each with a fresh random key and a random eval question."""
    served = []
    for _ in range(count):
        key = uuid.UUID(int=rng.getrandbits(128)).hex
        body = client.active(key)
        configuration = body.get("configuration")
        if not configuration:
            raise InputError(f"{client.path}: no active configuration to call yet")
        served.append(
            Served(key, body.get("arm", "control"), configuration["id"], rng.choice(items))
        )
    return served


def call_and_rate(ctx: UseCaseContext, served: list[Served]) -> list[dict[str, Any]]:
    """Call each served configuration on the provider and rate its answers by the spec's metric."""
    by_config: dict[int, list[Served]] = {}
    for one in served:
        by_config.setdefault(one.configuration_id, []).append(one)
    reports = []
    for config_id, group in by_config.items():
        (config,) = ctx.store.get_configurations([config_id])
        if config is None:
            raise InputError(f"configuration {config_id} served by /active is not in the store")
        # One request per interaction, each under a unique item id, so that repeated questions
        # are separate calls and the results map back one to one.
        items = [
            one.item.model_copy(update={"id": f"{one.item.id}#{n}"}) for n, one in enumerate(group)
        ]
        prepare = prepare_routed if config.routing else prepare_requests
        requests = prepare(ctx, config, items)
        target = EvalTarget(
            use_case=ctx.name,
            configuration_id=config_id,
            eval_set_hash="traffic",
            metric=ctx.spec.metric,
            purpose="traffic",
        )
        run = evaluate(
            requests,
            items,
            target,
            ctx.provider,
            use_cache=False,
            judge_model=ctx.settings.judge_model,
            samples=1,
            max_error_rate=1.0,
        )
        by_item = {one_item.id: one for one_item, one in zip(items, group, strict=True)}
        for request, result in zip(requests, run.results, strict=True):
            one = by_item[request.item_id]
            report: dict[str, Any] = {
                "id": f"sim-{one.key}",
                "input": one.item.input,
                "output": result.output,
                "configuration_id": config_id,
                "latency_ms": result.latency_ms,
                "error": result.error is not None and result.score is None,
                "arm": one.arm,
            }
            if result.score is not None:
                report["rating"] = result.score
            reports.append(report)
    return reports


def _tally(tally: TrafficTally, reports: list[dict[str, Any]], drop_arm: str | None) -> list[dict]:
    """Count each report by arm; the ones to send, without the simulator's own `arm` field."""
    sent = []
    for report in reports:
        arm = report.pop("arm")
        tally.served[arm] += 1
        tally.configurations.setdefault(arm, set()).add(report["configuration_id"])
        if arm == drop_arm:
            tally.dropped[arm] += 1
            continue
        tally.reported[arm] += 1
        tally.errors[arm] += report["error"]
        if "rating" in report:
            tally.rating_sum[arm] += report["rating"]
            tally.rated[arm] += 1
        sent.append(report)
    return sent


def _require_arm(ctx: UseCaseContext, arm: str | None) -> None:
    """Refuse a `drop_arm` that the use case does not serve (before any traffic is sent)."""
    if arm is None:
        return
    live = ctx.store.get_live_rollout(ctx.name)
    names = [a.name for a in live.arms] if live else ["control"]
    if arm not in names:
        raise InputError(f"drop_arm: {arm!r} is not an arm {ctx.name} serves ({', '.join(names)})")


def simulate_traffic(
    use_case: str,
    traffic: Traffic,
    *,
    api_url: str,
    secret: str,
    on_tick: Callable[[TrafficTally], None] | None = None,
) -> TrafficTally:
    """Send `traffic` to a use case through the webhook API at `api_url`; what was sent."""
    ctx = UseCaseContext.load(use_case)
    _require_arm(ctx, traffic.drop_arm)
    items, _ = ctx.eval_set
    rng = random.Random(traffic.seed)
    tally = TrafficTally()
    client = TrafficClient(api_url, secret, use_case)
    started, sent = time.monotonic(), 0
    try:
        while sent < traffic.total:
            simulated = (time.monotonic() - started) * traffic.speed
            due = min(traffic.total, round(traffic.rate * simulated))
            if due > sent:
                served = serve(client, items, due - sent, rng)
                client.report(_tally(tally, call_and_rate(ctx, served), traffic.drop_arm))
                sent = due
                if on_tick:
                    on_tick(tally)
            else:
                # Real pacing: wait for the next tick's share of the simulated clock.
                time.sleep(traffic.tick_seconds)
    finally:
        client.close()
    return tally

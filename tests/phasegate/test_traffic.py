"""The traffic simulator: signed reads of /active, real sandbox calls, rated reports per arm.

A use case of support-qa's data with two prompting configurations (zero-shot active, few-shot
as the canary of a 50 % rollout), the webhook API over a real socket, the sandbox over HTTP.
"""

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from sqlmodel import select

from phasegate.cli.exits import run
from phasegate.signing import new_secret
from phasegate.traffic import Traffic, simulate_traffic
from phasegate.webhooks import create_app
from state.db import store_session
from state.domain import ConfigurationDraft, DecisionDraft, RolloutDraft
from state.errors import InputError
from state.interactions import observations
from state.models import InteractionRecord
from state.phases import DecisionKind, Phase
from state.settings import Settings, get_settings
from state.spec import load_spec
from state.spec_rollout import RolloutStep
from state.store_api import Store
from state.use_cases import apply_spec
from tasks.eval_sets import load_eval_set
from tasks.live_stats import sample_ratio_p_value
from tasks.metrics import METRICS

ROOT = Path(__file__).resolve().parents[2]
USE_CASE = "support-qa"
SPEC = ROOT / "usecases" / USE_CASE / "spec.yaml"
SECRET = new_secret()


@pytest.fixture(name="traffic_settings")
def traffic_settings_fixture(
    settings: Settings, sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings with the sandbox as provider and a webhook secret."""
    monkeypatch.setenv("PHASEGATE_BASE_URL", sandbox_url)
    monkeypatch.setenv("PHASEGATE_WEBHOOK_SECRET", SECRET)
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture(name="arms")
def arms_fixture(traffic_settings: Settings) -> dict[str, int]:
    """support-qa with zero-shot active and few-shot in a 50 % rollout; the arms' ids."""
    loaded = load_spec(SPEC)
    with store_session(traffic_settings.store_url) as session:
        apply_spec(loaded, session=session)
    store = Store(traffic_settings.store_url)
    variants = {variant.kind: variant for variant in loaded.spec.prompts}
    ids = {}
    for arm, kind in (("control", "zero_shot"), ("canary", "few_shot")):
        draft = ConfigurationDraft(phase=Phase.PROMPTING, model="sandbox-base")
        _, config = store.save_prompted_configuration(USE_CASE, variants[kind], draft)
        ids[arm] = config.id
    baseline = DecisionDraft(
        kind=DecisionKind.BASELINED, to_phase=Phase.PROMPTING, configuration_id=ids["control"]
    )
    version = store.require_use_case(USE_CASE).version
    store.record_check(USE_CASE, baseline, expected_version=version, approval_status=None)
    steps = [RolloutStep(weight=50, min_interactions=10)]
    rollout = RolloutDraft(
        to_phase=Phase.PROMPTING, canaries={"canary": ids["canary"]}, steps=steps
    )
    store.start_rollout(USE_CASE, rollout)
    return ids


@pytest.fixture(name="api_url")
def api_url_fixture(traffic_settings: Settings) -> Iterator[str]:
    """The webhook API on a free loopback port, served by uvicorn in a thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create_app(traffic_settings), lifespan="off", log_level="critical")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    host, port = sock.getsockname()
    yield f"http://{host}:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def _stored(settings: Settings, ids: dict[str, int]) -> dict[str, list]:
    since = datetime.now(UTC) - timedelta(hours=1)
    with store_session(settings.store_url) as session:
        rows = observations(USE_CASE, list(ids.values()), since=since, session=session)
    return {arm: [r for r in rows if r.configuration_id == i] for arm, i in ids.items()}


def _ratings_and_scores(settings: Settings) -> list[tuple[float | None, float]]:
    """Each stored interaction's rating, and the spec's metric of its output recomputed here."""
    loaded = load_spec(SPEC)
    items, _ = load_eval_set(loaded.data_path("eval"))
    expected = {item.input: item.expected for item in items}
    score = METRICS[loaded.spec.metric].score
    fields = (InteractionRecord.input, InteractionRecord.output, InteractionRecord.rating)
    with store_session(settings.store_url) as session:
        rows = session.exec(select(*fields)).all()
    return [(rating, score(output, expected[text])) for text, output, rating in rows]


def test_traffic_reports_each_arms_interactions_rated_by_the_metric(
    traffic_settings: Settings, arms: dict[str, int], api_url: str
) -> None:
    traffic = Traffic(rate=40, duration=3, speed=3, seed=7)
    tally = simulate_traffic(USE_CASE, traffic, api_url=api_url, secret=SECRET)
    stored = _stored(traffic_settings, arms)
    assert tally.served["control"] + tally.served["canary"] == 120
    assert {arm: len(rows) for arm, rows in stored.items()} == dict(tally.reported)
    assert tally.configurations == {arm: {i} for arm, i in arms.items()}
    # Each rating is the spec's metric (token F1) of the stored answer against the expected one.
    scored = _ratings_and_scores(traffic_settings)
    assert len(scored) == 120
    assert all(rating == pytest.approx(score) for rating, score in scored)
    assert len({rating for rating, _ in scored}) > 2  # not a constant: real answers differ


def test_traffic_dropping_an_arm_breaks_the_observed_split(
    traffic_settings: Settings, arms: dict[str, int], api_url: str
) -> None:
    traffic = Traffic(rate=50, duration=4, speed=4, seed=3, drop_arm="canary")
    tally = simulate_traffic(USE_CASE, traffic, api_url=api_url, secret=SECRET)
    stored = _stored(traffic_settings, arms)
    assert stored["canary"] == [] and tally.dropped["canary"] == tally.served["canary"] > 0
    counts = [len(stored["control"]), len(stored["canary"])]
    assert sample_ratio_p_value(counts, [50, 50]) < 0.001


@pytest.mark.parametrize(
    ("field", "value"), [("rate", 0.0), ("duration", -1.0), ("speed", 0.0), ("drop_arm", " ")]
)
def test_traffic_refuses_bad_settings_naming_the_field(field: str, value: object) -> None:
    options = {"rate": 1.0, "duration": 1.0} | {field: value}
    with pytest.raises(InputError, match=field):
        Traffic(**options)


def test_simulate_traffic_command_with_a_bad_duration_exits_2(
    traffic_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["simulate", "traffic", USE_CASE, "--rate", "1", "--for", "soon"]) == 2
    assert "--for" in capsys.readouterr().err


def test_simulate_traffic_command_without_the_api_exits_3(
    traffic_settings: Settings, arms: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["simulate", "traffic", USE_CASE, "--rate", "1", "--for", "1", "--speed", "10"]
    assert run([*args, "--api-url", "http://127.0.0.1:1"]) == 3
    assert "http://127.0.0.1:1" in capsys.readouterr().err


def test_simulate_traffic_command_prints_each_arm(
    traffic_settings: Settings,
    arms: dict[str, int],
    api_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["simulate", "traffic", USE_CASE, "--rate", "20", "--for", "1s", "--speed", "2"]
    assert run([*args, "--api-url", api_url, "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert f"{USE_CASE} control: served" in out and f"{USE_CASE} canary: served" in out


@pytest.fixture(name="ab_arms")
def ab_arms_fixture(traffic_settings: Settings) -> dict[str, int]:
    """support-qa with zero-shot active and an online A/B of three arms (equal shares)."""
    loaded = load_spec(SPEC)
    with store_session(traffic_settings.store_url) as session:
        apply_spec(loaded, session=session)
    store = Store(traffic_settings.store_url)
    ids = {}
    for arm, variant in zip(("control", "few", "cot"), loaded.spec.prompts, strict=True):
        draft = ConfigurationDraft(phase=Phase.PROMPTING, model="sandbox-base")
        ids[arm] = store.save_prompted_configuration(USE_CASE, variant, draft)[1].id
    baseline = DecisionDraft(
        kind=DecisionKind.BASELINED, to_phase=Phase.PROMPTING, configuration_id=ids["control"]
    )
    version = store.require_use_case(USE_CASE).version
    store.record_check(USE_CASE, baseline, expected_version=version, approval_status=None)
    step = RolloutStep(weight=200 / 3, min_interactions=10)
    draft = RolloutDraft(
        to_phase=Phase.PROMPTING,
        canaries={"few": ids["few"], "cot": ids["cot"]},
        steps=[step],
        kind="ab",
    )
    store.start_rollout(USE_CASE, draft)
    return ids


def test_traffic_serves_and_reports_every_arm_of_an_ab(
    traffic_settings: Settings, ab_arms: dict[str, int], api_url: str
) -> None:
    traffic = Traffic(rate=40, duration=3, speed=3, seed=11)
    tally = simulate_traffic(USE_CASE, traffic, api_url=api_url, secret=SECRET)
    assert set(tally.served) == {"control", "few", "cot"}
    assert all(tally.served[arm] > 20 for arm in ab_arms)
    assert tally.configurations == {arm: {i} for arm, i in ab_arms.items()}
    stored = _stored(traffic_settings, ab_arms)
    assert {arm: len(rows) for arm, rows in stored.items()} == dict(tally.reported)


def test_traffic_refuses_to_drop_an_arm_the_use_case_does_not_serve(
    traffic_settings: Settings, ab_arms: dict[str, int], api_url: str
) -> None:
    traffic = Traffic(rate=10, duration=1, speed=10, drop_arm="canary")
    with pytest.raises(InputError, match="drop_arm: 'canary' is not an arm"):
        simulate_traffic(USE_CASE, traffic, api_url=api_url, secret=SECRET)
    assert _stored(traffic_settings, ab_arms) == {arm: [] for arm in ab_arms}

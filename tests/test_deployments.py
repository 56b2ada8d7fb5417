"""prefect.yaml: its deployments, entrypoints, pool, trigger and schedules, and no secret."""

import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prefect import Flow
from prefect.client.schemas.schedules import CronSchedule

from phasegate import prefect_api

ROOT = Path(__file__).resolve().parent.parent
PREFECT_YAML = yaml.safe_load((ROOT / "prefect.yaml").read_text())
DEPLOYMENTS = {d["name"]: d for d in PREFECT_YAML["deployments"]}


def _flow_of(entrypoint: str) -> object:
    path, name = entrypoint.split(":")
    return getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), name)


def test_prefect_yaml_declares_every_deployment() -> None:
    assert set(DEPLOYMENTS) == {
        "phase-check",
        "sweep",
        "monitor",
        "retirement-watch",
        "batch-poller",
        "rollouts",
        "rollout",
    }


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_deployment_entrypoint_is_a_flow(name: str) -> None:
    assert isinstance(_flow_of(DEPLOYMENTS[name]["entrypoint"]), Flow)


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_deployment_runs_on_the_phasegate_process_pool(name: str) -> None:
    assert DEPLOYMENTS[name]["work_pool"]["name"] == prefect_api.POOL


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_deployment_parameters_are_parameters_of_its_flow(name: str) -> None:
    deployment = DEPLOYMENTS[name]
    given = set(deployment.get("parameters") or {})
    for trigger in deployment.get("triggers") or []:
        given |= set(trigger["parameters"])
    accepted = set(inspect.signature(_flow_of(deployment["entrypoint"]).fn).parameters)
    assert given <= accepted


def test_phase_check_trigger_passes_the_use_case_of_check_requested_events() -> None:
    (trigger,) = DEPLOYMENTS["phase-check"]["triggers"]
    assert (trigger["type"], trigger["enabled"]) == ("event", True)
    assert trigger["expect"] == ["phasegate.check.requested"]
    assert trigger["match"] == {"prefect.resource.id": "phasegate.usecase.*"}
    assert trigger["parameters"] == {"use_case": "{{ event.payload.use_case }}"}


def test_phase_check_trigger_expects_the_event_the_webhook_emits() -> None:
    from phasegate.webhooks import CHECK_REQUESTED

    (trigger,) = DEPLOYMENTS["phase-check"]["triggers"]
    assert trigger["expect"] == [CHECK_REQUESTED]


@pytest.mark.parametrize(
    ("name", "every"),
    [
        ("sweep", "nightly"),
        ("monitor", "hourly"),
        ("retirement-watch", "daily"),
        ("batch-poller", "five_minutes"),
    ],
)
def test_scheduled_deployment_has_a_valid_cron(name: str, every: str) -> None:
    (schedule,) = DEPLOYMENTS[name]["schedules"]
    assert schedule == PREFECT_YAML["definitions"]["schedules"][every]
    CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])


def test_phase_checks_are_bounded_by_a_deployment_concurrency_limit() -> None:
    from prefect.cli.deploy._models import PrefectYamlModel

    model = PrefectYamlModel.model_validate(PREFECT_YAML)
    (check,) = [d for d in model.deployments if d.name == "phase-check"]
    assert check.concurrency_limit.limit >= 2
    assert check.concurrency_limit.collision_strategy == "ENQUEUE"


def test_prefect_yaml_pulls_nothing_over_a_network() -> None:
    steps = PREFECT_YAML.get("pull") or []
    assert all(set(step) == {"prefect.deployments.steps.set_working_directory"} for step in steps)
    assert not any("pull" in deployment for deployment in PREFECT_YAML["deployments"])


def _strings(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def test_prefect_yaml_holds_no_secret() -> None:
    words = ("secret", "password", "api_key", "token", "sk-")
    assert [s for s in _strings(PREFECT_YAML) if any(w in s.lower() for w in words)] == []

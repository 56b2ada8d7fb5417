"""The hybrid candidate: built, scored, gated, made active and served by `GET .../active`."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import SecretStr

from flows.hybrid import check_hybrid
from phasegate.signing import new_secret, signed_request
from phasegate.webhooks import create_app
from state.db import store_session
from state.decisions import list_decisions, record_decision
from state.domain import Decision, DecisionDraft, NewInteraction
from state.errors import InputError
from state.evals import get_eval_run
from state.interactions import record_interactions
from state.leases import acquire_lease
from state.phases import DecisionKind, Phase
from state.settings import Settings
from state.spec import load_spec
from state.store_api import Store
from state.use_cases import apply_spec, require_use_case
from tasks.routing import rule_of
from tests.flows.tiny_usecase import (
    EVAL_TEMPLATE,
    GUARDED,
    MODULES,
    TUNED,
    active_configuration,
    item_id,
    port,
)

SECRET = new_secret()


def _last_decision(settings: Settings) -> Decision:
    with store_session(settings.store_url) as session:
        return list_decisions(TUNED, session=session)[-1]


def test_check_hybrid_makes_the_hybrid_active_when_it_beats_the_tuned_model(
    tiny: Settings,
) -> None:
    tuned = active_configuration(tiny)

    outcome = check_hybrid(TUNED)

    decision, hybrid = _last_decision(tiny), active_configuration(tiny)
    assert (outcome.decision, outcome.from_phase, outcome.to_phase) == (
        "advanced",
        "fine_tuning",
        "fine_tuning",
    )
    assert decision.configuration_id == hybrid.id != tuned.id
    assert {g.check: g.status for g in decision.gate_results} == {
        "routing": "pass",
        "hybrid_gain": "pass",
        "quality_floor": "pass",
        "latency": "pass",
    }
    assert (hybrid.model, hybrid.model_version_id) == (tuned.model, tuned.model_version_id)
    assert hybrid.routing["tuned_configuration_id"] == tuned.id
    assert hybrid.routing["fallback"]["phase"] == "rag"


def test_check_hybrid_rolls_the_hybrid_out_when_the_spec_has_steps_and_holds_meanwhile(
    tiny: Settings, tmp_path: Path
) -> None:
    _reapply(tiny, tmp_path / "tiny-qa", rollout={"steps": [{"weight": 10}, {"weight": 50}]})
    tuned = active_configuration(tiny)

    outcome = check_hybrid(TUNED)

    live = Store(tiny.store_url).get_live_rollout(TUNED)
    assert (outcome.decision, outcome.rollout_id) == ("rolling_out", live.id)
    assert outcome.reason.endswith("; rollout at 10 % of live traffic")
    assert active_configuration(tiny).id == tuned.id  # the control keeps 90 %
    assert (live.to_phase, live.step, live.weight) == (Phase.FINE_TUNING, 0, 10)
    assert live.arms[0].configuration_id == tuned.id
    hybrid = Store(tiny.store_url).get_configuration(live.canary.configuration_id)
    assert hybrid.routing["tuned_configuration_id"] == tuned.id
    assert _last_decision(tiny).candidate_configuration_id == hybrid.id

    again = check_hybrid(TUNED)

    assert again.decision == "held"
    assert again.reason.startswith(f"rollout {live.id} to fine_tuning is running at 10 %")
    assert Store(tiny.store_url).get_live_rollout(TUNED) == live


def test_check_hybrid_chooses_the_threshold_on_the_validation_split(tiny: Settings) -> None:
    check_hybrid(TUNED)

    routing = {g.check: g for g in _last_decision(tiny).gate_results}["routing"]
    # A validation input shares 4 of its 5 content words with another phrasing of its module.
    assert routing.observed == 0.8
    assert routing.evidence["tuned_share"] == 1.0
    assert routing.evidence["n"] + routing.evidence["reference_inputs"] == 90
    assert routing.evidence["routed_mean"] > routing.evidence["fallback_mean"]


def test_hybrid_scores_office_questions_through_rag_and_ports_through_the_tuned_model(
    tiny: Settings,
) -> None:
    check_hybrid(TUNED)

    decision = _last_decision(tiny)
    with store_session(tiny.store_url) as session:
        run = get_eval_run(decision.eval_run_ids[-1], session=session)
    scores = run.scores()
    assert run.configuration_id == active_configuration(tiny).id
    assert {scores[item_id(m)] for m in MODULES} == {1.0}
    assert all(scores[item] > 0 for item in scores if item.startswith("office-"))


def test_active_endpoint_serves_the_routing_rule_an_application_can_apply(
    tiny: Settings,
) -> None:
    check_hybrid(TUNED)
    app = create_app(
        tiny.model_copy(update={"webhook_secret": [SecretStr(SECRET)]}),
        emit=lambda event, use_case, payload: "unused",
    )

    path = f"/v1/usecases/{TUNED}/active"
    response = TestClient(app).get(path, headers=signed_request(SECRET, "GET", path)[1])

    assert response.status_code == 200
    served = response.json()
    routing = served["configuration"]["routing"]
    assert (served["phase"], served["configuration"]["id"]) == (
        "fine_tuning",
        active_configuration(tiny).id,
    )
    assert routing == json.loads(json.dumps(active_configuration(tiny).routing))
    rule = rule_of(routing)
    assert rule.to_tuned(EVAL_TEMPLATE.format(m="Aurora Lynx"))
    assert not rule.to_tuned("Where is the Zentrix office located?")


def _use_case_dir(settings: Settings, name: str = TUNED) -> Path:
    with store_session(settings.store_url) as session:
        return Path(require_use_case(name, session=session).spec_path).parent


def _reapply(settings: Settings, directory: Path, **sections: dict[str, Any]) -> None:
    """Apply tiny-qa again from a copy of its files, with fields of spec sections replaced."""
    shutil.copytree(_use_case_dir(settings), directory)
    spec = yaml.safe_load((directory / "spec.yaml").read_text())
    for section, fields in sections.items():
        spec[section] |= fields
    (directory / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    with store_session(settings.store_url) as session:
        apply_spec(load_spec(directory / "spec.yaml"), session=session)


def test_check_hybrid_keeps_the_tuned_model_when_the_hybrid_gains_nothing(
    tiny: Settings, tmp_path: Path
) -> None:
    # An eval set of port questions only: the hybrid routes all of them to the tuned model.
    lines = (_use_case_dir(tiny) / "eval.jsonl").read_text().splitlines()
    ports_only = tmp_path / "ports.jsonl"
    ports_only.write_text("".join(f"{line}\n" for line in lines if '"port-' in line))
    _reapply(tiny, tmp_path / "tiny-qa", data={"eval": str(ports_only)})
    tuned = active_configuration(tiny)

    outcome = check_hybrid(TUNED)

    gain = {g.check: g for g in _last_decision(tiny).gate_results}["hybrid_gain"]
    assert outcome.decision == "held"
    assert (gain.status, gain.observed) == ("fail", 0.0)
    assert active_configuration(tiny).id == tuned.id


def test_check_hybrid_gates_the_hybrid_on_the_canary_set_when_the_spec_has_one(
    tiny: Settings, tmp_path: Path
) -> None:
    canary = _use_case_dir(tiny, GUARDED) / "canary.jsonl"
    _reapply(tiny, tmp_path / "tiny-qa", data={"canary": str(canary)})

    outcome = check_hybrid(TUNED)

    result = {g.check: g for g in _last_decision(tiny).gate_results}["canary"]
    assert outcome.decision == "advanced"
    assert result.status == "pass"
    assert result.evidence["candidate_mean"] > result.evidence["active_mean"]


def test_check_hybrid_holds_when_the_training_data_changed_since_tuning(tiny: Settings) -> None:
    late = NewInteraction(
        client_id="late", input="Which port is Fjord Beaver on?", label=port("fjord beaver")
    )
    with store_session(tiny.store_url) as session:
        record_interactions(TUNED, [late], session=session)
    tuned = active_configuration(tiny)

    outcome = check_hybrid(TUNED)

    routing = {g.check: g for g in _last_decision(tiny).gate_results}["routing"]
    assert outcome.decision == "held"
    assert routing.status == "fail"
    assert "training data changed" in routing.detail
    assert active_configuration(tiny).id == tuned.id


def test_check_hybrid_refuses_a_spec_without_a_validation_split(
    tiny: Settings, tmp_path: Path
) -> None:
    _reapply(tiny, tmp_path / "tiny-qa", fine_tuning={"validation_share": 0})
    with store_session(tiny.store_url) as session:
        decisions = len(list_decisions(TUNED, session=session))

    with pytest.raises(InputError, match="fine_tuning.validation_share: 0.0 leaves 0 validation"):
        check_hybrid(TUNED)
    with store_session(tiny.store_url) as session:
        assert len(list_decisions(TUNED, session=session)) == decisions


def test_check_hybrid_refuses_a_use_case_without_an_active_tuned_model(tiny: Settings) -> None:
    with pytest.raises(InputError, match="needs an active fine-tuned configuration"):
        check_hybrid(GUARDED)


def test_check_hybrid_refuses_a_tuned_model_with_no_rag_configuration_before_it(
    tiny: Settings,
) -> None:
    tuned = active_configuration(tiny)
    with store_session(tiny.store_url) as session:
        first = list_decisions(TUNED, session=session)[0]
        for kind, phase, config in (
            (DecisionKind.ROLLED_BACK, Phase.PROMPTING, first.configuration_id),
            (DecisionKind.ADVANCED, Phase.FINE_TUNING, tuned.id),
        ):
            version = require_use_case(TUNED, session=session).version
            draft = DecisionDraft(kind=kind, to_phase=phase, configuration_id=config)
            record_decision(TUNED, draft, expected_version=version, session=session)

    with pytest.raises(InputError, match="no RAG configuration was active before"):
        check_hybrid(TUNED)


def test_check_hybrid_refuses_a_configuration_that_is_already_a_hybrid(tiny: Settings) -> None:
    check_hybrid(TUNED)

    with pytest.raises(InputError, match="without routing"):
        check_hybrid(TUNED)


def test_check_hybrid_skips_a_use_case_whose_check_is_running(tiny: Settings) -> None:
    tuned = active_configuration(tiny)
    with store_session(tiny.store_url) as session:
        acquire_lease(TUNED, "another-run", ttl_seconds=600, session=session)

    outcome = check_hybrid(TUNED)

    assert (outcome.decision, outcome.reason) == ("skipped", "check another-run is running")
    assert active_configuration(tiny).id == tuned.id

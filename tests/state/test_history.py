"""The activation stack on each store backend."""

import pytest
from sqlmodel import Session

from state.configurations import save_configuration
from state.decisions import record_decision
from state.domain import ConfigurationDraft, DecisionDraft
from state.errors import NotFound
from state.history import activation_stack
from state.phases import DecisionKind, Phase
from state.use_cases import require_use_case

NAME = "demo-qa"


@pytest.fixture(name="configs")
def configs_fixture(use_case: str, session: Session) -> dict[str, int]:
    """A configuration per phase of the registered demo-qa, by phase name."""
    return {
        phase.value: save_configuration(
            NAME, ConfigurationDraft(phase=phase, model=f"model-{phase}"), session=session
        ).id
        for phase in Phase
    }


def _decide(session: Session, kind: DecisionKind, phase: str, configuration_id: int) -> int:
    version = require_use_case(NAME, session=session).version
    draft = DecisionDraft(
        kind=kind,
        to_phase=Phase(phase),
        configuration_id=configuration_id,
        eval_run_ids=[configuration_id * 10],
    )
    return record_decision(NAME, draft, expected_version=version, session=session).id


def _journey(session: Session, configs: dict[str, int]) -> None:
    _decide(session, DecisionKind.BASELINED, "prompting", configs["prompting"])
    _decide(session, DecisionKind.ADVANCED, "rag", configs["rag"])
    _decide(session, DecisionKind.HELD, "fine_tuning", configs["rag"])
    _decide(session, DecisionKind.ADVANCED, "fine_tuning", configs["fine_tuning"])


def test_activation_stack_lists_activations_oldest_first_without_other_decisions(
    session: Session, configs: dict[str, int]
) -> None:
    _journey(session, configs)

    stack = activation_stack(NAME, session=session)

    assert [a.configuration_id for a in stack] == [
        configs["prompting"],
        configs["rag"],
        configs["fine_tuning"],
    ]
    assert [a.kind for a in stack] == ["baselined", "advanced", "advanced"]
    assert stack[-1].eval_run_ids == [configs["fine_tuning"] * 10]


def test_rollback_replaces_the_activations_it_undid(
    session: Session, configs: dict[str, int]
) -> None:
    _journey(session, configs)
    rollback = _decide(session, DecisionKind.ROLLED_BACK, "rag", configs["rag"])

    stack = activation_stack(NAME, session=session)

    assert [a.configuration_id for a in stack] == [configs["prompting"], configs["rag"]]
    assert (stack[-1].decision_id, stack[-1].kind) == (rollback, "rolled_back")


def test_second_rollback_walks_further_back(session: Session, configs: dict[str, int]) -> None:
    _journey(session, configs)
    _decide(session, DecisionKind.ROLLED_BACK, "rag", configs["rag"])
    _decide(session, DecisionKind.ROLLED_BACK, "prompting", configs["prompting"])

    stack = activation_stack(NAME, session=session)

    assert [(a.configuration_id, a.kind) for a in stack] == [(configs["prompting"], "rolled_back")]


def test_activation_stack_of_an_unknown_use_case_raises_not_found(session: Session) -> None:
    with pytest.raises(NotFound, match="unknown use case: 'nowhere'"):
        activation_stack("nowhere", session=session)

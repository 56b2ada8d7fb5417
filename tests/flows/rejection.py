"""The rejection of a paused check, shared by the approval tests and the approval-event tests.

support-qa's rag → fine_tuning check (approvers: ana, bob) pauses with a 1-second poll, is
sent six answers the form refuses, then is rejected from the CLI; the fixture keeps what each
step left. Package-scoped: the check runs once for every module that reads it.
"""

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from prefect.settings import PREFECT_API_URL

from phasegate.cli.phases import reject_command
from state.db import store_session
from state.decisions import get_decision_by_run
from state.domain import Approval
from state.errors import ApprovalError
from state.settings import get_settings
from state.use_cases import require_use_case
from tasks.approvals import give_answer
from tests.flows.checks import Approver, JourneyRecord, Step, run_check, start_from
from tests.flows.journey import USE_CASE, Journey, approval_row, flow_run_state
from tests.flows.stores import Stores

REJECTER = {"reason": "the tuned model cites no sources", "approver": "bob"}
APPROVERS = ["ana", "bob"]
#: Answers the form refuses, as the UI would submit them (`run_input` of the resume call).
REFUSED = {
    "nothing filled in": {"approve": True},
    "empty fields": {"approve": True, "reason": "", "approver": ""},
    "blank reason": {"approve": True, "reason": "   ", "approver": "bob"},
    "no approver": {"approve": True, "reason": "looks fine"},
    "unknown approver": {"approve": True, "reason": "looks fine", "approver": "eve"},
}
#: What the server's refusal of each says (the UI shows it under the form).
WHY_REFUSED = {
    "nothing filled in": "'reason' is a required property",
    "empty fields": "field 'reason'. Failure reason: '' should be non-empty",
    "blank reason": "field 'reason'. Failure reason: '   ' does not match",
    "no approver": "'approver' is a required property",
    "unknown approver": "field 'approver'. Failure reason: 'eve' is not one of ['ana', 'bob']",
}


@dataclass(frozen=True)
class Rejection:
    """A check paused for approval, sent bad answers, then rejected from the CLI."""

    journey: Journey
    step: Step
    empty_reason: ApprovalError | None
    wrong_type: dict[str, Any]
    paused_after_bad_answers: bool
    decision_while_paused: Any
    approval_while_paused: dict[str, Any]
    form_schema: dict[str, Any]
    refused: dict[str, dict[str, Any]]
    unknown_from_cli: ApprovalError | None
    version_before: int


@pytest.fixture(name="rejection", scope="package")
def rejection_fixture(
    journey_record: JourneyRecord, stores: Stores, tmp_path_factory: pytest.TempPathFactory
) -> Rejection:
    """Run the rag → fine_tuning check (approvers: ana, bob); answer it badly, then reject it."""
    seen: dict[str, Any] = {"empty": None, "unknown": None}

    def resume(run: str, answer: dict[str, Any]) -> dict[str, Any]:
        return httpx.post(
            f"{PREFECT_API_URL.value()}/flow_runs/{run}/resume",
            json={"run_input": answer},
            timeout=30,
        ).json()

    def respond(approval: Approval) -> None:
        run = approval.flow_run_id
        api = PREFECT_API_URL.value()
        keyset = httpx.get(f"{api}/flow_runs/{run}", timeout=30).json()["state"]["state_details"]
        schema_key = keyset["run_input_keyset"]["schema"]
        seen["schema"] = httpx.get(f"{api}/flow_runs/{run}/input/{schema_key}", timeout=30).json()
        try:
            give_answer(run, approve=True, reason="", approver="bob")
        except ApprovalError as exc:
            seen["empty"] = exc
        try:
            give_answer(run, approve=True, reason="looks fine", approver="eve")
        except ApprovalError as exc:
            seen["unknown"] = exc
        seen["refused"] = {label: resume(run, answer) for label, answer in REFUSED.items()}
        seen["wrong_type"] = resume(
            run, {"approve": "perhaps", "reason": "why not", "approver": "bob"}
        )
        seen["paused"] = flow_run_state(run).is_paused()
        with store_session(journey.store_url) as session:
            seen["decision"] = get_decision_by_run(run, session=session)
        seen["approval"] = approval_row(journey.store_url, run)
        reject_command(USE_CASE, REJECTER["reason"], REJECTER["approver"], wait=0)

    with pytest.MonkeyPatch.context() as monkeypatch:
        journey = start_from(
            journey_record,
            stores,
            "rag",
            monkeypatch,
            tmp_path_factory.mktemp("rejection"),
            approval={"approvers": APPROVERS},
        )
        with store_session(journey.store_url) as session:
            version_before = require_use_case(USE_CASE, session=session).version
        approver = Approver(journey.store_url, respond).start()
        step = run_check(journey)
        approver.join()
    get_settings.cache_clear()
    return Rejection(
        journey,
        step,
        seen["empty"],
        seen["wrong_type"],
        seen["paused"],
        seen["decision"],
        seen["approval"],
        seen["schema"],
        seen["refused"],
        seen["unknown"],
        version_before,
    )

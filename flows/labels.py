"""Flow run names and tags from the work, so the Prefect UI's search and filters find a run.

Each function but `name_check_run` is a `flow_run_name=` callable: Prefect calls it once, as
the run starts, inside the run's context. Besides returning the name (`support-qa · build rag`)
it adds the run's tags (`use-case:support-qa`, `phase:rag`) to those it already has (a
deployment's, a caller's), since `@flow(tags=...)` only takes fixed ones. The phase check
names and tags itself (`name_check_run`) once it has read its use case, so that its name costs
no read of the store of its own.
"""

from datetime import UTC, datetime

from prefect.context import FlowRunContext

from state.domain import UseCase
from state.errors import PhasegateError
from state.phases import Phase
from state.settings import get_settings
from state.store_api import Store

SEP = " · "


def _run_context() -> FlowRunContext:
    """The context of the flow run being named."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise RuntimeError("a flow run name is resolved inside its flow run")
    return context


def _tag(tags: list[str]) -> dict:
    """Add `tags` to the running flow run's own; returns its parameters."""
    context = _run_context()
    known = list(context.flow_run.tags)
    new = [t for t in tags if t not in known]
    if new:
        context.client.update_flow_run(context.flow_run.id, tags=known + new)
        context.flow_run.tags = known + new
    return context.parameters


def _rename(name: str, tags: list[str]) -> None:
    """Give the running flow run `name` and add `tags` to its own, in one API call."""
    context = _run_context()
    known = list(context.flow_run.tags)
    tags = known + [t for t in tags if t not in known]
    context.client.update_flow_run(context.flow_run.id, name=name, tags=tags)
    context.flow_run.name, context.flow_run.tags = name, tags


def _phase_of(use_case: str) -> tuple[Phase, bool] | None:
    """The use case's active phase and whether it has a configuration; None if unreadable."""
    try:
        found = Store(get_settings().store_url).require_use_case(use_case)
    except PhasegateError:
        return None  # the flow itself reports the unknown use case or the bad store
    return found.active_phase, found.active_configuration_id is not None


def _use_case_tags(use_case: str, *phases: tuple[str, Phase]) -> list[str]:
    """`use-case:<name>` and one `<key>:<phase>` tag per pair."""
    return [f"use-case:{use_case}"] + [f"{key}:{phase.value}" for key, phase in phases]


def name_check_run(use_case: str, found: UseCase | None) -> None:
    """Name the running check `support-qa · rag→fine_tuning` (or `· baseline`) and tag it.

    Called by the check once it has read its use case (`found`; None when it could not), so
    that naming reads nothing of the store; one call to the Prefect API sets name and tags.
    """
    if found is None:
        _rename(f"{use_case}{SEP}check", _use_case_tags(use_case))
        return
    phase = found.active_phase
    if found.active_configuration_id is None:
        tags = _use_case_tags(use_case, ("phase", phase)) + ["baseline"]
        _rename(f"{use_case}{SEP}baseline", tags)
    elif phase.next is None:
        _rename(
            f"{use_case}{SEP}{phase.value} (last phase)", _use_case_tags(use_case, ("phase", phase))
        )
    else:
        tags = _use_case_tags(use_case, ("phase", phase), ("to-phase", phase.next))
        _rename(f"{use_case}{SEP}{phase.value}→{phase.next.value}", tags)


def _builder_name(phase: Phase) -> str:
    use_case = _run_context().parameters["use_case"]
    _tag(_use_case_tags(use_case, ("phase", phase)) + ["build"])
    return f"{use_case}{SEP}build {phase.value}"


def build_prompting_run_name() -> str:
    """`support-qa · build prompting`, tagged with the use case and `phase:prompting`."""
    return _builder_name(Phase.PROMPTING)


def build_rag_run_name() -> str:
    """`support-qa · build rag`, tagged with the use case and `phase:rag`."""
    return _builder_name(Phase.RAG)


def build_fine_tuning_run_name() -> str:
    """`support-qa · build fine_tuning`, tagged with the use case and `phase:fine_tuning`."""
    return _builder_name(Phase.FINE_TUNING)


def hybrid_run_name() -> str:
    """`support-qa · hybrid`, tagged with the use case and `phase:fine_tuning`."""
    use_case = _run_context().parameters["use_case"]
    _tag(_use_case_tags(use_case, ("phase", Phase.FINE_TUNING)) + ["hybrid"])
    return f"{use_case}{SEP}hybrid"


def monitor_use_case_run_name() -> str:
    """`support-qa · monitor fine_tuning`, tagged with the use case and its active phase."""
    use_case = _run_context().parameters["use_case"]
    found = _phase_of(use_case)
    phases = () if found is None else (("phase", found[0]),)
    _tag(_use_case_tags(use_case, *phases) + ["monitor"])
    return f"{use_case}{SEP}monitor" + ("" if found is None else f" {found[0].value}")


def monitor_run_name() -> str:
    """`monitor 2026-12-02 14:05` (UTC), or `monitor support-qa` for one use case."""
    use_case = _tag(["monitor"]).get("use_case")
    if use_case is not None:
        _tag([f"use-case:{use_case}"])
        return f"monitor {use_case}"
    return f"monitor {datetime.now(UTC):%Y-%m-%d %H:%M}"


def sweep_run_name() -> str:
    """`sweep 2026-12-02` (the UTC date it ran), tagged `sweep`."""
    _tag(["sweep"])
    return f"sweep {datetime.now(UTC):%Y-%m-%d}"


def rollout_run_name() -> str:
    """`support-qa · canary 10 %` (the live rollout's step), tagged with the use case."""
    use_case = _run_context().parameters["use_case"]
    try:
        live = Store(get_settings().store_url).get_live_rollout(use_case)
    except PhasegateError:
        live = None  # the flow itself reports the unknown use case or the bad store
    _tag(_use_case_tags(use_case) + ["rollout"])
    return f"{use_case}{SEP}" + (live.label if live else "rollout")


def rollouts_run_name() -> str:
    """`rollouts 2026-12-02 14:05` (UTC)."""
    _tag(["rollout"])
    return f"rollouts {datetime.now(UTC):%Y-%m-%d %H:%M}"

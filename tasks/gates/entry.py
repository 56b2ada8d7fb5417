"""Entry checks: is the next phase needed (quality, volume) and possible (data, privacy)?"""

from collections.abc import Sequence

from state.domain import GateResult
from state.phases import GateStatus, Stage
from tasks.gates.inputs import (
    GateInputs,
    Objective,
    fine_tuning_thresholds,
    rag_thresholds,
)
from tasks.gates.results import INCONCLUSIVE, PASS, Gate, gate, passed

ENTRY = Stage.ENTRY
#: Part of `need` (in its evidence), never a result of its own.
NEED_VOLUME = Gate("need_volume", ENTRY, "count")


@gate("need_quality", ENTRY)
def gate_need_quality(inputs: GateInputs, this: Gate) -> GateResult:
    """Pass when the active configuration scores below the target: the next phase is needed."""
    target, run = inputs.thresholds.target, inputs.baseline
    if run is None or run.n == 0:
        detail = "no scored eval run of the active configuration yet"
        return this.result(INCONCLUSIVE, detail, threshold=target)
    needed = run.mean < target
    detail = (
        f"active quality {run.mean:.3f} ({run.metric}, n={run.n}) "
        f"{'is below' if needed else 'meets'} the target {target:.3f}"
    )
    return this.result(
        passed(needed),
        detail,
        observed=run.mean,
        threshold=target,
        active_eval_run_id=run.id,
        n=run.n,
    )


def _need_volume(inputs: GateInputs, this: Gate = NEED_VOLUME) -> GateResult:
    """Pass when the 30-day volume reaches the break-even volume."""
    volume, minimum = (
        inputs.volume_30d,
        fine_tuning_thresholds(inputs).break_even_volume,
    )
    needed = volume >= minimum
    verb = "reaches" if needed else "is below"
    detail = f"{volume} queries in 30 days {verb} the break-even volume {minimum}"
    return this.result(passed(needed), detail, observed=volume, threshold=minimum)


@gate("need", ENTRY)
def gate_need(inputs: GateInputs, this: Gate) -> GateResult:
    """Pass when fine-tuning is needed for quality or for volume: either need suffices."""
    quality, volume = gate_need_quality(inputs), _need_volume(inputs)
    # Volume is always known, so without it the quality answer decides (inconclusive included).
    status = PASS if volume.status == PASS else quality.status
    met = [name for name, r in (("quality", quality), ("volume", volume)) if r.status == PASS]
    return this.result(
        status,
        f"{quality.detail}; {volume.detail}",
        observed=" and ".join(met) or "none",
        threshold=f"quality < {quality.threshold} or 30-day volume ≥ {volume.threshold}",
        need_quality=quality.model_dump(mode="json"),
        need_volume=volume.model_dump(mode="json"),
    )


@gate("data_documents", ENTRY, unit="count")
def gate_data_documents(inputs: GateInputs, this: Gate) -> GateResult:
    """Pass when enough knowledge documents and chunks exist to retrieve from."""
    gate, documents, chunks = rag_thresholds(inputs), inputs.documents, inputs.chunks
    enough = documents >= gate.min_documents and chunks >= gate.min_chunks
    detail = (
        f"{documents} documents in {chunks} chunks; "
        f"at least {gate.min_documents} and {gate.min_chunks} needed"
    )
    return this.result(
        passed(enough),
        detail,
        observed=documents,
        threshold=gate.min_documents,
        documents=documents,
        chunks=chunks,
        min_documents=gate.min_documents,
        min_chunks=gate.min_chunks,
    )


@gate("data_examples", ENTRY, unit="count")
def gate_data_examples(inputs: GateInputs, this: Gate) -> GateResult:
    """Pass when enough clean training examples exist to fine-tune on."""
    examples, minimum = (
        inputs.clean_examples,
        fine_tuning_thresholds(inputs).min_examples,
    )
    detail = f"{examples} clean training examples; at least {minimum} needed"
    return this.result(
        passed(examples >= minimum),
        detail,
        observed=examples,
        threshold=minimum,
        clean_examples=examples,
        min_examples=minimum,
    )


@gate("privacy", ENTRY)
def gate_privacy(inputs: GateInputs, this: Gate) -> GateResult:
    """Fail when data may not leave the company but the fine-tuning endpoint is external."""
    external_api, self_hosted = inputs.constraints.external_api, inputs.self_hosted
    allowed = external_api or self_hosted
    endpoint = "self-hosted" if self_hosted else "external"
    rule = "any endpoint" if external_api else "self-hosted only (constraints.external_api: false)"
    detail = f"the fine-tuning endpoint is {endpoint}; the spec allows {rule}"
    return this.result(
        passed(allowed),
        detail,
        observed=endpoint,
        threshold=rule,
        external_api=external_api,
        self_hosted=self_hosted,
    )


def move_objective(entry: Sequence[GateResult]) -> tuple[Objective, str]:
    """Why the move is made, read from the entry's `need`: for quality, or for cost alone.

    Cost alone is the RAG → fine-tuning need met by volume while the active quality already
    meets its target; every other need (including an unknown quality) asks for a real gain.
    """
    need = next((r for r in entry if r.check == "need"), None)
    if need is None:
        return Objective.QUALITY, "the move is needed for quality"
    quality, volume = need.evidence["need_quality"], need.evidence["need_volume"]
    if quality["status"] == GateStatus.FAIL and volume["status"] == GateStatus.PASS:
        reason = (
            f"the active quality {quality['observed']:.3f} meets its target "
            f"{quality['threshold']:.3f} and the move is needed for volume alone "
            f"({volume['observed']} queries in 30 days ≥ {volume['threshold']}), so it is "
            "judged for cost at equal quality"
        )
        return Objective.COST, reason
    return Objective.QUALITY, "the move is needed for quality, so it must show a real gain"

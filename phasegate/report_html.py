"""A self-contained HTML report of one use case: chart, decisions, gates, costs, eval runs.

The markup is the Jinja2 template `phasegate/templates/report.html.j2` (autoescaped); this
module reads the store into `ReportData` and lays out the chart's geometry for the template.
"""

from dataclasses import dataclass, field
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from phasegate.report_format import FILTERS, gate_value, when
from phasegate.report_links import RunLinks
from phasegate.report_next import compared, next_step
from state.domain import EvalRun, ReportRead, configuration_label
from state.phases import GateStatus
from state.store_api import Store
from tasks.guardrail_metrics import summarise_metrics

PHASE_COLOURS = {"prompting": "#6b7280", "rag": "#2563eb", "fine_tuning": "#16a34a"}
#: Runs of no configuration (`phasegate eval` of a prompt variant).
CLI_COLOUR = "#9333ea"
STATUS_COLOURS = {
    GateStatus.PASS: "#16a34a",
    GateStatus.FAIL: "#dc2626",
    GateStatus.INCONCLUSIVE: "#d97706",
}
SLOT, LEFT, TOP, PLOT_HEIGHT, BELOW = 88, 56, 10, 230, 80


@dataclass(frozen=True)
class ReportData(ReportRead):
    """What the store holds, how people name its configurations, and where flow runs link."""

    links: RunLinks = RunLinks()
    labels: dict[int, str] = field(default_factory=dict)

    def flow_run_url(self, flow_run_id: str | None) -> str | None:
        """The Prefect UI page of a flow run, when that UI still holds it."""
        return self.links.url(flow_run_id)

    def label(self, configuration_id: int | None) -> str:
        """A configuration as the CLI names it (`few-shot + RAG top-3`), `—` for none."""
        if configuration_id is None:
            return "—"
        return self.labels.get(configuration_id, f"#{configuration_id}")

    def phase_of(self, run: EvalRun) -> str | None:
        """The phase of the configuration a run scored, or None for a prompt variant alone."""
        config = self.configurations.get(run.configuration_id or -1)
        return config.phase.value if config else None


def load_report(
    use_case: str, *, store_url: str, ui_url: str | None = None, links: RunLinks | None = None
) -> ReportData:
    """Read a use case, its decisions, every eval run and their configurations.

    `links`: which flow runs to link (`report_links.run_links`); else every one, to `ui_url`.
    """
    store = Store(store_url)
    read = store.read_report(use_case)
    labels = {}
    for config_id, config in read.configurations.items():
        version = store.get_prompt_version(config.prompt_version_id)
        labels[config_id] = configuration_label(config, version.variant.name if version else None)
    return ReportData(**vars(read), links=links or RunLinks(ui_url=ui_url), labels=labels)


def _y(value: float) -> float:
    return TOP + PLOT_HEIGHT * (1 - max(0.0, min(1.0, value)))


def chart(data: ReportData) -> dict:
    """Geometry of the metric chart: one slot per eval run in time order, dated below."""
    runs = sorted(data.eval_runs, key=lambda r: (r.created_at is None, r.created_at, r.id or 0))
    points, last_day = [], None
    for index, run in enumerate(runs):
        phase = data.phase_of(run)
        day = when(run.created_at)[:10]
        points.append(
            {
                "x": LEFT + SLOT * (index + 0.5),
                "mean": _y(run.mean),
                "low": _y(run.ci_low),
                "high": _y(run.ci_high),
                "colour": PHASE_COLOURS.get(phase or "", CLI_COLOUR),
                "label": f"#{run.id} {phase or run.purpose}",
                "day": day if day != last_day else "",
                "time": when(run.created_at)[11:16],
                "run": run,
            }
        )
        last_day = day
    width = max(900, LEFT + SLOT * len(runs) + 20)
    ticks = [{"y": _y(t), "label": f"{t:.2f}"} for t in (0.0, 0.25, 0.5, 0.75, 1.0)]
    return {
        "width": width,
        "height": TOP + PLOT_HEIGHT + BELOW,
        "axis_y": TOP + PLOT_HEIGHT,
        "left": LEFT,
        "points": points,
        "ticks": ticks,
    }


def costs(data: ReportData) -> list[dict]:
    """The break-even of every move that priced one: training, per query, savings, months."""
    configs = {run.id: run.configuration_id for run in data.eval_runs}
    rows = []
    for decision in data.decisions:
        for gate in decision.gate_results:
            evidence = gate.evidence
            if gate.check == "cost_break_even" and "training_cost" in evidence:
                names = [data.label(configs.get(run_id)) for run_id in decision.eval_run_ids]
                rows.append(
                    {"decision": decision, "gate": gate, "compared": " → ".join(names), **evidence}
                )
    return rows


def per_query(data: ReportData) -> list[dict]:
    """The latest eval run of each configuration: what a query costs in it."""
    latest = {r.configuration_id: r for r in data.eval_runs if r.configuration_id is not None}
    return [
        {"config": data.configurations[i], "run": run}
        for i, run in sorted(latest.items())
        if i in data.configurations
    ]


def used_by(data: ReportData) -> dict[int, list[int]]:
    """The decisions that cite each eval run."""
    cited: dict[int, list[int]] = {}
    for decision in data.decisions:
        for run_id in decision.eval_run_ids:
            cited.setdefault(run_id, []).append(decision.id)
    return cited


def guardrail_metrics(data: ReportData) -> list[dict]:
    """Each eval run's guardrail metrics, every one with its 95 % interval."""
    guardrails = data.use_case.spec.guardrails
    if not guardrails:
        return []
    return [
        {"run": run, "metrics": summarise_metrics(run, guardrails)[1:]} for run in data.eval_runs
    ]


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("phasegate", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    env.globals.update(gate_value=gate_value, compared=compared, STATUS_COLOURS=STATUS_COLOURS)
    return env


def render_report(data: ReportData) -> str:
    """The report as one HTML document with inline CSS and SVG (no network to view it)."""
    legend = {**PHASE_COLOURS, "phasegate eval": CLI_COLOUR}
    newest = max(data.decisions, key=lambda d: d.id, default=None)
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            data=data,
            chart=chart(data),
            costs=costs(data),
            per_query=per_query(data),
            used_by=used_by(data),
            guardrails=guardrail_metrics(data),
            legend=legend,
            phase_colours=PHASE_COLOURS,
            next_step=next_step(data.use_case.name, newest),
        )
    )

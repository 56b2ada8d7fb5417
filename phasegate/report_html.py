"""A self-contained HTML report of one use case: timeline, metric chart, gate tables, costs."""

from dataclasses import dataclass
from html import escape

from state.domain import Configuration, Decision, EvalRun, UseCase

PHASE_COLOURS = {"prompting": "#6b7280", "rag": "#2563eb", "fine_tuning": "#16a34a"}
STATUS_COLOURS = {"pass": "#16a34a", "fail": "#dc2626", "inconclusive": "#d97706"}
CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#111827}
h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #e5e7eb}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #e5e7eb;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f9fafb}.muted{color:#6b7280}.pill{border-radius:9px;padding:0 .45rem;color:#fff}
"""


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, read from the store."""

    use_case: UseCase
    decisions: list[Decision]
    eval_runs: dict[int, EvalRun]
    configurations: dict[int, Configuration]


def _pill(text: str, colour: str) -> str:
    return f'<span class="pill" style="background:{colour}">{escape(text)}</span>'


def _chart(data: ReportData) -> str:
    runs = sorted(data.eval_runs.values(), key=lambda r: r.id or 0)
    if not runs:
        return '<p class="muted">No eval runs yet.</p>'
    width, height, left, bottom = 900, 300, 50, 60
    step = (width - left - 20) / max(len(runs), 1)
    # Inline SVG in HTML needs no xmlns: the file keeps no http(s) reference at all.
    parts = [
        f'<svg id="metric-chart" width="{width}" height="{height}" role="img" '
        'aria-label="metric per eval run">'
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = (height - bottom) * (1 - tick) + 10
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        parts.append(
            f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
            f"{tick:.2f}</text>"
        )
    for index, run in enumerate(runs):
        config = data.configurations.get(run.configuration_id or -1)
        phase = config.phase.value if config else "prompting"
        colour = PHASE_COLOURS.get(phase, "#111827")
        x = left + step * (index + 0.5)

        def y_of(value: float) -> float:
            return (height - bottom) * (1 - max(0.0, min(1.0, value))) + 10

        parts.append(
            f'<line x1="{x:.1f}" y1="{y_of(run.ci_low):.1f}" x2="{x:.1f}" '
            f'y2="{y_of(run.ci_high):.1f}" stroke="{colour}" stroke-width="2"/>'
        )
        parts.append(
            f'<rect x="{x - 9:.1f}" y="{y_of(run.mean) - 4:.1f}" width="18" height="8" '
            f'fill="{colour}"><title>run {run.id}: {run.mean:.3f} '
            f"[{run.ci_low:.3f}, {run.ci_high:.3f}]</title></rect>"
        )
        label = f"#{run.id} {phase}"
        parts.append(
            f'<text x="{x:.1f}" y="{height - bottom + 28}" font-size="10" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    parts.append("</svg>")
    legend = " ".join(_pill(p, c) for p, c in PHASE_COLOURS.items())
    return "".join(parts) + f"<p>{legend} mean with its 95 % bootstrap interval</p>"


def _timeline(data: ReportData) -> str:
    rows = "".join(
        f"<tr><td>{d.id}</td><td>{d.created_at:%Y-%m-%d %H:%M}</td><td>{escape(d.kind)}</td>"
        f"<td>{escape(d.from_phase)} → {escape(d.to_phase)}</td><td>{escape(d.decided_by)}</td>"
        f"<td>{escape(d.reason)}</td></tr>"
        for d in data.decisions
    )
    head = "<tr><th>#</th><th>when (UTC)</th><th>decision</th><th>phase</th><th>by</th>"
    return f"<table>{head}<th>reason</th></tr>{rows}</table>"


def _gates(decision: Decision) -> str:
    if not decision.gate_results:
        return ""
    rows = "".join(
        f"<tr><td>{escape(g.stage)}</td><td>{escape(g.check)}</td>"
        f"<td>{_pill(g.status, STATUS_COLOURS[g.status])}</td><td>{escape(str(g.observed))}</td>"
        f"<td>{escape(str(g.threshold))}</td><td>{escape(g.detail)}</td></tr>"
        for g in decision.gate_results
    )
    return (
        f"<h3>Decision {decision.id}: {escape(decision.kind)} "
        f"({escape(decision.from_phase)} → {escape(decision.to_phase)})</h3><table><tr>"
        "<th>stage</th><th>check</th><th>status</th><th>observed</th><th>threshold</th>"
        f"<th>detail</th></tr>{rows}</table>"
    )


def _costs(data: ReportData) -> str:
    rows = "".join(
        f"<tr><td>{run.id}</td><td>{run.configuration_id}</td><td>{run.n}</td>"
        f"<td>{run.mean:.3f}</td><td>{run.prompt_tokens_per_query:.0f}</td>"
        f"<td>{run.completion_tokens_per_query:.0f}</td><td>{run.latency_p95_ms:.0f}</td>"
        f"<td>{'—' if run.cost_per_query is None else f'${run.cost_per_query:.6f}'}</td></tr>"
        for run in sorted(data.eval_runs.values(), key=lambda r: r.id or 0)
    )
    head = (
        "<tr><th>eval run</th><th>configuration</th><th>n</th><th>mean</th>"
        "<th>prompt tokens/query</th><th>completion tokens/query</th><th>p95 ms</th>"
        "<th>cost/query</th></tr>"
    )
    return f"<table>{head}{rows}</table>"


def render_report(data: ReportData) -> str:
    """The report as one HTML document with inline CSS and SVG (no network)."""
    use_case = data.use_case
    gates = "".join(_gates(d) for d in data.decisions) or '<p class="muted">No gates yet.</p>'
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Phasegate — {escape(use_case.name)}</title><style>{CSS}</style></head><body>"
        f"<h1>{escape(use_case.name)}</h1><p class=muted>{escape(use_case.spec.description)}</p>"
        f"<p>Active phase: {_pill(use_case.active_phase, PHASE_COLOURS[use_case.active_phase])}"
        f" · metric <b>{escape(use_case.spec.metric)}</b> · spec {use_case.spec_hash[:12]}</p>"
        f"<h2>Metric per eval run</h2>{_chart(data)}"
        f"<h2>Decisions</h2>{_timeline(data)}<h2>Gates</h2>{gates}"
        f"<h2>Costs and tokens</h2>{_costs(data)}</body></html>"
    )

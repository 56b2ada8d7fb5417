"""What the commands print for people: status, history and prompt tables.

Identifiers (names, phases, decisions, models, labels, hashes) are never cut: their columns do
not wrap, descriptions give way first, and where even the identifiers do not fit the console's
width a table turns into one block per row. On a terminal a description that does not fit is
cut with … (the person can widen the window); into a pipe (a file, a CI log) nothing is cut:
descriptions that do not fit follow the table, one per row, wrapped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from phasegate.report_format import gate_value
from state.phases import GateStatus

if TYPE_CHECKING:  # only types: printing needs none of the store's modules
    from state.domain import Decision, LeaseBreak, LeaseInfo, PromptVersion, StatusRow

MIN_DESCRIPTION = 8
STATUS_STYLE = {GateStatus.PASS: "green", GateStatus.FAIL: "red", GateStatus.INCONCLUSIVE: "yellow"}


def when(moment: datetime) -> str:
    """A timestamp as people read it (UTC, minutes)."""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def minute(moment: datetime) -> str:
    """A timestamp in a column headed `(UTC)`."""
    return moment.strftime("%Y-%m-%d %H:%M")


def describe_configuration(row: StatusRow) -> str:
    """What the model column leaves out: configuration id, retrieval, routing, approval."""
    parts = [] if row.configuration_id is None else [f"#{row.configuration_id}"]
    if row.retrieval:
        parts.append(f"top-{row.retrieval.get('top_k')} {row.retrieval.get('retriever')}")
    if row.routed:
        parts.append("hybrid")
    if row.pending_to_phase is not None:
        parts.append(f"approval pending → {row.pending_to_phase}")
    if row.retiring is not None:
        parts.append(f"retiring: {row.retiring}")
    return " · ".join(parts) or "—"


def _width(console: Console, table: Table) -> int:
    """The narrowest the table can be drawn without cutting a cell that may not be cut."""
    return Measurement.get(console, console.options.update_width(100_000), table).minimum


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    """A table whose columns never wrap and are never narrower than their widest cell."""
    table = Table(
        title=title,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        collapse_padding=True,
    )
    for index, name in enumerate(columns):
        widest = max((cell_len(row[index]) for row in rows), default=0)
        table.add_column(name, no_wrap=True, min_width=max(widest, cell_len(name)))
    return table


def _records(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    described: bool,
    cut: bool = True,
) -> Group:
    """One block per row, a `column: value` line per cell.

    Identifier lines are never cut; a description (the last column when `described`) is cut
    with … at the console's width when `cut`, else wrapped.
    """
    lines = [Text(title, style="bold")]
    last = len(columns) - 1
    for row in rows:
        lines.append(Text(""))
        lines += [
            Text(
                f"{column}: {value}",
                no_wrap=not (described and index == last and not cut),
                overflow="ellipsis" if described and index == last else "ignore",
            )
            for index, (column, value) in enumerate(zip(columns, row, strict=True))
        ]
    return Group(*lines)


def _view(
    console: Console,
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str | Text]],
    *,
    description: str | None = None,
    key: int = 0,
) -> RenderableType:
    """Identifier columns in full, then an optional description column that fits or gives way.

    Where the identifiers alone do not fit the console's width, one block per row instead.
    A description too wide for what is left is cut with … on a terminal; into a pipe it moves
    below the table, one wrapped paragraph per row headed by the row's `key` column.
    """
    plain = [[str(cell) for cell in row] for row in rows]
    table = _table(title, columns, [row[: len(columns)] for row in plain])
    left = console.width - _width(console, table) - 2
    cut = console.is_terminal
    if left < (MIN_DESCRIPTION if description else -2):
        names = [*columns, description] if description else list(columns)
        return _records(title, names, plain, described=description is not None, cut=cut)
    widest = max((cell_len(row[-1]) for row in plain), default=0) if description else 0
    below = bool(description) and not cut and widest > left
    if description and not below:
        table.add_column(description, no_wrap=True, overflow="ellipsis", max_width=left)
    for row in rows:
        table.add_row(*(row[: len(columns)] if below else row))
    if not below:
        return table
    paragraphs = [Text(f"{row[key]} — {description}: {row[-1]}") for row in plain]
    return Group(table, *paragraphs)


def status_view(console: Console, rows: Sequence[StatusRow]) -> RenderableType:
    """The status table: one row per use case."""
    columns = ["use case", "phase", "model", "decision", "queries/30d"]
    cells = [
        [
            row.name,
            row.phase,
            "—" if row.model is None else row.model,
            row.last_decision or "—",
            f"{row.volume_30d:,}",
            describe_configuration(row),
        ]
        for row in rows
    ]
    return _view(console, "Use cases", columns, cells, description="configuration")


def gates_view(console: Console, decision: Decision) -> RenderableType:
    """The gate results of one decision, each with its detail."""
    title = (
        f"decision #{decision.id}: {decision.kind} ({decision.from_phase} → "
        f"{decision.to_phase}) by {decision.decided_by}"
    )
    cells = [
        [
            g.stage,
            g.check,
            Text(g.status, style=STATUS_STYLE[g.status]),
            gate_value(g.check, g.observed),
            gate_value(g.check, g.threshold),
            g.detail,
        ]
        for g in decision.gate_results
    ]
    columns = ["stage", "check", "status", "observed", "threshold"]
    return _view(console, title, columns, cells, description="detail", key=1)


def history_view(
    console: Console, name: str, decisions: list[Decision], *, gates: bool = False
) -> RenderableType:
    """The decisions of a use case, one line each; with `gates`, the gate results of each."""
    cells = [
        [
            str(d.id),
            minute(d.created_at),
            d.kind,
            f"{d.from_phase}→{d.to_phase}",
            d.decided_by,
            d.reason,
        ]
        for d in decisions
    ]
    columns = ["#", "when (UTC)", "decision", "move", "by"]
    view = _view(console, f"History of {name}", columns, cells, description="reason")
    if not gates:
        return view
    return Group(view, *(gates_view(console, d) for d in decisions if d.gate_results))


def prompts_view(console: Console, use_case: str, versions: list[PromptVersion]) -> RenderableType:
    """The prompt library of a use case."""
    columns = ["id", "version", "kind", "content hash", "created (UTC)"]
    cells = [
        [str(v.id), v.label, v.variant.kind, v.content_hash[:12], f"{v.created_at:%Y-%m-%d %H:%M}"]
        for v in versions
    ]
    return _view(console, f"Prompt versions of {use_case}", columns, cells)


def leases_view(
    console: Console, held: list[LeaseInfo], broken: list[LeaseBreak], now: datetime
) -> RenderableType:
    """The check leases held now, then the latest breaks (newest first)."""
    if held:
        columns = ["use case", "flow run", "host", "pid", "since (UTC)", "heartbeat (UTC)"]
        cells = [
            [
                lease.use_case,
                lease.flow_run_id,
                lease.host,
                str(lease.pid),
                minute(lease.acquired_at),
                minute(lease.renewed_at),
                "live" if lease.expires_at > now else "stale: the next check takes it over",
            ]
            for lease in held
        ]
        shown = _view(console, "Check leases", columns, cells, description="state")
    else:
        shown = Text("no lease is held")
    if not broken:
        return shown
    columns = ["use case", "flow run", "host", "broken by", "when (UTC)"]
    cells = [
        [b.use_case, b.flow_run_id, b.host, b.broken_by, minute(b.broken_at), b.reason]
        for b in broken
    ]
    title = "Broken leases (newest first)"
    return Group(shown, _view(console, title, columns, cells, description="reason"))

"""Rich tables for people: status, history, usage."""

from datetime import datetime

from rich.console import Group
from rich.table import Table

from state.domain import Configuration, Decision, UseCase

STATUS_STYLE = {"pass": "green", "fail": "red", "inconclusive": "yellow"}


def when(moment: datetime) -> str:
    """A timestamp as people read it (UTC, minutes)."""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def describe_configuration(config: Configuration | None) -> str:
    """One line naming what a configuration calls."""
    if config is None:
        return "—"
    parts = [f"#{config.id} {config.phase}", config.model]
    if config.retrieval:
        parts.append(f"top-{config.retrieval.get('top_k')} {config.retrieval.get('retriever')}")
    if config.routing:
        parts.append("hybrid")
    return " · ".join(parts)


def status_table(
    rows: list[tuple[UseCase, Configuration | None, Decision | None, int, str]],
) -> Table:
    """The status table: one row per use case."""
    table = Table(title="Use cases", header_style="bold")
    for column in ("use case", "phase", "active configuration", "last decision", "30-day volume"):
        table.add_column(column, justify="right" if column == "30-day volume" else "left")
    table.add_column("pending")
    for use_case, config, decision, volume, pending in rows:
        last = f"{decision.kind} · {when(decision.created_at)}" if decision else "—"
        table.add_row(
            use_case.name,
            use_case.active_phase,
            describe_configuration(config),
            last,
            f"{volume:,}",
            pending,
        )
    return table


def _value(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else "—" if value is None else str(value)


def gates_table(decision: Decision) -> Table:
    """The gate results of one decision."""
    table = Table(
        title=f"decision #{decision.id}: {decision.kind} ({decision.from_phase} → "
        f"{decision.to_phase}) by {decision.decided_by}",
        title_justify="left",
        header_style="bold",
    )
    for column in ("stage", "check", "status", "observed", "threshold"):
        table.add_column(column, no_wrap=column != "threshold")
    for gate in decision.gate_results:
        table.add_row(
            gate.stage,
            gate.check,
            f"[{STATUS_STYLE[gate.status]}]{gate.status}[/]",
            _value(gate.observed),
            _value(gate.threshold),
        )
    return table


def history_table(name: str, decisions: list[Decision]) -> Group:
    """The decisions of a use case, then the gate results of each."""
    table = Table(title=f"History of {name}", header_style="bold")
    for column in ("#", "when", "decision", "phase", "by", "reason"):
        table.add_column(column, no_wrap=column in ("#", "decision"))
    for decision in decisions:
        table.add_row(
            str(decision.id),
            when(decision.created_at),
            decision.kind,
            f"{decision.from_phase} → {decision.to_phase}",
            decision.decided_by,
            decision.reason,
        )
    return Group(table, *(gates_table(d) for d in decisions if d.gate_results))

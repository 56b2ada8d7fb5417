"""Rich tables for people: status, history, usage."""

from datetime import datetime

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


def history_table(name: str, decisions: list[Decision]) -> Table:
    """The decision history of one use case, each with its gate results."""
    table = Table(title=f"History of {name}", header_style="bold", show_lines=True)
    for column in ("#", "when", "decision", "phase", "by", "gates", "reason"):
        table.add_column(column)
    for decision in decisions:
        gates = "\n".join(
            f"[{STATUS_STYLE[g.status]}]{g.status:<12}[/] {g.check}: {g.observed} vs {g.threshold}"
            for g in decision.gate_results
        )
        table.add_row(
            str(decision.id),
            when(decision.created_at),
            decision.kind,
            f"{decision.from_phase} → {decision.to_phase}",
            decision.decided_by,
            gates or "—",
            decision.reason,
        )
    return table

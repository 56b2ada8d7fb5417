"""`phasegate status` and `phasegate history`: what every use case is doing, and why."""

from phasegate.cli.app import app, console, store_session, today


@app.command()
def status() -> None:
    """Show every use case: phase, active configuration, last decision, volume."""
    from phasegate.cli.views import status_table
    from state import store, usage
    from state.approvals import pending_approvals

    rows = []
    with store_session() as session:
        volumes = usage.volumes(today=today(), session=session)
        pending = {a.use_case: a for a in pending_approvals(session=session)}
        for use_case in store.list_use_cases(session=session):
            config = (
                store.get_configuration(use_case.active_configuration_id, session=session)
                if use_case.active_configuration_id
                else None
            )
            last = store.list_decisions(use_case.name, session=session, limit=1)
            waiting = pending.get(use_case.name)
            note = f"approval → {waiting.to_phase}" if waiting else ""
            rows.append(
                (use_case, config, last[-1] if last else None, volumes[use_case.name], note)
            )
    console.print(status_table(rows))


@app.command()
def history(use_case: str) -> None:
    """Show the decisions of a use case with their gate results."""
    from phasegate.cli.views import history_table
    from state import store

    with store_session() as session:
        decisions = store.list_decisions(use_case, session=session)
    if not decisions:
        console.print(f"{use_case}: no decisions yet (run `phasegate check {use_case}`)")
        return
    console.print(history_table(use_case, decisions))

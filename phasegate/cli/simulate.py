"""`phasegate simulate traffic`: an application's traffic through the signed API (demo, tests)."""

from typing import Annotated

import typer

from phasegate.cli.app import app, console, require_use_case

simulate_app = typer.Typer(help="Simulate what applications do.", no_args_is_help=True)
app.add_typer(simulate_app, name="simulate")


@simulate_app.command("traffic")
def simulate_traffic_command(
    use_case: str,
    rate: Annotated[float, typer.Option(help="interactions per simulated second (> 0)")],
    duration: Annotated[
        str, typer.Option("--for", help="simulated time to run: seconds, or 90s, 30m, 24h, 2d")
    ],
    speed: Annotated[
        float,
        typer.Option(help="simulated seconds per real second: 60 runs an hour in a minute"),
    ] = 1.0,
    api_url: Annotated[
        str, typer.Option(help="the webhook API (`phasegate webhook`)")
    ] = "http://127.0.0.1:8787",
    drop_arm: Annotated[
        str | None,
        typer.Option(help="serve but never report this arm's interactions (an arm's name)"),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="seed of the keys and questions")] = None,
) -> None:
    """Read /active with random keys, call the served configuration, report rated interactions."""
    from phasegate.traffic import Traffic, simulate_traffic, webhook_secret
    from state.errors import InputError
    from state.settings import get_settings
    from state.spec_rollout import parse_duration

    try:
        seconds = float(parse_duration(duration.strip()))
    except ValueError:
        raise InputError(
            f"--for: {duration!r} is not a duration (seconds, or 90s, 30m, 24h, 2d)"
        ) from None
    require_use_case(use_case)
    traffic = Traffic(rate=rate, duration=seconds, speed=speed, drop_arm=drop_arm, seed=seed)
    secret = webhook_secret(get_settings(), use_case)
    tally = simulate_traffic(use_case, traffic, api_url=api_url, secret=secret)
    for arm in sorted(tally.served):
        mean = tally.mean_rating(arm)
        rating = f"mean rating {mean:.3f}" if mean is not None else "no rating"
        console.print(
            f"{use_case} {arm}: served {tally.served[arm]:,}, reported {tally.reported[arm]:,}, "
            f"dropped {tally.dropped[arm]:,}, errors {tally.errors[arm]:,}, {rating} "
            f"(configuration {', '.join(map(str, sorted(tally.configurations[arm])))})"
        )

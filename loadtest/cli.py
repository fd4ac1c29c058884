"""The `ocop-market loadtest` command (registered in market/cli.py)."""

from datetime import datetime
from pathlib import Path

import click

from loadtest import run as runner
from loadtest.scenario import DEFAULT_PROFILE, DEFAULT_SCENARIO, ScenarioError
from loadtest.slo import DEFAULT_SLO, ObjectivesError


def default_output() -> Path:
    return Path("artifacts", "loadtest", datetime.now().strftime("%Y%m%d-%H%M%S"))


@click.command("loadtest")
@click.option(
    "--database-url",
    help="A PostgreSQL database to create for the run (or an empty one), e.g. "
    "postgresql+psycopg://postgres@127.0.0.1:5432/ocop_load  [default: SQLite in --output]",
)
@click.option("--stalls", type=click.IntRange(1, 5000), default=10, show_default=True)
@click.option("--users", type=click.IntRange(1, 100_000), default=10, show_default=True)
@click.option("--spawn-rate", type=click.FloatRange(min=0.1), default=5.0, show_default=True)
@click.option(
    "--run-time",
    type=click.IntRange(1, runner.MAX_RUN_SECONDS),
    default=60,
    show_default=True,
    help="Seconds of load.",
)
@click.option(
    "--warmup",
    type=click.IntRange(0, runner.MAX_RUN_SECONDS),
    help="Seconds of the run before the figures start [default: a quarter, at most 10].",
)
@click.option(
    "--profile",
    default=DEFAULT_PROFILE,
    show_default=True,
    help="Profile of the scenario: market-night (everyone) or stalls (the capacity figure).",
)
@click.option(
    "--scenario",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEFAULT_SCENARIO,
    show_default=True,
)
@click.option(
    "--slo",
    "objectives",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEFAULT_SLO,
    show_default=True,
    help="Service-level objectives the run must meet.",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the report, CSV stats, logs and summary [default: artifacts/loadtest/<time>].",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Gunicorn workers [default: as `serve`: 1 on SQLite, 2 per core on PostgreSQL].",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 1000),
    help="Threads per gunicorn worker [default: as `serve`].",
)
@click.option(
    "--redis-url",
    help="The server's REDIS_URL, e.g. redis://127.0.0.1:6379/0: a payment's change wakes the "
    "screens waiting for it in every worker at once [default: none, each worker its own].",
)
@click.option(
    "--processes",
    type=click.IntRange(0, 64),
    default=0,
    show_default=True,
    help="Locust worker processes forked under a master (its --processes); 0: one process.",
)
@click.option(
    "--expect-workers",
    type=click.IntRange(0, 64),
    default=0,
    show_default=True,
    help="Run a Locust master that waits for this many workers you start (it prints how).",
)
@click.option("--keep-database", is_flag=True, help="Keep the database for inspection.")
def loadtest_command(output: Path | None, **options: object) -> None:
    """Load-test a fresh server with Locust; judge slo.toml and audit the money afterwards.

    Exit status 0: objectives met and audit clean; 1: an objective missed; 3: the audit found
    money or stock lost or counted twice; 4: the run failed.
    """
    settings = runner.RunOptions(output=output or default_output(), **options)  # type: ignore[arg-type]
    try:
        status = runner.run(settings, echo=click.echo)
    except (runner.RunError, ScenarioError, ObjectivesError) as error:
        click.echo(f"load test failed: {error}", err=True)
        raise SystemExit(runner.RUN_FAILED) from error
    except KeyboardInterrupt:
        click.echo("interrupted: everything the run started was stopped", err=True)
        raise SystemExit(130) from None
    raise SystemExit(status)

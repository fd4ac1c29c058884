"""`ocop-market simulate`: play market days of a scenario into the database or a running server.

Modes: `fast` writes through the bulk checkout and ledger (market.sales.bulk, payments.bulk:
checkout's and the ledger's rules, a chunk of sales per transaction, on PostgreSQL written by a
thread while the next chunk is computed) at simulated times; `live` drives a running
server over HTTP (market/simulator/live.py) at the wall-clock time; `offline` writes nothing
but the --export files. Every run ends with its calibration table (calibration.py), and with
--export also writes its ledger and a PaySim-compatible CSV (exports.py).

Live mode shares the server's database, as `ocop-market users create` does: it creates an
administrator account and token there, builds the world through the API with it, and flags the
new markets as simulated there, which the API rightly cannot do, so that reports label what the
run wrote. Point DATABASE_URL at the server's database and SIMBANK_WEBHOOK_SECRET at its secret
(the demo prints it).
"""

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Protocol

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from market.accounts.services import create_user, issue_token
from market.core.clock import vietnam_today
from market.core.extensions import db
from market.core.principals import Role
from market.markets.models import Market
from market.simulator.behaviour import Event, Sale, play
from market.simulator.calibration import Figures, calibrate, format_calibration
from market.simulator.exports import LEDGER_CSV, LEDGER_PARQUET, PAYSIM_CSV, Exporter
from market.simulator.live import DEFAULT_URL, Api, LiveError, LivePlayer, Pace, create_world
from market.simulator.scenario import Scenario, ScenarioError, builtin_scenarios, load_scenario
from market.simulator.store import BulkPlayer, Tally, chunk_writer, run_key
from market.simulator.world import World, build_world
from market.simulator.world_store import store_world_bulk
from payments.gateways.fake import FakeCardGateway


@dataclass
class _Progress:
    """How far a run has come: events applied, and the last day shown on the bar."""

    day: date
    events: int = 0


@click.command("simulate")
@click.option(
    "--scenario",
    default="cao-bang-kim-dong",
    show_default=True,
    help=f"A built-in scenario ({', '.join(builtin_scenarios())}) or a TOML file.",
)
@click.option("--days", type=click.IntRange(1, 3660), default=90, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d"]),
    help="First simulated day (local). Default: so that the run ends yesterday; live: today.",
)
@click.option(
    "--mode",
    type=click.Choice(["fast", "live", "offline"]),
    default="fast",
    show_default=True,
    help="fast: write through the service layer as quickly as it goes, at simulated times. "
    "live: drive the server at --url over HTTP, now. offline: only write --export.",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="live: simulated seconds per real second (60: a minute a second); 0: no waiting. "
    "Gaps of over an hour with nothing to send are skipped.",
)
@click.option("--url", default=DEFAULT_URL, show_default=True, help="live: the server's address.")
@click.option(
    "--export",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Write {LEDGER_CSV}, {LEDGER_PARQUET} and {PAYSIM_CSV} of the run into this folder.",
)
@with_appcontext
def simulate_command(
    scenario: str,
    days: int,
    seed: int,
    start,
    mode: str,
    speed: float,
    url: str,
    export: Path | None,
) -> None:
    """Generate a scenario's market, vendors and shoppers and play its market days."""
    if start:
        first: date = start.date()
    else:
        first = vietnam_today() if mode == "live" else vietnam_today() - timedelta(days=days)
    if mode == "fast":
        play_scenario(db.engine, scenario, first, days, seed, export)
    elif mode == "live":
        play_live(url, speed, scenario, first, days, seed, export)
    elif export is None:
        raise click.UsageError("--mode offline writes only --export files: give --export DIR.")
    else:
        plan, world = _world(scenario, seed)
        with _observed(plan, world, first, days, seed, export) as (events, figures):
            for _ in events:
                pass
        click.echo(format_calibration(calibrate(figures)))


def play_scenario(
    engine: Engine, scenario: str, first: date, days: int, seed: int, export: Path | None = None
) -> Tally:
    """Store a scenario's world and play `days` from `first`, showing progress and a summary."""
    plan, world = _world(scenario, seed)
    gateway = current_app.extensions["card_gateway"] or FakeCardGateway()
    started = time.perf_counter()
    with Session(engine, expire_on_commit=False) as session:
        stored = store_world_bulk(session, world, first)
        session.commit()
        _announce(plan, world, first, days, seed)
        # On PostgreSQL a process of its own writes the chunks, so checkout and writing use two
        # cores; SQLite has one writer at a time, so there the player writes them itself.
        writer = chunk_writer(engine)
        player = BulkPlayer(session, stored, gateway, run_key(world, first), writer=writer)
        try:
            figures = _play_days(player, plan, world, first, days, seed, export)
        finally:
            if writer is not None:  # after a failure, still write what was handed over
                writer.close()
    _summarise(player.tally, time.perf_counter() - started, figures)
    return player.tally


def play_live(
    url: str,
    speed: float,
    scenario: str,
    first: date,
    days: int,
    seed: int,
    export: Path | None = None,
) -> Tally:
    """Create a scenario's world on the server at `url` and send it the run's sales, paced."""
    plan, world = _world(scenario, seed)
    secret = current_app.config["SIMBANK_WEBHOOK_SECRET"]
    if not secret:
        raise click.UsageError(
            "Set SIMBANK_WEBHOOK_SECRET to the server's (the demo prints it): live transfers "
            "reach the server as signed bank notifications."
        )
    with db.state.sessionmaker.begin() as session:
        admin = create_user(session, f"Simulator ({plan.name}, seed {seed})", Role.ADMIN)
        token = issue_token(session, admin, label="simulate --mode live").token
    api = Api(url)
    try:
        try:
            api.call("GET", "/api/v1/me", token=token)
        except (LiveError, OSError) as error:
            raise click.UsageError(
                f"Cannot use the server at {url} with this command's database "
                f"({db.engine.url.render_as_string()}): {error}"
            ) from error
        started = time.perf_counter()
        created = create_world(api, token, world)
        with db.state.sessionmaker.begin() as session:
            session.execute(
                update(Market).where(Market.id.in_(created.markets.values())).values(simulated=True)
            )
        click.echo(f"world created through the API in {time.perf_counter() - started:,.1f} s")
        _announce(plan, world, first, days, seed)
        started = time.perf_counter()
        player = LivePlayer(api, created, secret, Pace(speed))
        figures = _play_days(player, plan, world, first, days, seed, export)
    except LiveError as error:
        raise click.ClickException(str(error)) from error
    finally:
        api.close()
    _summarise(player.tally, time.perf_counter() - started, figures, live=True)
    return player.tally


class _Player(Protocol):
    def play(
        self, events: Iterable[Event], on_event: Callable[[Event], None] | None = None
    ) -> None: ...

    def finish(self) -> None: ...


def _play_days(
    player: _Player,
    plan: Scenario,
    world: World,
    first: date,
    days: int,
    seed: int,
    export: Path | None,
) -> Figures:
    """Play the scenario's days with a progress bar; return the figures for calibration."""
    with (
        _observed(plan, world, first, days, seed, export) as (events, figures),
        click.progressbar(length=days, label="market days", show_eta=True) as bar,
    ):
        player.play(events, _progress(bar, first))
        player.finish()
        bar.update(days)
    return figures


def _world(scenario: str, seed: int) -> tuple[Scenario, World]:
    try:
        plan = load_scenario(scenario)
    except (ScenarioError, FileNotFoundError) as error:
        raise click.UsageError(str(error)) from error
    return plan, build_world(plan, seed)


@contextmanager
def _observed(
    plan: Scenario, world: World, first: date, days: int, seed: int, export: Path | None
) -> Iterator[tuple[Iterator[Event], Figures]]:
    """Yield the run's events, counted for the calibration and exported as they pass."""
    figures = Figures(world, first)
    events = figures.observe(play(world, plan, first, days, seed))
    if export is None:
        yield events, figures
        return
    with Exporter(export, world, first) as exporter:
        yield exporter.tee(events), figures
    click.echo(f"{exporter.rows:,} payments written to {export}")


def _announce(plan: Scenario, world: World, first: date, days: int, seed: int) -> None:
    click.echo(
        f"{plan.title}: {len(world.markets)} market(s), {len(world.stalls)} stalls, "
        f"{len(world.products)} OCOP products; playing {days} days from {first} (seed {seed})"
    )


def _progress(bar, first: date) -> Callable[[Event], None]:
    """Return a callback that moves the bar a day at a time."""
    shown = _Progress(first)

    def progress(event: Event) -> None:
        shown.events += 1
        today = event.at.date()
        if isinstance(event, Sale) and today > shown.day:
            bar.update((today - shown.day).days)
            shown.day = today

    return progress


def _summarise(tally: Tally, seconds: float, figures: Figures, live: bool = False) -> None:
    expired = (
        "unpaid codes left to the server's expiry job"
        if live
        else f"{tally.expired:,} QR codes expired"
    )
    click.echo(
        f"{tally.sales:,} sales ({tally.sales / seconds:,.0f}/s), {tally.transfers:,} bank "
        f"transfers, {tally.cards:,} card payments, {expired}, "
        f"{tally.adoptions:,} vendors took up QR; {seconds:,.1f} s"
    )
    click.echo(format_calibration(calibrate(figures)))

"""`ocop-market simulate`: play market days of a scenario into the database, with progress."""

import time
from dataclasses import dataclass
from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from market.core.clock import vietnam_today
from market.core.extensions import db
from market.simulator.behaviour import Event, Sale, play
from market.simulator.scenario import ScenarioError, builtin_scenarios, load_scenario
from market.simulator.store import Player, Tally, store_world
from market.simulator.world import build_world
from payments.gateways.fake import FakeCardGateway

COMMIT_EVERY = 500  # events per transaction: a crash loses at most this many


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
    help="First simulated day (local). Default: so that the run ends yesterday.",
)
@click.option(
    "--mode",
    type=click.Choice(["fast"]),
    default="fast",
    show_default=True,
    help="fast: write through the service layer as quickly as it goes.",
)
@with_appcontext
def simulate_command(scenario: str, days: int, seed: int, start, mode: str) -> None:
    """Generate a scenario's market, vendors and shoppers and play its market days."""
    first: date = start.date() if start else vietnam_today() - timedelta(days=days)
    play_scenario(db.engine, scenario, first, days, seed)


def play_scenario(engine: Engine, scenario: str, first: date, days: int, seed: int) -> Tally:
    """Store a scenario's world and play `days` from `first`, showing progress and a summary."""
    try:
        plan = load_scenario(scenario)
    except (ScenarioError, FileNotFoundError) as error:
        raise click.UsageError(str(error)) from error
    world = build_world(plan, seed)
    gateway = current_app.extensions["card_gateway"] or FakeCardGateway()
    started = time.perf_counter()
    with Session(engine, expire_on_commit=False) as session:
        stored = store_world(session, world, first)
        session.commit()
        click.echo(
            f"{plan.title}: {len(world.markets)} market(s), {len(world.stalls)} stalls, "
            f"{len(world.products)} OCOP products; playing {days} days from {first} (seed {seed})"
        )
        player = Player(session, stored, gateway)
        with click.progressbar(length=days, label="market days", show_eta=True) as bar:
            shown = _Progress(first)

            def progress(event: Event) -> None:
                shown.events += 1
                if shown.events % COMMIT_EVERY == 0:
                    session.commit()
                today = event.at.date()
                if isinstance(event, Sale) and today > shown.day:
                    bar.update((today - shown.day).days)
                    shown.day = today

            player.play(play(world, plan, first, days, seed), progress)
            player.finish()
            session.commit()
            bar.update(days)
    seconds = time.perf_counter() - started
    tally = player.tally
    click.echo(
        f"{tally.sales:,} sales ({tally.sales / seconds:,.0f}/s), {tally.transfers:,} bank "
        f"transfers, {tally.cards:,} card payments, {tally.expired:,} QR codes expired, "
        f"{tally.adoptions:,} vendors took up QR; {seconds:,.1f} s"
    )
    return tally

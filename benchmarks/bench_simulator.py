"""Fast mode's throughput: generate and store N simulated sales, streamed, into one database.

The issue's target: a PaySim-sized month, 6.4 million transactions, generated and stored into
PostgreSQL in at most 10 minutes, in under 2 GB of memory whatever N. A transaction is one
checkout: its order and lines, its payment intent and events, and for the money that arrived
its ledger row (and bank notification), with the roll-ups the reports read.

The scenario is Kim Đồng with every stall category multiplied (so that a month of nights holds
N sales) and open every night; the run plays from 2026-10-15, so the launch campaign falls in
it, and stops after N sales. It goes through market.simulator.store.BulkPlayer, as
`ocop-market simulate --mode fast` does. Printed: sales and rows per second, elapsed time, time
per phase (generate: the behaviour's event stream; compute: checkout and payments in memory;
write: COPY/executemany, roll-ups and commits), the peak RSS of the player and of the writer
process, and the load average.

PostgreSQL: a scratch database whose name contains "bench" is created (dropped first) and
dropped at the end unless --keep. SQLite: a file, by default in a temporary folder.

    .venv/bin/python benchmarks/bench_simulator.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1/ocop_bench_sim
    .venv/bin/python benchmarks/bench_simulator.py --database-url sqlite:////tmp/sim.sqlite3 \
        --transactions 1000000 [--chunk 20000] [--profile FILE] [--no-overlap] [--keep]
"""

import argparse
import cProfile
import math
import os
import re
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from importlib import resources
from pathlib import Path

from bench_checkout import create_database, drop_database, scratch_url
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from market import migrate
from market.core.db import create_db_engine
from market.places.services import load_places
from market.sales.models import Order, OrderLine
from market.simulator.behaviour import Event, Sale, play
from market.simulator.scenario import load_scenario
from market.simulator.store import (
    CHUNK_SALES,
    BulkPlayer,
    Player,
    chunk_writer,
    run_key,
    store_world,
)
from market.simulator.world import build_world
from market.simulator.world_store import store_world_bulk
from payments.gateways.fake import FakeCardGateway
from payments.models import BankNotification, LedgerEntry, PaymentEvent, PaymentIntent

PAYSIM_MONTH = 6_400_000
START = date(2026, 10, 15)
DAYS = 31
SALES_PER_STALL_NIGHT = 22  # Kim Đồng's mix, measured: a little under, so a month holds N
STALLS = 70  # Kim Đồng's stall count, the unit the mix is multiplied by
SEED = 7


def load_average() -> str:
    return "load average {:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())


def scaled_scenario(folder: Path, transactions: int) -> Path:
    """Write Kim Đồng with its stall mix multiplied so that a month of nights holds N sales."""
    factor = max(1, math.ceil(transactions / DAYS / STALLS / SALES_PER_STALL_NIGHT))
    text = (
        resources.files("market.simulator")
        .joinpath("scenarios", "cao-bang-kim-dong.toml")
        .read_text("utf-8")
    )
    text = re.sub(
        r"^count = (\d+)$", lambda m: f"count = {int(m[1]) * factor}", text, flags=re.MULTILINE
    )
    text = re.sub(
        r"^qr_boards = (\d+)$",
        lambda m: f"qr_boards = {int(m[1]) * factor}",
        text,
        flags=re.MULTILINE,
    )
    text = text.replace("days = [5, 6]", "days = [1, 2, 3, 4, 5, 6, 7]")
    path = folder / "kim-dong-scaled.toml"
    path.write_text(text, encoding="utf-8")
    return path


class Clock:
    """Seconds spent generating events and writing chunks; the rest of the run is compute."""

    def __init__(self) -> None:
        self.generate = self.write = 0.0

    def timed(self, events: Iterator[Event], limit: int) -> Iterator[Event]:
        """Yield `events` until `limit` sales have passed, timing the generator."""
        sales = 0
        while True:
            started = time.perf_counter()
            event = next(events, None)
            self.generate += time.perf_counter() - started
            if event is None:
                return
            if isinstance(event, Sale):
                if sales == limit:
                    return
                sales += 1
            yield event


class TimedPlayer(BulkPlayer):
    clock: Clock

    def flush(self) -> None:
        started = time.perf_counter()
        super().flush()
        self.clock.write += time.perf_counter() - started

    def finish(self) -> None:
        Player.finish(self)
        started = time.perf_counter()
        self.flush()
        if self.writer is not None:
            self.writer.close()
        self.clock.write += time.perf_counter() - started


def run(
    url: str,
    transactions: int,
    chunk: int,
    profile: Path | None,
    overlap: bool,
    service_world: bool = False,
    world_size: int | None = None,
) -> None:
    engine = create_db_engine(url)
    print(f"database: {engine.url.render_as_string()}; {load_average()}", flush=True)
    started = time.perf_counter()
    migrate.upgrade(engine)
    with Session(engine) as session, session.begin():
        load_places(session)
    with tempfile.TemporaryDirectory() as folder:
        scenario = load_scenario(scaled_scenario(Path(folder), world_size or transactions))
    world = build_world(scenario, SEED)
    with Session(engine, expire_on_commit=False) as session:
        store = store_world if service_world else store_world_bulk
        storing = time.perf_counter()
        stored = store(session, world, START)
        session.commit()
        storing = time.perf_counter() - storing
        print(
            f"world: {len(world.stalls):,} stalls, {len(world.listings):,} listings, "
            f"{len(world.vendors):,} vendors, stored in {storing:,.1f} s"
            f" ({'services' if service_world else 'bulk'}; {time.perf_counter() - started:,.1f} s"
            f" with migrating and generating); {load_average()}",
            flush=True,
        )
        clock = Clock()
        writer = chunk_writer(engine) if overlap else None
        player = TimedPlayer(
            session, stored, FakeCardGateway(), run_key(world, START), chunk, writer=writer
        )
        player.clock = clock
        events = clock.timed(play(world, scenario, START, DAYS, SEED), transactions)
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        player.play(events)
        player.finish()
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        elapsed = time.perf_counter() - started
        rows = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (
                Order,
                OrderLine,
                PaymentIntent,
                PaymentEvent,
                LedgerEntry,
                BankNotification,
            )
        }
    engine.dispose()
    tally = player.tally
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    memory = f"peak RSS {peak:,.0f} MB"
    if writer is not None:  # all waited for by now: the largest of the children that ended
        writer_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        memory += (
            f", writer processes {writer_peak:,.0f} MB (forked: counting the pages they share"
            " with the player, so the sum overstates)"
        )
    total_rows = sum(rows.values())
    compute = elapsed - clock.generate - clock.write
    print(
        f"{tally.sales:,} sales in {elapsed:,.1f} s: {tally.sales / elapsed:,.0f} sales/s, "
        f"{total_rows:,} rows ({total_rows / elapsed:,.0f} rows/s)\n"
        f"  {tally.transfers:,} transfers, {tally.cards:,} cards, {tally.expired:,} expired, "
        f"{tally.adoptions:,} adoptions\n"
        f"  rows: {', '.join(f'{name} {count:,}' for name, count in rows.items())}\n"
        f"  phases: generate {clock.generate:,.1f} s, compute {compute:,.1f} s, "
        f"write {clock.write:,.1f} s"
        f"{' (waiting for the writer)' if overlap else ''}\n"
        f"  {memory}; {load_average()}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--transactions", type=int, default=PAYSIM_MONTH)
    parser.add_argument("--chunk", type=int, default=CHUNK_SALES)
    parser.add_argument("--profile", type=Path, help="write cProfile stats to this file")
    parser.add_argument(
        "--world-for",
        type=int,
        help="size the world for this many transactions (default: --transactions)",
    )
    parser.add_argument(
        "--service-world",
        action="store_true",
        help="store the world through the services one entity at a time (the slow path)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument(
        "--no-overlap",
        action="store_true",
        help="PostgreSQL: write each chunk in the player's process instead of a writer process",
    )
    args = parser.parse_args()
    raw = args.database_url
    if raw is None:
        raw = f"sqlite:///{tempfile.mkdtemp(prefix='bench_sim_')}/sim.sqlite3"
    if make_url(raw).get_backend_name() == "sqlite":
        run(
            raw,
            args.transactions,
            args.chunk,
            args.profile,
            False,
            args.service_world,
            args.world_for,
        )
        return
    url = scratch_url(raw)
    create_database(url)
    try:
        run(
            url.render_as_string(hide_password=False),
            args.transactions,
            args.chunk,
            args.profile,
            overlap=not args.no_overlap,
            service_world=args.service_world,
            world_size=args.world_for,
        )
    finally:
        if not args.keep:
            drop_database(url)


if __name__ == "__main__":
    sys.exit(main())

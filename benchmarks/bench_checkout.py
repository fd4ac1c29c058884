"""Checkout and bank-webhook throughput under gunicorn on PostgreSQL, against a one-row insert.

One gunicorn server (gthread, 2 workers per core as `ocop-market serve` runs them on PostgreSQL,
4 threads each; `--workers` and `--threads` change both) serves the project's own app plus two
benchmark-only routes that `reference_app()` below adds:

- GET  /bench/hello   hello world (context only);
- POST /bench/insert  the reference: insert one row into the scratch table `bench_rows` through
                      the app's own SQLAlchemy session, committed by the app's own after_request.

wrk (Debian package `wrk`, scripted by benchmarks/wrk/bench.lua) then loads, one scenario after
the other, each with a warm-up, the same connections and the same server:

- reference  POST /bench/insert;
- checkout   POST /api/v1/orders, one line, method vietqr, an Idempotency-Key of its own as
             the shop's apps send: order, stock reserved, VietQR intent; at the stalls of one
             market in turn, one stall per connection unless `--stalls` says otherwise (a stall
             serves one shopper at a time; the market's month roll-up is shared by all, in
             its 16 shards);
- webhook    POST /api/v1/webhooks/bank/simbank, every request a distinct notification signed
             as the simulator's bank signs them, paying a distinct pending order (the checkout
             run's orders, topped up with more unmeasured checkouts when they are too few).

`serve` itself runs 100 threads a worker, so that every waiting vendor screen can hold one.
Under this load that costs checkout and webhook a fifth of their throughput, and one thread a
worker gains them a sixth: a checkout costs the server 2.4 ms of CPU and PostgreSQL 0.7 with one
thread, 2.9 and 1.3 with 100. Most likely the threads of a process take turns at the interpreter
lock at every round trip, and more transactions at once queue on the same rows (README).

Targets: checkout and webhook each reach 50 % of the reference's requests per second with a
p95 latency under 50 ms. Afterwards the database must show each webhook request as exactly one
matched notification, one money_received event, one ledger row and one paid intent. CPU time
per request (server, PostgreSQL) and what other processes on the machine used are printed too.
Exits 1 when a target is missed or a check fails, 2 when wrk is missing.

Everything runs in a scratch PostgreSQL database that is created (dropped first if it exists)
and dropped at the end; its name must contain "bench".

    .venv/bin/python benchmarks/bench_checkout.py [--database-url URL] [--seconds 20]
        [--connections 20] [--workers N] [--threads N] [--py-spy DIR]

gunicorn imports this module (`bench_checkout:reference_app()`): keep it free of side effects.
"""

import argparse
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask import Flask
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    create_engine,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from loadtest.run import start_server
from market.cli import serving_app
from market.core.access import ANYONE, allow
from market.core.clock import VIETNAM
from market.core.db import utcnow
from market.core.extensions import db

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
LUA_SCRIPT = BENCH_DIR / "wrk" / "bench.lua"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/ocop_bench_checkout"
PROTECTED_DATABASES = frozenset({"test", "ocop_dev", "postgres", "template0", "template1"})

TARGET_RATIO = 0.5
TARGET_P95_MS = 50.0
BUSY_OTHERS_WARNING = 0.25  # of one core, on average: other processes perturb the figures
# The reference saturates the cores; below this it waited on something else (seen: the disk's
# flushes), and the ratios against it are not the code's.
REFERENCE_BUSY_WARNING = 0.85
ACCOUNT = "0011001234567"  # the vendor's payout account, which the notifications pay into
BANK_BIN = "970436"  # Vietcombank
PRICE_VND = 10_000
THUC_PHAN = "01273"  # Phường Thục Phán, Cao Bằng
WEBHOOK_PATH = "/api/v1/webhooks/bank/simbank"

# The reference endpoint's table: created with plain SQL in the scratch database only, never
# part of the app's schema or migrations.
bench_rows = Table(
    "bench_rows",
    MetaData(),
    Column("id", BigInteger, primary_key=True),
    Column("payload", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
BENCH_ROWS_DDL = (
    "CREATE TABLE bench_rows (id bigserial PRIMARY KEY, payload varchar(64) NOT NULL, "
    "created_at timestamptz NOT NULL)"
)


# --------------------------------------------------------------------------------------------
# The app gunicorn serves: the project's app plus the benchmark's own routes.


def reference_app() -> Flask:
    """Return the project's app, as `serve`'s workers build it, with the two routes added."""
    app = serving_app()

    def bench_hello() -> dict[str, str]:
        return {"hello": "world"}

    @allow(ANYONE)
    def bench_insert() -> tuple[dict[str, bool], int]:
        # The app's session; its after_request hook commits, exactly as for the real endpoints.
        db.session.execute(insert(bench_rows).values(payload="reference", created_at=utcnow()))
        return {"inserted": True}, 201

    app.add_url_rule("/bench/hello", "bench_hello", bench_hello, methods=["GET"])
    app.add_url_rule("/bench/insert", "bench_insert", bench_insert, methods=["POST"])
    return app


# --------------------------------------------------------------------------------------------
# Output


START = time.monotonic()


def progress(message: str) -> None:
    print(f"[{time.monotonic() - START:6.1f}s] {message}", flush=True)


# --------------------------------------------------------------------------------------------
# The scratch database


def scratch_url(raw: str) -> URL:
    url = make_url(raw)
    if url.get_backend_name() != "postgresql":
        raise SystemExit("--database-url must be a PostgreSQL URL (postgresql+psycopg://...)")
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    name = url.database or ""
    if name in PROTECTED_DATABASES or "bench" not in name:
        raise SystemExit(
            f"refusing to use database {name!r}: this benchmark drops and recreates its database, "
            "so its name must contain 'bench' (default: ocop_bench_checkout)"
        )
    return url


def _on_admin_database(url: URL, *statements: str) -> None:
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def create_database(url: URL) -> None:
    _on_admin_database(
        url,
        f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)',
        f'CREATE DATABASE "{url.database}"',
    )


def drop_database(url: URL) -> None:
    _on_admin_database(url, f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


@dataclass(frozen=True)
class Shop:
    stall_id: int
    listing_id: int


def prepare_database(engine: Engine, stalls: int) -> list[Shop]:
    """Migrate, load places, and seed a market, a vendor and its stalls, each with a listing."""
    # Imported here: gunicorn's workers import this module and need none of this.
    from market import migrate
    from market.accounts.services import create_user
    from market.core.principals import Principal, Role
    from market.markets.models import MarketKind, StallCategory
    from market.markets.services import create_market, open_stall
    from market.places.services import load_places
    from market.vendors.services import create_listing, register_vendor

    migrate.upgrade(engine)
    progress("database migrated")
    with Session(engine) as session, session.begin():
        result = load_places(session)
    progress(f"places loaded ({result.communes_added} communes)")
    with Session(engine) as session, session.begin():
        user = create_user(session, "Người bán (benchmark)", Role.VENDOR)
        actor = Principal(user.id, user.role)
        register_vendor(
            session,
            actor,
            display_name="Quầy nước mía (benchmark)",
            bank_bin=BANK_BIN,
            account_number=ACCOUNT,
            account_holder="NGUOI BAN BENCHMARK",
        )
        market = create_market(
            session,
            name="Chợ 4.0 (benchmark)",
            commune_code=THUC_PHAN,
            kind=MarketKind.MARKET_4_0,
            market_class=3,
            schedule=[{"days": [0, 1, 2, 3, 4, 5, 6], "opens": "05:00", "closes": "22:00"}],
        )
        shops = []
        for number in range(1, stalls + 1):
            stall = open_stall(
                session,
                actor,
                market_id=market.id,
                code=f"KD-{number:02d}",
                name=f"Nước mía {number}",
                category=StallCategory.DRINKS,
            )
            listing = create_listing(
                session,
                actor,
                stall_id=stall.id,
                title="Nước mía",
                unit="cốc",
                price_vnd=PRICE_VND,
                stock=10**9,
            )
            shops.append(Shop(stall.id, listing.id))
    with engine.begin() as connection:
        connection.execute(text(BENCH_ROWS_DDL))
    progress(f"seeded {stalls} stalls of one market, a listing each (stock 10^9), bench_rows")
    return shops


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def settled_count(engine: Engine, sql: str, quiet_seconds: float = 1.0) -> int:
    """Let requests still in flight when wrk stopped finish, then return the count."""
    last = count(engine, sql)
    while True:
        time.sleep(quiet_seconds)
        now = count(engine, sql)
        if now == last:
            return now
        last = now


# --------------------------------------------------------------------------------------------
# The server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """gunicorn serving reference_app(), in a process group of its own."""

    def __init__(
        self, url: URL, secret: str, workers: int, threads: int, connections: int, log_dir: Path
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / "gunicorn.log"
        gunicorn = Path(sys.executable).parent / "gunicorn"
        # As `ocop-market serve` configures it (market/cli.py), without the access log.
        self.command = [
            str(gunicorn),
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(workers),
            "--threads", str(threads),
            "--worker-class", "gthread",
            # wrk opens all its connections at once and keeps them: uncapped, one worker took
            # most of them (seen: 15/1/2/2 and 10/0/10/0 of 20), and each run's p95 and ratios
            # depended on which worker won that race. Capped, each takes its share, as the
            # short connections of many shoppers spread.
            "--worker-connections", str(math.ceil(connections / workers)),
            "--graceful-timeout", "10",
            "--error-logfile", "-",
            "--log-level", "warning",
            "--chdir", str(ROOT),
            "--pythonpath", str(BENCH_DIR),
            "bench_checkout:reference_app()",
        ]  # fmt: skip
        self.env = {
            **os.environ,
            "DATABASE_URL": url.render_as_string(hide_password=False),
            "SIMBANK_WEBHOOK_SECRET": secret,
            # wrk sends everything from one address: limits so high they never refuse, so the
            # limiter's own cost stays in the figures and no request is a 429.
            "RATELIMIT_CHECKOUT": "1000000000/minute",
            "RATELIMIT_WEBHOOKS": "1000000000/minute",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        self.process = start_server(self.command, self.env, self.log_path, self.base, timeout)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def worker_pids(self) -> list[int]:
        return [pid for pid, info in _processes().items() if info.ppid == self.pid]

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)  # gunicorn: graceful shutdown of its workers
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the group we started (start_new_session)
            process.wait(timeout=5)


# --------------------------------------------------------------------------------------------
# CPU accounting from /proc: who used the two cores during a run


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcessInfo:
    ppid: int
    pgrp: int
    comm: str
    ticks: int
    cmdline: str


def _processes() -> dict[int, ProcessInfo]:
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                raw = stat.read()
            comm = raw[raw.index("(") + 1 : raw.rindex(")")]
            fields = raw[raw.rindex(")") + 2 :].split()
            cmdline = ""
            if comm == "postgres":
                with open(f"/proc/{entry}/cmdline", "rb") as command:
                    cmdline = command.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        found[int(entry)] = ProcessInfo(
            ppid=int(fields[1]),
            pgrp=int(fields[2]),
            comm=comm,
            ticks=int(fields[11]) + int(fields[12]),  # utime + stime
            cmdline=cmdline,
        )
    return found


def _machine_ticks() -> list[int]:
    """Return the whole machine's clock ticks since boot, by kind (the first line of /proc/stat)."""
    with open("/proc/stat") as stat:
        return [int(value) for value in stat.readline().split()[1:]]


@dataclass
class CpuUse:
    """Cores used on average during a run, by group."""

    seconds: float
    cores: dict[str, float]
    machine_busy: float  # fraction of all cores
    top_others: list[tuple[str, float]]  # the busiest other processes: (pid and name, cores)

    def ms_per_request(self, group: str, requests: int) -> float:
        return self.cores.get(group, 0.0) * self.seconds * 1000 / requests if requests else 0.0


class CpuMeter:
    """Attribute CPU time to the server, PostgreSQL, wrk, the profiler and everything else."""

    def __init__(self, server_pgid: int, database: str) -> None:
        self.server_pgid = server_pgid
        self.database = database

    def _group(self, info: ProcessInfo) -> str:
        if info.pgrp == self.server_pgid:
            return "server"
        if info.comm == "wrk":
            return "wrk"
        if info.comm == "py-spy":
            return "profiler"
        if info.comm == "postgres":
            words = info.cmdline.split()
            # "postgres: 15/main: USER DATABASE HOST(PORT) STATE" is a client backend; the
            # others (walwriter, checkpointer, autovacuum...) serve every database.
            if len(words) >= 5 and ("(" in words[4] or words[4] == "[local]"):
                return "postgres" if words[3] == self.database else "others"
            return "postgres"
        return "others"

    def snapshot(self) -> tuple[float, dict[int, ProcessInfo], list[int]]:
        return time.monotonic(), _processes(), _machine_ticks()

    def since(self, start: tuple[float, dict[int, ProcessInfo], list[int]]) -> CpuUse:
        began, before, machine0 = start
        ended, after, machine1 = self.snapshot()
        seconds = ended - began
        ticks: Counter[str] = Counter()
        others: Counter[str] = Counter()
        for pid, info in after.items():
            earlier = before.get(pid)
            used = max(info.ticks - (earlier.ticks if earlier else 0), 0)
            group = self._group(info)
            ticks[group] += used
            if group == "others" and used:
                others[f"{pid} {info.comm}"] += used
        # /proc/stat: user nice system idle iowait irq softirq steal ...
        delta = [now - then for now, then in zip(machine1, machine0, strict=False)]
        total = max(sum(delta[:8]), 1)
        busy = total - delta[3] - delta[4]
        # CPU time of processes that ended during the run (the machine was busy, no live
        # process accounts for it) counts as others; time the hypervisor stole, as steal.
        ticks["steal"] = delta[7]
        unaccounted = busy - delta[5] - delta[6] - sum(ticks.values())
        ticks["others"] += max(unaccounted, 0)
        cores = {group: used / CLOCK_TICKS / seconds for group, used in ticks.items()}
        top = [(name, used / CLOCK_TICKS / seconds) for name, used in others.most_common(3)]
        return CpuUse(seconds, cores, busy / total, top)


# --------------------------------------------------------------------------------------------
# Load


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    sent: int
    spare: int
    cpu: CpuUse | None = None
    raw: str = field(repr=False, default="")

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def ok_requests(self) -> int:
        """Completed requests with a 2xx/3xx answer, not counting the spare GET /healthz."""
        return self.requests - self.errors.get("status", 0) - min(self.spare, self.requests)


@dataclass
class Load:
    server: Server
    meter: CpuMeter
    seconds: int
    warmup: int
    connections: int
    threads: int
    work: Path
    py_spy: str | None = None
    profile_dir: Path | None = None

    def run(self, name: str, path: str, script_args: list[str], seconds: int) -> Result:
        """Run wrk once and return its figures (and the CPU use while it ran)."""
        command = [
            "wrk",
            "--threads", str(self.threads),
            "--connections", str(self.connections),
            "--duration", f"{seconds}s",
            "--timeout", "10s",
            "--latency",
            "--script", str(LUA_SCRIPT),
            self.server.base + path,
            "--", *script_args,
        ]  # fmt: skip
        started = self.meter.snapshot()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        cpu = self.meter.since(started)
        line = next((x for x in done.stdout.splitlines() if x.startswith("BENCHJSON ")), None)
        if done.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        data = json.loads(line.removeprefix("BENCHJSON "))
        latency = data["latency_us"]
        return Result(
            name=name,
            requests=data["requests"],
            seconds=data["duration_us"] / 1e6,
            p50_ms=latency["p50"] / 1000,
            p90_ms=latency["p90"] / 1000,
            p95_ms=latency["p95"] / 1000,
            p99_ms=latency["p99"] / 1000,
            max_ms=latency["max"] / 1000,
            errors={key: value for key, value in data["errors"].items() if value},
            sent=data["sent"],
            spare=data["spare"],
            cpu=cpu,
            raw=done.stdout,
        )

    def warm(self, name: str, path: str, script_args: list[str]) -> Result | None:
        if not self.warmup:
            return None
        result = self.run(f"{name} warm-up", path, script_args, self.warmup)
        progress(describe(result))
        return result

    def measure(self, name: str, path: str, script_args: list[str], profile: str = "") -> Result:
        recorders = self._start_profiler(profile) if profile else []
        result = self.run(name, path, script_args, self.seconds)
        progress(describe(result))
        if recorders:
            self._finish_profiler(profile, recorders)
        return result

    def _start_profiler(self, scenario: str) -> list[tuple[subprocess.Popen[bytes], Path]]:
        if not (self.py_spy and self.profile_dir):
            return []
        recorders = []
        for pid in self.server.worker_pids():
            output = self.profile_dir / f"{scenario}-{pid}.txt"
            command = [
                self.py_spy, "record", "--pid", str(pid), "--duration", str(self.seconds),
                "--rate", "100", "--nonblocking", "--format", "raw", "--output", str(output),
            ]  # fmt: skip
            recorders.append(
                (subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
                 output)
            )  # fmt: skip
        return recorders

    def _finish_profiler(
        self, scenario: str, recorders: list[tuple[subprocess.Popen[bytes], Path]]
    ) -> None:
        for recorder, _ in recorders:
            try:
                recorder.wait(timeout=30)
            except subprocess.TimeoutExpired:
                recorder.terminate()
                recorder.wait(timeout=5)
        summarize_profile(scenario, [output for _, output in recorders if output.exists()])


def describe(result: Result) -> str:
    errors = ", ".join(f"{k} {v}" for k, v in result.errors.items()) or "no errors"
    line = (
        f"{result.name}: {result.requests} requests in {result.seconds:.1f} s = "
        f"{result.rps:.0f}/s, p50 {result.p50_ms:.1f} ms, p95 {result.p95_ms:.1f} ms, "
        f"p99 {result.p99_ms:.1f} ms, {errors}"
    )
    if result.cpu:
        cpu = result.cpu
        line += (
            f"; cpu/request: server {cpu.ms_per_request('server', result.requests):.1f} ms, "
            f"postgres {cpu.ms_per_request('postgres', result.requests):.1f} ms; "
            f"machine {cpu.machine_busy:.0%} busy, others {cpu.cores.get('others', 0):.2f} core, "
            f"steal {cpu.cores.get('steal', 0):.2f} core"
        )
    return line


# --------------------------------------------------------------------------------------------
# Profiles (optional, --py-spy DIR)


def summarize_profile(scenario: str, files: list[Path], top: int = 15) -> None:
    """Print the project's functions that the sampled worker threads spent most time in."""
    # py-spy names files relative to their sys.path entry ("market/sales/services.py").
    packages = ("market/", "payments/", "catalog/")
    project_roots = packages + tuple(f"{ROOT}/{package}" for package in packages)
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for path in files:
        for line in path.read_text(errors="replace").splitlines():
            stack, _, samples = line.rpartition(" ")
            if not samples.isdigit():
                continue
            total += int(samples)
            frames = stack.split(";")
            seen = set()
            for frame in frames:
                # py-spy raw frames: "function (path/to/file.py:line)"
                name, _, where = frame.partition(" (")
                file = where.rsplit(":", 1)[0]
                if file.startswith(project_roots):
                    key = f"{name} ({file.removeprefix(f'{ROOT}/')})"
                    if key not in seen:
                        inclusive[key] += int(samples)
                        seen.add(key)
            leaf_name, _, leaf_where = frames[-1].partition(" (")
            leaves[f"{leaf_name} ({leaf_where.rsplit('/', 1)[-1].rstrip(')')})"] += int(samples)
    if not total:
        progress(f"py-spy: no samples for {scenario}")
        return
    progress(f"py-spy {scenario}: {total} samples of the workers' busy threads")
    for key, samples in inclusive.most_common(top):
        print(f"    {samples / total:6.1%}  {key}")
    print("    where the samples end (leaf frames):")
    for key, samples in leaves.most_common(8):
        print(f"    {samples / total:6.1%}  {key}")


# --------------------------------------------------------------------------------------------
# Bank notifications


def pending_orders(engine: Engine) -> list[tuple[str, int]]:
    """Return (reference, amount) of every pending VietQR payment, the stalls' in turn.

    Each stall's oldest first, one stall after the other, so that the notifications in flight
    at once pay different stalls, as at a market where a stall sells to one shopper at a time.
    """
    from payments.models import PaymentIntent, PaymentMethod, PaymentStatus

    with Session(engine) as session:
        rows = session.execute(
            select(PaymentIntent.reference, PaymentIntent.amount_vnd)
            .where(
                PaymentIntent.status == PaymentStatus.PENDING,
                PaymentIntent.method == PaymentMethod.VIETQR,
            )
            .order_by(
                func.row_number().over(
                    partition_by=PaymentIntent.stall_id, order_by=PaymentIntent.id
                ),
                PaymentIntent.stall_id,
            )
        ).all()
    return [(reference, amount) for reference, amount in rows]


class Notifications:
    """Signed simbank notifications, one per pending order, each transaction id used once."""

    def __init__(self, secret: str, work: Path, wrk_threads: int) -> None:
        self.secret = secret
        self.work = work
        self.wrk_threads = wrk_threads
        self.next_id = 1

    def script_args(self, name: str, orders: list[tuple[str, int]]) -> list[str]:
        """Write the notifications paying `orders` and return wrk's script arguments.

        Built as tests/payments/banks.py builds them and signed with the current time (the
        server accepts signatures up to 300 s old): call this right before the run.
        """
        from payments.bank_formats import sign_simbank

        path = self.work / f"{name}.tsv"
        stamp = int(time.time())
        occurred = datetime.now(VIETNAM).replace(microsecond=0).isoformat()
        with path.open("w", encoding="utf-8") as out:
            for reference, amount in orders:
                body = json.dumps(
                    {
                        "transaction_id": f"BENCH{self.next_id:08d}",
                        "account_number": ACCOUNT,
                        "amount_vnd": amount,
                        "memo": f"{reference} thanh toan nuoc mia",
                        "occurred_at": occurred,
                    }
                )
                self.next_id += 1
                out.write(f"{sign_simbank(body.encode(), self.secret, stamp)}\t{body}\n")
        return ["cycle", WEBHOOK_PATH, str(path), str(self.wrk_threads)]


def verify_webhooks(
    engine: Engine, runs: list[Result], connections: int
) -> tuple[list[str], list[str]]:
    """Check on the database that every webhook request counted exactly once."""
    settled_count(engine, "SELECT count(*) FROM bank_notifications")
    with engine.connect() as connection:
        by_match = dict(
            connection.execute(
                text("SELECT match, count(*) FROM bank_notifications GROUP BY match")
            ).all()
        )
    matched = by_match.get("matched", 0)
    ledger = count(engine, "SELECT count(*) FROM ledger_entries WHERE kind = 'payment'")
    events = count(engine, "SELECT count(*) FROM payment_events WHERE kind = 'money_received'")
    paid = count(engine, "SELECT count(*) FROM payment_intents WHERE status = 'paid'")
    twice = count(
        engine,
        "SELECT (SELECT count(*) FROM (SELECT intent_id FROM ledger_entries GROUP BY intent_id"
        " HAVING count(*) > 1) AS l) + (SELECT count(*) FROM (SELECT intent_id FROM"
        " bank_notifications WHERE intent_id IS NOT NULL GROUP BY intent_id HAVING count(*) > 1)"
        " AS n) + (SELECT count(*) FROM payment_intents WHERE received_vnd > amount_vnd)",
    )
    disagree = count(
        engine,
        "SELECT count(*) FROM payment_intents i WHERE i.received_vnd <> COALESCE("
        "(SELECT sum(amount_vnd) FROM ledger_entries l WHERE l.intent_id = i.id), 0)",
    )
    completed = sum(run.ok_requests for run in runs)
    sent = sum(run.sent for run in runs)
    facts = [
        f"notifications stored by status: {dict(sorted(by_match.items()))}",
        f"webhook requests answered 2xx: {completed}, sent: {sent} (includes one that wrk asks"
        f" the script for and never sends, per run); matched notifications: {matched}",
        f"money_received events {events}, ledger payment rows {ledger}, paid intents {paid}; "
        f"paid twice or overpaid: {twice}; intents whose received amount != ledger sum: "
        f"{disagree}",
    ]
    problems = []
    if set(by_match) - {"matched"}:
        problems.append(f"notifications that did not match: {by_match}")
    # Requests in flight when wrk stops are answered after it left: matched may exceed the
    # answered count by at most the connections, per run, and never exceeds what was sent.
    if not completed <= matched <= min(sent, completed + connections * len(runs)):
        problems.append(f"matched notifications {matched} vs requests answered {completed}")
    if not matched == events == ledger == paid:
        problems.append(f"matched {matched}, events {events}, ledger {ledger}, paid {paid}")
    if twice or disagree:
        problems.append("a payment was counted twice or the ledger disagrees with the intents")
    return facts, problems


# --------------------------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help=f"default: {DEFAULT_URL}")
    parser.add_argument("--seconds", type=int, default=20, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per scenario")
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument(
        "--stalls",
        type=int,
        help="stalls of the one market that the checkouts buy at, in turn (default: one per "
        "connection, as shoppers at a market; 1: every checkout locks the same rows)",
    )
    parser.add_argument(
        "--workers", type=int, default=2 * cores, help=f"gunicorn workers (2 per core: {2 * cores})"
    )
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--wrk-threads", type=int, default=min(2, cores), help="up to 2")
    parser.add_argument("--no-hello", action="store_true", help="skip the hello-world row")
    parser.add_argument("--keep-database", action="store_true", help="do not drop it at the end")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="record every worker with py-spy during the measured checkout and webhook runs, "
        "write the raw profiles to DIR and print the top functions (perturbs the figures)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.wrk_threads <= args.connections:
        parser.error("--wrk-threads must be between 1 and --connections")
    if args.seconds > 240:
        parser.error("--seconds must stay under 240 (webhook signatures age out after 300 s)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print(
            "wrk is not installed: install it (Debian/Ubuntu: apt-get install -y wrk) and run "
            "again.",
            file=sys.stderr,
        )
        return 2
    py_spy = None
    if args.py_spy:
        venv_bin = str(Path(sys.executable).parent)
        py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=venv_bin)
        if py_spy is None:
            print("py-spy is not installed: pip install py-spy", file=sys.stderr)
            return 2
        args.py_spy.mkdir(parents=True, exist_ok=True)
    url = scratch_url(args.database_url)
    secret = secrets.token_hex(16)
    work = Path(tempfile.mkdtemp(prefix="bench_checkout_"))
    progress(
        f"gunicorn gthread {args.workers} workers x {args.threads} threads; wrk "
        f"{args.wrk_threads} threads, {args.connections} connections; {args.warmup} s warm-up + "
        f"{args.seconds} s per scenario; database {url.database}; files in {work}"
    )
    create_database(url)
    engine = create_engine(url)
    server = None
    try:
        shops = prepare_database(engine, args.stalls or args.connections)
        server = Server(url, secret, args.workers, args.threads, args.connections, work)
        server.start()
        progress(f"gunicorn ready on {server.base} (workers {sorted(server.worker_pids())})")
        load = Load(
            server,
            CpuMeter(server.pid, url.database or ""),
            args.seconds,
            args.warmup,
            args.connections,
            args.wrk_threads,
            work,
            py_spy,
            args.py_spy,
        )
        results, problems = run_scenarios(args, load, engine, shops, secret, work)
        return report(args, results, problems)
    finally:
        if server is not None:
            server.stop()
            progress("gunicorn stopped")
        engine.dispose()
        if args.keep_database:
            progress(f"database {url.database} kept")
        else:
            drop_database(url)
            progress(f"database {url.database} dropped")


def run_scenarios(
    args: argparse.Namespace,
    load: Load,
    engine: Engine,
    shops: list[Shop],
    secret: str,
    work: Path,
) -> tuple[dict[str, Result], list[str]]:
    """Run hello, reference, checkout and webhook; return the results and the failed checks."""
    results: dict[str, Result] = {}
    if not args.no_hello:
        hello = ["get", "/bench/hello"]
        load.warm("hello world", "/bench/hello", hello)
        results["hello"] = load.measure("hello world", "/bench/hello", hello)

    body_file = work / "insert.json"
    body_file.write_text("{}")
    insert_args = ["static", "/bench/insert", str(body_file)]
    load.warm("reference insert", "/bench/insert", insert_args)
    results["reference"] = load.measure("reference insert", "/bench/insert", insert_args)

    checkout_file = work / "checkout.jsonl"
    checkout_file.write_text(
        "".join(
            json.dumps(
                {
                    "stall_id": shop.stall_id,
                    "lines": [{"listing_id": shop.listing_id, "quantity": 1}],
                    "method": "vietqr",
                }
            )
            + "\n"
            for shop in shops
        )
    )
    # Each wrk thread its own stalls, unless there are fewer stalls than threads.
    sharing = str(min(args.wrk_threads, len(shops)))
    checkout_args = ["rotate", "/api/v1/orders", str(checkout_file), sharing]
    load.warm("checkout", "/api/v1/orders", checkout_args)
    results["checkout"] = load.measure(
        "checkout", "/api/v1/orders", checkout_args, profile="checkout"
    )
    orders = settled_count(engine, "SELECT count(*) FROM orders")
    progress(f"{orders} orders in the database, each with a pending VietQR payment")
    if results["checkout"].errors:
        sys.exit(f"checkout failed ({results['checkout'].errors}); see {load.server.log_path}")

    def top_up(wanted: int) -> list[tuple[str, int]]:
        pending = pending_orders(engine)
        while len(pending) < wanted:
            rate = max(results["checkout"].rps, 1.0)
            seconds = max(2, math.ceil((wanted - len(pending)) / rate * 1.2))
            progress(f"{len(pending)} pending orders, {wanted} wanted: {seconds} s more checkout")
            load.run("top-up", "/api/v1/orders", checkout_args, seconds)
            settled_count(engine, "SELECT count(*) FROM orders")
            pending = pending_orders(engine)
        return pending

    notifications = Notifications(secret, work, args.wrk_threads)
    runs = []
    pending = pending_orders(engine)
    if args.warmup:
        # The warm-up gets what the reference's rate could use (a webhook cannot be faster
        # than one insert), or a third of the pending orders; its threads stop if they run out.
        share = min(len(pending) // 3, math.ceil(results["reference"].rps * args.warmup * 1.5))
        warm = load.warm(
            "webhook", WEBHOOK_PATH, notifications.script_args("warm-up", pending[:share])
        )
        assert warm is not None
        runs.append(warm)
        settled_count(engine, "SELECT count(*) FROM bank_notifications")
        expected = max(warm.rps, results["checkout"].rps)
    else:
        expected = results["reference"].rps
    # Twice the expected rate, plus a margin: running out would end the measured run early.
    pending = top_up(math.ceil(expected * 2 * args.seconds) + 500)
    webhook_args = notifications.script_args("measured", pending)  # signed now, right before
    progress(f"{len(pending)} signed notifications, one per pending order, for the measured run")
    result = load.measure("webhook", WEBHOOK_PATH, webhook_args, profile="webhook")
    runs.append(result)
    results["webhook"] = result

    facts, problems = verify_webhooks(engine, runs, args.connections)
    for fact in facts:
        progress(fact)
    if result.spare:
        problems.append(
            f"the measured webhook run ran out of notifications ({result.sent} sent): "
            "raise the margin in run_scenarios"
        )
    for problem in problems:
        progress(f"PROBLEM: {problem}")
    return results, problems


def report(args: argparse.Namespace, results: dict[str, Result], problems: list[str]) -> int:
    reference = results["reference"]
    rows = [
        ("hello world (context)", results.get("hello")),
        ("reference: insert 1 row", reference),
        ("checkout (vietqr)", results["checkout"]),
        ("webhook (simbank)", results["webhook"]),
    ]
    print()
    print(
        f"{args.connections} connections (wrk, {args.wrk_threads} threads), gunicorn gthread "
        f"{args.workers} workers x {args.threads} threads, PostgreSQL, {args.seconds} s each, "
        f"{os.cpu_count()} cores"
    )
    header = (
        f"{'scenario':<25}{'req/s':>8}{'p50 ms':>8}{'p90 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
        f"{'errors':>7}{'vs ref':>7}{'app cpu':>9}{'pg cpu':>8}{'others':>8}"
    )
    print(header)
    print("-" * len(header))
    for label, result in rows:
        if result is None:
            continue
        cpu = result.cpu
        assert cpu is not None
        print(
            f"{label:<25}{result.rps:>8.0f}{result.p50_ms:>8.1f}{result.p90_ms:>8.1f}"
            f"{result.p95_ms:>8.1f}{result.p99_ms:>8.1f}{result.error_count:>7}"
            f"{result.rps / reference.rps:>7.2f}"
            f"{cpu.ms_per_request('server', result.requests):>7.1f}ms"
            f"{cpu.ms_per_request('postgres', result.requests):>6.1f}ms"
            f"{cpu.cores.get('others', 0) + cpu.cores.get('steal', 0):>7.2f}c"
        )
    print(
        "app cpu / pg cpu: CPU time per request of the gunicorn processes / of PostgreSQL; "
        "others: cores used by processes outside this benchmark and stolen by the hypervisor "
        "(should be ~0)"
    )
    print()
    failures = []
    for key in ("checkout", "webhook"):
        result = results[key]
        ratio = result.rps / reference.rps
        ok_ratio, ok_p95 = ratio >= TARGET_RATIO, result.p95_ms < TARGET_P95_MS
        print(
            f"{key:<9} {ratio:5.2f} x reference req/s (target >= {TARGET_RATIO:.2f}): "
            f"{'ok' if ok_ratio else 'MISSED'}; p95 {result.p95_ms:.1f} ms "
            f"(target < {TARGET_P95_MS:.0f} ms): {'ok' if ok_p95 else 'MISSED'}"
        )
        if not ok_ratio:
            failures.append(f"{key} at {ratio:.2f} x the reference's req/s")
        if not ok_p95:
            failures.append(f"{key} p95 {result.p95_ms:.0f} ms")
    # wrk's connections each wait for an answer before asking again (Little's law).
    print(
        f"mean latency = {args.connections} connections / req/s: a p95 under "
        f"{TARGET_P95_MS:.0f} ms needs more than {args.connections / TARGET_P95_MS * 1000:.0f} "
        "req/s"
    )
    if "hello" in results:
        print(f"reference / hello world: {reference.rps / results['hello'].rps:.2f}")
    for key, result in results.items():
        if result.error_count:
            failures.append(f"{key} had errors {result.errors}")
        cores = result.cpu.cores if result.cpu else {}
        others = cores.get("others", 0) + cores.get("steal", 0)
        if others > BUSY_OTHERS_WARNING:
            busiest = ", ".join(f"{name} {cores:.2f}" for name, cores in result.cpu.top_others)
            print(
                f"WARNING: other processes (or the hypervisor) used {others:.2f} cores during "
                f"{key} (busiest: {busiest}): "
                "the figures are perturbed, run again on a quiet machine"
            )
    if reference.cpu and reference.cpu.machine_busy < REFERENCE_BUSY_WARNING:
        print(
            f"WARNING: the machine was only {reference.cpu.machine_busy:.0%} busy during the "
            "reference, which normally saturates it: it waited on something else (the disk?), "
            "so the ratios overstate checkout and webhook; run again"
        )
    failures.extend(problems)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    key: {
                        "rps": round(r.rps, 1),
                        "requests": r.requests,
                        "p50_ms": r.p50_ms,
                        "p90_ms": r.p90_ms,
                        "p95_ms": r.p95_ms,
                        "p99_ms": r.p99_ms,
                        "max_ms": r.max_ms,
                        "errors": r.errors,
                        "ratio_to_reference": round(r.rps / reference.rps, 3),
                        "cpu_cores": r.cpu.cores if r.cpu else None,
                    }
                    for key, r in results.items()
                }
                | {"failures": failures},
                indent=2,
            )
        )
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())

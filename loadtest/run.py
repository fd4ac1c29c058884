"""Run a load test end to end: database, server, Locust, objectives, audit; stop all it started.

1. A fresh database: a SQLite file in the output folder, or a PostgreSQL database the run
   creates (or an existing one that holds no tables); migrated, places loaded, a market seeded
   through the services with N stalls, their vendors' tokens and an official's token.
2. `ocop-market serve` (gunicorn) on 127.0.0.1 against it, with a per-run bank secret and the
   fake card gateway.
3. Locust, headless, for a bounded time: the HTML report, the CSV stats, the bank's logs and
   stats.json go to the output folder.
4. The objectives of slo.toml, judged on stats.json; the audit, on the database the server
   left once it stopped; a short summary (summary.txt, summary.json).

Exit status: 0 when every objective is met and the audit is clean, 1 when an objective is
missed, 3 when the audit finds money or stock lost or doubled, 4 when the run itself failed.
Everything started is stopped on the way out, Ctrl-C and SIGTERM included; the database is
dropped (the SQLite file deleted) unless asked to keep it or the run did not create it.
"""

import json
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from loadtest import audit, bank, slo
from loadtest.scenario import DEFAULT_PROFILE, DEFAULT_SCENARIO, load_profile
from loadtest.seed import prepare_database, write_manifest
from market.core.db import create_db_engine

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
OK, OBJECTIVES_MISSED, AUDIT_FAILED, RUN_FAILED = 0, 1, 3, 4
MAX_RUN_SECONDS = 3600
SERVER_READY_SECONDS = 60
# Users finish the request they are in when the time is up, so a slow answer is counted, not
# dropped; a long-poll still waiting after this is cut short (and not counted).
STOP_TIMEOUT_SECONDS = 10
LOCUST_GRACE_SECONDS = 90 + STOP_TIMEOUT_SECONDS  # beyond --run-time: start-up, reports
WORKERS_WAIT_SECONDS = 120  # how long a master waits for workers started by hand
SQLITE_FILE = "loadtest.sqlite3"

Echo = Callable[[str], None]


class RunError(RuntimeError):
    """The run could not be prepared or carried out."""


@dataclass(frozen=True)
class RunOptions:
    output: Path
    database_url: str | None = None  # None: a SQLite file in the output folder
    stalls: int = 10
    users: int = 10
    spawn_rate: float = 5.0
    run_time: int = 60  # seconds, warm-up included
    warmup: int | None = None  # seconds before the figures start; None: a quarter, at most 10
    profile: str = DEFAULT_PROFILE
    scenario: Path = DEFAULT_SCENARIO
    objectives: Path = slo.DEFAULT_SLO
    workers: int | None = None  # gunicorn's; None: as `ocop-market serve` chooses
    threads: int | None = None  # per gunicorn worker; None: `ocop-market serve`'s default
    redis_url: str | None = None  # the server's REDIS_URL: waiting screens woken across workers
    processes: int = 0  # Locust worker processes forked under a master; 0: one local process
    expect_workers: int = 0  # or: a master that waits for this many workers started by hand
    keep_database: bool = False


@dataclass
class Outcome:
    """What a run found, as summary.json records it."""

    options: dict[str, Any]
    started_at: str
    warmup: int = 0
    database: str = ""
    server: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    objectives_file: str = ""
    objectives_stated: int = 0
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    audit: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    exit_status: int = RUN_FAILED


def run(options: RunOptions, echo: Echo = print) -> int:
    """Run the load test; return the exit status (see the module's docstring)."""
    if not 1 <= options.run_time <= MAX_RUN_SECONDS:
        raise RunError(f"--run-time must be from 1 to {MAX_RUN_SECONDS} seconds")
    if not 0 <= warmup_seconds(options) < options.run_time:
        raise RunError("--warmup must be shorter than --run-time")
    profile = load_profile(options.profile, options.scenario)
    objectives = slo.load_objectives(options.objectives)
    if options.processes and options.expect_workers:
        raise RunError("give --processes or --expect-workers, not both")
    banks = profile.bank.users_per_worker * max(1, options.processes, options.expect_workers)
    if options.users <= banks:
        raise RunError(f"--users must exceed the {banks} bank senders, which count as users")
    output = options.output
    output.mkdir(parents=True, exist_ok=True)
    if any(output.glob(bank.LOG_GLOB)) or (output / "stats.json").exists():
        raise RunError(f"{output} holds an earlier run: give another --output")
    outcome = Outcome(
        options={key: str(value) for key, value in asdict(options).items()},
        started_at=datetime.now().astimezone().isoformat(timespec="seconds"),
        objectives_file=str(options.objectives),
        objectives_stated=objectives.count(),
        warmup=warmup_seconds(options),
    )
    secret = secrets.token_hex(16)
    with _stop_on_sigterm(), Scratch(options, echo) as database:
        outcome.database = database.describe()
        engine = create_db_engine(database.url.render_as_string(hide_password=False))
        try:
            started = time.monotonic()
            manifest = prepare_database(engine, profile, options.stalls, secret)
        finally:
            engine.dispose()
        write_manifest(manifest, output / "manifest.json")
        echo(
            f"database ready in {time.monotonic() - started:.1f} s: {options.stalls} stalls of "
            f"market {manifest['market_id']}, their vendors' tokens and an official's"
        )
        with Server(database.url, secret, options, output / "server.log") as server:
            outcome.server = server.describe()
            echo(f"server: {outcome.server}")
            assert server.process is not None
            meter = CpuMeter({"server": server.process.pid}, database.postgres_name)
            status = run_locust(options, server.base, output, echo)
            outcome.machine = meter.read()
            if status not in (0, 1):  # 1: Locust's own "some requests failed"
                raise RunError(f"Locust exited with {status}; see {output / 'locust.log'}")
        echo("server stopped; judging the objectives and auditing the database")
        figures = json.loads((output / "stats.json").read_text(encoding="utf-8"))
        verdicts = slo.evaluate(objectives, figures)
        engine = create_db_engine(database.url.render_as_string(hide_password=False))
        try:
            with engine.connect() as connection:
                snapshot = audit.gather(connection)
        finally:
            engine.dispose()
        found = audit.judge(bank.read_logs(output), snapshot, audit.opening_stock(manifest))
    outcome.figures = _figures(figures, found, options.run_time, warmup_seconds(options))
    outcome.endpoints = _endpoints(figures)
    outcome.verdicts = [
        {
            **asdict(verdict.objective),
            "measured": verdict.measured,
            "met": verdict.met,
            "note": verdict.note,
        }
        for verdict in verdicts
    ]
    outcome.audit = {"facts": found.facts, "problems": found.problems}
    if found.problems:
        outcome.exit_status = AUDIT_FAILED
    elif slo.missed(verdicts):
        outcome.exit_status = OBJECTIVES_MISSED
    else:
        outcome.exit_status = OK
    summary = write_summary(outcome, profile.description, verdicts, output)
    echo(summary)
    return outcome.exit_status


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt while running, so cleanup runs as on Ctrl-C."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: signals stay as they are
        previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


class Scratch:
    """The run's database: created fresh, dropped at the end unless kept or not ours."""

    ADMIN_DATABASE = "postgres"

    def __init__(self, options: RunOptions, echo: Echo) -> None:
        self.echo = echo
        self.keep = options.keep_database
        raw = options.database_url or f"sqlite:///{options.output.resolve() / SQLITE_FILE}"
        self.url: URL = make_url(raw)
        if self.url.drivername == "postgresql":
            self.url = self.url.set(drivername="postgresql+psycopg")
        self.created = False

    def describe(self) -> str:
        return f"{self.url.get_backend_name()} {self.url.database}"

    @property
    def postgres_name(self) -> str | None:
        return self.url.database if self.url.get_backend_name() == "postgresql" else None

    def __enter__(self) -> "Scratch":
        backend = self.url.get_backend_name()
        if backend == "sqlite":
            if not self.url.database or Path(self.url.database).exists():
                raise RunError(f"the SQLite file {self.url.database} exists: give a new one")
            self.created = True
        elif backend == "postgresql":
            self._create_postgresql()
        else:
            raise RunError(f"{backend} is not supported: use SQLite or PostgreSQL")
        return self

    def _create_postgresql(self) -> None:
        name = self.url.database
        if not name or name == self.ADMIN_DATABASE:
            raise RunError("give the PostgreSQL database to create, e.g. …/ocop_load")
        with _admin(self.url) as admin:
            exists = admin.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
            if not exists:
                admin.execute(text(f'CREATE DATABASE "{name}"'))
                self.created = True
                self.echo(f"created database {name}")
                return
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                tables = connection.execute(
                    text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
                ).scalar_one()
        finally:
            engine.dispose()
        if tables:
            raise RunError(
                f"database {name} already holds {tables} tables: the audit needs a fresh "
                "database, so give a new name and the run creates it"
            )

    def __exit__(self, *exc: object) -> None:
        if not self.created or self.keep:
            if self.keep:
                self.echo(f"database kept: {self.url.render_as_string(hide_password=True)}")
            return
        if self.url.get_backend_name() == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.url.database}{suffix}").unlink(missing_ok=True)
            return
        with _admin(self.url) as admin:
            admin.execute(text(f'DROP DATABASE IF EXISTS "{self.url.database}" WITH (FORCE)'))
        self.echo(f"dropped database {self.url.database}")


@contextmanager
def _admin(url: URL) -> Iterator[Any]:
    engine = create_engine(url.set(database=Scratch.ADMIN_DATABASE), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ocop_market() -> str:
    """Return the `ocop-market` command of this interpreter's environment."""
    beside = Path(sys.executable).parent / "ocop-market"
    found = str(beside) if beside.exists() else shutil.which("ocop-market")
    if found is None:
        raise RunError("the ocop-market command is not installed: pip install -e .")
    return found


class Server:
    """`ocop-market serve` (gunicorn) in a session of its own, on 127.0.0.1."""

    def __init__(self, url: URL, secret: str, options: RunOptions, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.on_sqlite = url.get_backend_name() == "sqlite"
        self.workers = options.workers or (1 if self.on_sqlite else 2 * (os.cpu_count() or 1))
        self.threads = options.threads
        self.command = [
            ocop_market(), "serve", "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", str(self.workers),
        ]  # fmt: skip
        if self.threads is not None:
            self.command += ["--threads", str(self.threads)]
        self.env = {
            **os.environ,
            "DATABASE_URL": url.render_as_string(hide_password=False),
            "SIMBANK_WEBHOOK_SECRET": secret,
            "CARD_GATEWAY": "fake",
            "SECRET_KEY": secrets.token_hex(16),
            # Locust's thousands of shoppers all come from 127.0.0.1: per-address limits would
            # measure the limiter, not the server.
            "RATELIMIT_ENABLED": "0",
        }
        self.env.pop("REDIS_URL", None)  # only the run's own choice
        if options.redis_url:
            self.env["REDIS_URL"] = options.redis_url
        self.process: subprocess.Popen[bytes] | None = None

    def describe(self) -> str:
        return (
            f"gunicorn {self.workers} workers x {self.threads or 'default'} threads"
            f"{' + Redis' if 'REDIS_URL' in self.env else ''} on {self.base} "
            f"(pid {self.process.pid if self.process else '-'})"
        )

    def __enter__(self) -> "Server":
        self.process = start_server(
            self.command, self.env, self.log, self.base, SERVER_READY_SECONDS
        )
        return self

    def __exit__(self, *exc: object) -> None:
        _stop(self.process, signal.SIGTERM, 20)  # gunicorn lets requests finish for 10 s


def start_server(
    command: list[str], env: dict[str, str], log: Path, base: str, seconds: float
) -> subprocess.Popen[bytes]:
    """Start a server in a session of its own, its output added to `log`; return once ready.

    A server that does not become ready is stopped before the error is raised.
    """
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_ready(base, process, seconds, log)
    except BaseException:
        _stop(process, signal.SIGTERM, 20)
        raise
    return process


def wait_ready(base: str, process: subprocess.Popen[bytes], seconds: float, log: object) -> None:
    """Return once the server at `base` answers /readyz; RunError if it exits or is too slow."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RunError(f"the server exited with {process.returncode}: see {log}")
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RunError(f"the server was not ready after {seconds:.0f} s: see {log}")


def _stop(process: subprocess.Popen[bytes] | None, first: signal.Signals, wait: float) -> None:
    """Signal a process we started, then kill its whole session if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(first)
    try:
        process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: start_new_session=True
        process.wait(timeout=10)


def run_locust(options: RunOptions, base: str, output: Path, echo: Echo) -> int:
    """Run Locust headless for --run-time; return its exit status."""
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "--host", base,
        "--users", str(options.users), "--spawn-rate", str(options.spawn_rate),
        "--run-time", f"{options.run_time}s", "--stop-timeout", str(STOP_TIMEOUT_SECONDS),
        "--html", str(output / "report.html"), "--csv", str(output / "locust"),
        "--only-summary", "--logfile", str(output / "locust.log"),
        "--ocop-manifest", str(output / "manifest.json"), "--ocop-output", str(output),
        "--ocop-profile", options.profile, "--ocop-scenario", str(options.scenario),
        "--ocop-warmup", str(warmup_seconds(options)),
    ]  # fmt: skip
    if options.processes:
        command += ["--processes", str(options.processes)]
    if options.expect_workers:
        port = free_port()
        command += [
            "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
            "--expect-workers", str(options.expect_workers),
            "--expect-workers-max-wait", str(WORKERS_WAIT_SECONDS),
        ]  # fmt: skip
        echo(
            f"start {options.expect_workers} Locust workers within {WORKERS_WAIT_SECONDS} s, "
            "each with:\n"
            f"  {sys.executable} -m locust -f {LOCUSTFILE} --worker --master-host 127.0.0.1 "
            f"--master-port {port}"
        )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), _pythonpath()]))}
    workers = options.processes or options.expect_workers
    echo(
        f"Locust: {options.users} users (spawn {options.spawn_rate:g}/s), profile "
        f"{options.profile}, {options.run_time} s, "
        + (f"a master and {workers} workers" if workers else "one process")
    )
    with (output / "locust.out").open("ab") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        waiting = WORKERS_WAIT_SECONDS if options.expect_workers else 0
        return process.wait(timeout=options.run_time + LOCUST_GRACE_SECONDS + waiting)
    except subprocess.TimeoutExpired as error:
        raise RunError(f"Locust overran its run time; see {output / 'locust.log'}") from error
    finally:
        _stop(process, signal.SIGTERM, 15)  # Locust writes its reports on SIGTERM


def warmup_seconds(options: RunOptions) -> int:
    """Return the warm-up: cold caches and first connections are not the server's steady state."""
    return min(10, options.run_time // 4) if options.warmup is None else options.warmup


def _pythonpath() -> str:
    return os.environ.get("PYTHONPATH", "")


class CpuMeter:
    """Who used the machine's CPU while the load ran: the server, Locust, PostgreSQL, others.

    Linux /proc only (elsewhere it reports little). The server's processes are told apart by
    their session (it runs in one of its own), PostgreSQL's backends by the database named in
    their title, and Locust, which has exited when the figures are read, by the resources of
    this process's finished children; "others" is everything else, such as other work on a
    shared machine.
    """

    TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self, sessions: dict[str, int], database: str | None) -> None:
        self.sessions = sessions  # label -> session id
        self.database = database
        self.started = time.monotonic()
        self.machine = self._machine()
        self.before = self._processes()
        self.children = self._children()

    def read(self) -> dict[str, Any]:
        seconds = time.monotonic() - self.started
        busy, total = (now - then for now, then in zip(self._machine(), self.machine, strict=True))
        used: dict[str, float] = dict.fromkeys([*self.sessions, "postgres", "others"], 0.0)
        for pid, (label, ticks) in self._processes().items():
            earlier = self.before.get(pid)
            spent = ticks - (earlier[1] if earlier and earlier[0] == label else 0)
            used[label] += spent / self.TICKS
        used["locust"] = self._children() - self.children
        cores = os.cpu_count() or 1
        if not seconds or not total:
            return {"seconds": round(seconds, 1), "cores": cores}
        # Processes that ended during the run are gone from /proc: others are what is left.
        ours = sum(value for label, value in used.items() if label != "others")
        used["others"] = max(0.0, busy / total * cores * seconds - ours)
        return {
            "seconds": round(seconds, 1),
            "cores": cores,
            "machine_busy": round(busy / total, 3),
            "cores_used": {label: round(value / seconds, 2) for label, value in used.items()},
        }

    @staticmethod
    def _children() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    @staticmethod
    def _machine() -> tuple[int, int]:
        try:
            fields = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]
        except OSError:
            return (0, 0)
        idle = fields[3] + fields[4]
        return (sum(fields) - idle, sum(fields))

    def _processes(self) -> dict[int, tuple[str, int]]:
        """Return pid -> (label, CPU ticks so far) for every process."""
        owners = {session: label for label, session in self.sessions.items()}
        found = {}
        for entry in Path("/proc").iterdir() if Path("/proc/stat").exists() else ():
            if not entry.name.isdigit():
                continue
            try:
                raw = (entry / "stat").read_text()
                fields = raw[raw.rindex(")") + 2 :].split()
                label = owners.get(int(fields[3]), "others")
                if label == "others" and raw[raw.index("(") + 1 : raw.rindex(")")] == "postgres":
                    title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                    if self.database and f" {self.database} " in title:
                        label = "postgres"
            except (OSError, ValueError):
                continue
            found[int(entry.name)] = (label, int(fields[11]) + int(fields[12]))
        return found


def _figures(
    figures: dict[str, Any], found: audit.Audit, run_time: int, warmup: int
) -> dict[str, Any]:
    endpoints = slo.endpoint_figures(figures)
    everything = slo.merged(endpoints.values())
    seconds = slo.duration_seconds(figures)
    users = figures.get("users", {})
    result: dict[str, Any] = {
        "users": users,
        "requests": everything.requests,
        "failures": everything.failures,
        "seconds": round(seconds, 1),
        "requests_per_second": round(everything.requests / seconds, 1) if seconds else 0.0,
    }
    vendors = users.get("Vendor", 0)
    if vendors and not users.get("Shopper") and seconds:
        # Vendor-only profiles: every VietQR checkout is a stall's code. No sale starts once the
        # time is up, so the rate is over the measured part of --run-time, not the stop's tail.
        codes = endpoints.get("POST /api/v1/orders [vietqr]")
        issued = codes.requests if codes else 0
        result["codes_per_stall_per_30s"] = round(issued / vendors / (run_time - warmup) * 30, 2)
        paid = found.facts.get("intents_by_status", {}).get("paid", 0)  # in the whole run
        result["paid_codes_per_stall_per_30s"] = round(paid / vendors / run_time * 30, 2)
    return result


def _endpoints(figures: dict[str, Any]) -> list[dict[str, Any]]:
    seconds = slo.duration_seconds(figures)
    rows = []
    for name, measured in sorted(slo.endpoint_figures(figures).items()):
        rows.append(
            {
                "endpoint": name,
                "requests": measured.requests,
                "failures": measured.failures,
                "per_second": round(measured.requests / seconds, 2) if seconds else 0.0,
                **{measure: measured.value(measure) for measure in slo.LATENCIES},
                "max_ms": max(measured.histogram, default=None),
            }
        )
    return rows


def write_summary(
    outcome: Outcome, description: str, verdicts: list[slo.Verdict], output: Path
) -> str:
    """Write summary.json and summary.txt; return the text."""
    (output / "summary.json").write_text(
        json.dumps(asdict(outcome), indent=1, ensure_ascii=False, default=str), encoding="utf-8"
    )
    options, figures = outcome.options, outcome.figures
    lines = [
        f"OCOP Market load test, profile {options['profile']}: {description}",
        f"  started {outcome.started_at}; {outcome.server}; database {outcome.database}",
        f"  {options['users']} users {figures.get('users')}, spawn {options['spawn_rate']}/s, "
        f"{options['run_time']} s; {options['stalls']} stalls",
        f"  after {outcome.warmup} s of warm-up: {figures.get('requests', 0):,} requests, "
        f"{figures.get('failures', 0):,} failed, in {figures.get('seconds')} s: "
        f"{figures.get('requests_per_second')} requests/s",
    ]
    if "codes_per_stall_per_30s" in figures:
        lines.append(
            f"  codes issued per stall per 30 s: {figures['codes_per_stall_per_30s']} "
            f"(measured); paid: {figures['paid_codes_per_stall_per_30s']} (whole run, the last "
            "codes still awaiting their transfer)"
        )
    if outcome.machine:
        lines.append(f"  machine: {outcome.machine}")
    lines += ["", f"{'endpoint':<48}{'reqs':>8}{'fail':>6}{'/s':>8}{'p50':>7}{'p95':>7}{'p99':>7}"]
    for row in outcome.endpoints:
        lines.append(
            f"{row['endpoint'][:47]:<48}{row['requests']:>8}{row['failures']:>6}"
            f"{row['per_second']:>8}"
            + "".join(f"{_ms(row[measure]):>7}" for measure in slo.LATENCIES)
        )
    missed = slo.missed(verdicts)
    lines += [
        "",
        f"objectives ({outcome.objectives_file}, {outcome.objectives_stated} stated): "
        + (f"{len(missed)} MISSED" if missed else "all judged ones met"),
    ]
    lines += [f"  {verdict.describe()}" for verdict in verdicts if verdict.met is not None]
    unjudged = [verdict for verdict in verdicts if verdict.met is None]
    if unjudged:
        lines.append(
            f"  {len(unjudged)} not judged: fewer than min_samples requests, or not called "
            "(summary.json lists them)"
        )
    problems = outcome.audit["problems"]
    lines += [
        "",
        "audit: " + ("PROBLEMS FOUND" if problems else "nothing lost or doubled"),
        *(f"  PROBLEM {problem}" for problem in problems),
        *(f"  {key}: {value}" for key, value in outcome.audit["facts"].items()),
        "",
        f"files in {output}: report.html, locust_stats.csv, summary.json, bank-*.jsonl, "
        "server.log, locust.log",
        f"exit status {outcome.exit_status}",
    ]
    text_summary = "\n".join(lines)
    (output / "summary.txt").write_text(text_summary + "\n", encoding="utf-8")
    return text_summary


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


if __name__ == "__main__":
    from loadtest.cli import loadtest_command

    loadtest_command()

"""Time officials' reports over a national ledger: from the roll-ups, and by scanning the ledger.

Loads the catalogue and market layer of bench_catalog.py (20,000 OCOP products; 1,000 markets
in real communes, 20,000 vendors and their stalls), then 10,000,000 ledger rows for 2025 straight
into the ledger table (a read benchmark: the events and intents they would point to are not
written, so foreign keys are off while loading). Stalls sell on market days with log-normal
tickets; the cashless share of each province rises through the year (Bass-like), 2 % of rows are
refunds and 1 % of transfers are late. Migration 0006's back-fill then builds the roll-ups from
that ledger, exactly as it does for a real database that upgrades, and its time is printed.

Then, through the Flask test client with an official's token, it prints the median and p95 of
GET /api/v1/reports/indicators for a province by month over the year and for the whole country
(every measured indicator), and the same reports computed by scanning the ledger instead.
SQLite in a temporary file by default; `--database-url postgresql+psycopg://…` EMPTIES that
database first.

    .venv/bin/python benchmarks/bench_reports.py [--database-url URL] [--rows 10000000]
"""

import argparse
import gc
import importlib.util
import io
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from bench_catalog import analyze, load_catalog, load_market, prepare
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from market.accounts.services import create_user, issue_token
from market.app import create_app
from market.core.db import create_db_engine
from market.core.principals import Role
from market.markets.models import Market, Stall
from market.places.models import Commune
from market.reports.model import Grain
from market.reports.services import COUNTRY, ReportQuery, build_report, resolve_place
from payments.models import LedgerEntry

YEAR_START = date(2025, 1, 1)
DAYS = 365
CHUNK = 500_000
TARGETS_MS = {"province": 100.0, "country": 300.0}
COLUMNS = (
    "id, event_id, intent_id, kind, method, amount_vnd, vendor_id, stall_id, market_id, "
    "commune_code, province_code, is_ocop, is_late, occurred_at, local_date"
)
BACKFILL = Path(__file__).parents[1] / "migrations" / "versions" / "0006_sales_rollups.py"


def stalls_of(engine: Engine) -> list[Any]:
    with Session(engine) as session:
        return session.execute(
            select(
                Stall.id,
                Stall.vendor_id,
                Stall.market_id,
                Market.commune_code,
                Commune.province_code,
            )
            .join(Market, Market.id == Stall.market_id)
            .join(Commune, Commune.code == Market.commune_code)
            .order_by(Stall.id)
        ).all()


def ledger_chunks(stalls: list[Any], rows: int, seed: int = 11) -> Any:
    """Yield column arrays of ledger rows, CHUNK at a time, with rising cashless shares."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(0, 0.8, len(stalls))
    weights = size / size.sum()
    provinces = sorted({stall.province_code for stall in stalls})
    # Each province starts at 10-40 % cashless and gains 10-30 points over the year.
    start_share = dict(zip(provinces, rng.uniform(0.10, 0.40, len(provinces)), strict=True))
    gain = dict(zip(provinces, rng.uniform(0.10, 0.30, len(provinces)), strict=True))
    stall_start = np.array([start_share[s.province_code] for s in stalls])
    stall_gain = np.array([gain[s.province_code] for s in stalls])
    made = 0
    while made < rows:
        n = min(CHUNK, rows - made)
        pick = rng.choice(len(stalls), n, p=weights)
        day = np.sort(rng.integers(0, DAYS, n))
        minute = rng.integers(5 * 60, 23 * 60, n)  # 05:00-23:00 local
        share = stall_start[pick] + stall_gain[pick] * day / DAYS
        draw = rng.random(n)
        method = np.where(draw < share * 0.85, "vietqr", np.where(draw < share, "card", "cash"))
        amount = np.maximum(1, np.round(rng.lognormal(np.log(60), 1.0, n))).astype(np.int64) * 1000
        refund = rng.random(n) < 0.02
        late = (method == "vietqr") & (rng.random(n) < 0.01) & ~refund
        yield {
            "id": np.arange(made + 1, made + n + 1),
            "pick": pick,
            "day": day,
            "minute": minute,
            "method": method,
            "amount": np.where(refund, -amount, amount),
            "refund": refund,
            "ocop": rng.random(n) < 0.2,
            "late": late,
        }
        made += n


def load_ledger(engine: Engine, url: str, rows: int) -> None:
    """Write `rows` ledger rows with foreign keys off and indexes built after, printing progress."""
    stalls = stalls_of(engine)
    indexes = LedgerEntry.__table__.indexes
    with engine.begin() as connection:
        for index in indexes:
            index.drop(connection)
    started = time.perf_counter()
    postgres = engine.dialect.name == "postgresql"
    days = [YEAR_START + timedelta(days=d) for d in range(DAYS)]
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        if postgres:
            cursor = raw.cursor()
            cursor.execute("SET session_replication_role = replica")
        else:
            raw.commit()
            raw.execute("PRAGMA foreign_keys = OFF")
            raw.execute("PRAGMA cache_size = -262144")  # 256 MB
        for chunk in ledger_chunks(stalls, rows):
            lines = []
            for i, pick, day, minute, method, amount, refund, ocop, late in zip(
                chunk["id"].tolist(),
                chunk["pick"].tolist(),
                chunk["day"].tolist(),
                chunk["minute"].tolist(),
                chunk["method"].tolist(),
                chunk["amount"].tolist(),
                chunk["refund"].tolist(),
                chunk["ocop"].tolist(),
                chunk["late"].tolist(),
                strict=True,
            ):
                stall = stalls[pick]
                local = datetime.combine(days[day], datetime.min.time()) + timedelta(minutes=minute)
                utc = local - timedelta(hours=7)
                lines.append(
                    (
                        i, i, i, "refund" if refund else "payment", method, amount,
                        stall.vendor_id, stall.id, stall.market_id, stall.commune_code,
                        stall.province_code, ocop, late, utc, days[day],
                    )
                )  # fmt: skip
            if postgres:
                buffer = io.StringIO()
                for line in lines:
                    buffer.write("\t".join(_pg_text(value) for value in line) + "\n")
                with cursor.copy(f"COPY ledger_entries ({COLUMNS}) FROM STDIN") as copy:
                    copy.write(buffer.getvalue())
            else:
                raw.executemany(
                    f"INSERT INTO ledger_entries ({COLUMNS}) VALUES ({', '.join('?' * 15)})",
                    [line[:13] + (line[13].isoformat(" "), line[14].isoformat()) for line in lines],
                )
            raw.commit()
            made = chunk["id"][-1]
            rate = made / (time.perf_counter() - started)
            print(f"\r  ledger_entries: {made:,} ({rate:,.0f} rows/s)", end="", flush=True)
    print("\n  indexing the ledger")
    with engine.begin() as connection:
        for index in indexes:
            index.create(connection)


def _pg_text(value: Any) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat(" ") + "+00"
    return str(value)


def build_rollups(engine: Engine) -> float:
    """Run migration 0006's back-fill over the loaded ledger; return its seconds."""
    spec = importlib.util.spec_from_file_location("backfill", BACKFILL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    started = time.perf_counter()
    with engine.begin() as connection:
        with Operations.context(MigrationContext.configure(connection)):
            module._fill_from_history()
    return time.perf_counter() - started


def date_stalls(engine: Engine, seed: int = 12) -> None:
    """Open every stall before 2025 and let 80 % of them put up a VietQR during the year."""
    rng = np.random.default_rng(seed)
    opened = datetime(2024, 6, 1, 1, 0)
    with engine.begin() as connection:
        ids = connection.execute(text("SELECT id FROM stalls")).scalars().all()
        adopt = rng.integers(-90, DAYS, len(ids))
        rows = [
            {
                "id": stall_id,
                "opened": opened,
                "qr": None if rng.random() < 0.2 else datetime(2025, 1, 1) + timedelta(days=int(d)),
            }
            for stall_id, d in zip(ids, adopt.tolist(), strict=True)
        ]
        connection.execute(
            text("UPDATE stalls SET created_at = :opened, qr_since = :qr WHERE id = :id"), rows
        )


def _ledger_rows(url: str) -> int:
    engine = create_db_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT count(*) FROM ledger_entries")).scalar_one()
    engine.dispose()
    return int(rows)


def sync_sequences(engine: Engine) -> None:
    """Move PostgreSQL's id sequences past the ids the loaders wrote, so new rows can be added."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as connection:
        for table in ("users", "vendors", "stalls", "markets", "listings"):
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
            )


def busiest_province(engine: Engine) -> str:
    with engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT province_code FROM sales_market_months GROUP BY province_code "
                "ORDER BY sum(payments) DESC LIMIT 1"
            )
        ).scalar_one()


def measure(url: str, province: str, repeat: int) -> dict[str, tuple[float, float, float]]:
    """Return (median, p95, ledger-scan median) in ms for the province and country reports."""
    app = create_app({"DATABASE_URL": url})
    gc.freeze()  # as each served worker does after start-up (market/cli.py)
    engine = app.extensions["database"].engine
    with Session(engine) as session, session.begin():
        official = create_user(session, "Bench official", Role.OFFICIAL)
        headers = {"Authorization": f"Bearer {issue_token(session, official).token}"}
    client = app.test_client()
    results = {}
    for level, place in (("province", province), ("country", "VN")):
        query = {"place": place, "from": "2025-01-01", "to": "2025-12-31", "grain": "month"}
        for _ in range(3):
            response = client.get("/api/v1/reports/indicators", query_string=query, headers=headers)
            assert response.status_code == 200, response.get_json()
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            client.get("/api/v1/reports/indicators", query_string=query, headers=headers)
            timings.append((time.perf_counter() - started) * 1000)
        with Session(engine) as session:
            where = COUNTRY if level == "country" else resolve_place(session, province)
            report_query = ReportQuery([where], YEAR_START, date(2025, 12, 31), Grain.MONTH)
            scans = []
            for _ in range(3):
                started = time.perf_counter()
                build_report(session, report_query, from_ledger=True)
                scans.append((time.perf_counter() - started) * 1000)
        p95 = statistics.quantiles(timings, n=20)[-1]
        results[level] = (statistics.median(timings), p95, statistics.median(scans))
    engine.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (the database is emptied)")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--markets", type=int, default=1_000)
    parser.add_argument("--vendors", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure a database an earlier run loaded; load nothing",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        if args.reuse:
            return report(url, create_db_engine(url), args)
        engine = prepare(url)
        name = engine.dialect.name
        print(
            f"{name}: loading 20,000 products, {args.markets:,} markets, {args.vendors:,} vendors"
        )
        load_catalog(engine, 20_000)
        load_market(engine, args.markets, args.vendors, 50_000)
        print(f"{name}: loading {args.rows:,} ledger rows")
        load_ledger(engine, url, args.rows)
        seconds = build_rollups(engine)
        print(f"{name}: migration 0006 built the roll-ups from the ledger in {seconds:.1f} s")
        date_stalls(engine)
        sync_sequences(engine)
        analyze(engine)
        return report(url, engine, args)


def report(url: str, engine: Engine, args: argparse.Namespace) -> int:
    """Measure the reports over a loaded database and print the figures; 1 if over target."""
    name = engine.dialect.name
    province = busiest_province(engine)
    engine.dispose()
    results = measure(url, province, args.repeat)
    rows = _ledger_rows(url)
    print(f"\n{name}, {rows:,} ledger rows, month by month over 2025, all indicators")
    print(f"{'report':28} {'median':>9} {'p95':>9} {'ledger scan':>12}   target")
    over = False
    for level, (median, p95, scan) in results.items():
        target = TARGETS_MS[level]
        over |= median > target
        label = f"{level} {province if level == 'province' else 'VN'}"
        flag = "ok" if median <= target else "OVER"
        print(f"{label:28} {median:7.1f}ms {p95:7.1f}ms {scan:10.0f}ms   ≤{target:.0f} ms {flag}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())

"""How many simultaneously active stalls the server holds: a sweep of `ocop-market loadtest`.

Each point is one load test with the `stalls` profile of loadtest/scenario.toml: every user is a
stall's vendor that issues a VietQR code and long-polls until its payment is confirmed, once
every 30 s on average, and the bank delivers the payments (plus repeats). A point holds when
the requests other than the long-polls keep p95 under 200 ms with no errors (loadtest/slo.toml's
[overall]); the audit must find nothing lost or doubled. Each point gets a database of its own
on the PostgreSQL server given, created and dropped by the run; the figures are printed with
the CPU each party used, since other work on a shared machine moves them.

    .venv/bin/python benchmarks/bench_stalls.py --stalls 10 20 40 [--repeat 2]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/ocop_load]
        [--run-time 60] [--workers N] [--threads N] [--redis-url URL] [--output DIR]
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # loadtest/ is not an installed package

from loadtest import run  # noqa: E402
from loadtest.scenario import load_profile  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/ocop_load"
BANK_USERS = load_profile("stalls").bank.users_per_worker  # one Locust process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--stalls", type=int, nargs="+", required=True)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--run-time", type=int, default=60)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--threads", type=int, help="per gunicorn worker [default: serve's]")
    parser.add_argument("--redis-url", help="the server's REDIS_URL [default: none]")
    parser.add_argument("--output", type=Path, default=Path("artifacts/bench_stalls"))
    args = parser.parse_args(argv)
    rows = []
    for stalls in args.stalls:
        for attempt in range(1, args.repeat + 1):
            name = f"{args.database_url}_{stalls}_{attempt}_{int(time.time())}"
            setting = f"t{args.threads or 'd'}{'-redis' if args.redis_url else ''}"
            output = args.output / f"stalls{stalls}-{setting}-{attempt}-{int(time.time())}"
            options = run.RunOptions(
                output=output,
                database_url=name,
                stalls=stalls,
                users=stalls + BANK_USERS,
                spawn_rate=max(1.0, stalls / 10),
                run_time=args.run_time,
                profile="stalls",
                workers=args.workers,
                threads=args.threads,
                redis_url=args.redis_url,
            )
            status = run.run(options, echo=lambda line: None)
            rows.append(row(stalls, attempt, status, output))
            print(format_row(rows[-1]), flush=True)
    return 0


def row(stalls: int, attempt: int, status: int, output: Path) -> dict[str, object]:
    summary = json.loads((output / "summary.json").read_text(encoding="utf-8"))
    overall = {
        verdict["measure"]: verdict["measured"]
        for verdict in summary["verdicts"]
        if verdict["subject"] == "overall"
    }
    waits = [e for e in summary["endpoints"] if e["endpoint"].endswith("?wait")]
    return {
        "stalls": stalls,
        "attempt": attempt,
        "status": status,
        "p95_ms": overall.get("p95_ms"),
        "p99_ms": overall.get("p99_ms"),
        "errors": summary["figures"].get("failures"),
        "rps": summary["figures"].get("requests_per_second"),
        "codes_per_stall_per_30s": summary["figures"].get("codes_per_stall_per_30s"),
        "paid_per_stall_per_30s": summary["figures"].get("paid_codes_per_stall_per_30s"),
        "long_poll_p50_ms": waits[0]["p50_ms"] if waits else None,
        "audit_problems": len(summary["audit"]["problems"]),
        "cores": summary["machine"].get("cores_used"),
        "load_average": " ".join(f"{value:.2f}" for value in os.getloadavg()),
        "server": summary["server"],
        "output": str(output),
    }


def format_row(values: dict[str, object]) -> str:
    return (
        f"stalls {values['stalls']:>4} #{values['attempt']}: p95 {values['p95_ms']} ms, "
        f"p99 {values['p99_ms']} ms, errors {values['errors']}, {values['rps']} req/s, "
        f"codes/stall/30 s {values['codes_per_stall_per_30s']} (paid "
        f"{values['paid_per_stall_per_30s']}), long-poll p50 "
        f"{values['long_poll_p50_ms']} ms, audit problems {values['audit_problems']}, "
        f"exit {values['status']}; cores {values['cores']}; load average after "
        f"{values['load_average']}; {values['server']}"
    )


if __name__ == "__main__":
    sys.exit(main())

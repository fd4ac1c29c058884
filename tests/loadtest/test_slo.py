"""The service-level objectives file and the judgement of a run's figures against it."""

from collections import Counter
from pathlib import Path

import pytest

from loadtest.slo import (
    DEFAULT_SLO,
    Measured,
    ObjectivesError,
    evaluate,
    load_objectives,
    missed,
)

LONG_POLL = "GET /api/v1/payments/[id]?wait"


def entry(name: str, times: dict[int, int], failures: int = 0, method: str = "GET") -> dict:
    """A stats.json entry: `times` maps milliseconds to how many requests took them."""
    return {
        "name": name,
        "method": method,
        "num_requests": sum(times.values()),
        "num_failures": failures,
        "response_times": {str(ms): n for ms, n in times.items()},
    }


def figures(*entries: dict, seconds: float = 100.0, users: int = 10) -> dict:
    return {
        "users": {"Vendor": users},
        "target_users": users,
        "start_time": 1000.0,
        "last_request_timestamp": 1000.0 + seconds,
        "entries": list(entries),
        "errors": [],
    }


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "slo.toml"
    path.write_text(text, encoding="utf-8")
    return path


def verdict(verdicts, subject: str, measure: str):
    return next(
        v for v in verdicts if v.objective.subject == subject and v.objective.measure == measure
    )


def test_the_shipped_objectives_are_read():
    objectives = load_objectives(DEFAULT_SLO)
    overall = {o.measure: o.limit for o in objectives.overall}
    assert overall == {
        "max_error_rate": 0.0,
        "p95_ms": 200.0,
        "p99_ms": 500.0,
        "min_rps_per_user": 0.05,
    }
    assert objectives.exclude == {LONG_POLL}
    assert objectives.default == {"p95_ms": 300.0, "p99_ms": 1000.0}
    assert LONG_POLL in objectives.endpoints
    assert objectives.min_samples == 50


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[overall]\np90_ms = 1\n", "overall.p90_ms: unknown"),
        ("[overall]\np95_ms = 'fast'\n", "is not a number"),
        ("[endpoints.default]\nmin_rps = 1\n", "endpoints.default.min_rps: unknown"),
        ("[overall]\nexclude = 'GET /x'\n", "exclude must be a list"),
        ("speed = 1\n", "unknown keys"),
        ("min_samples = -1\n", "min_samples"),
    ],
)
def test_a_wrong_objective_is_refused_with_its_key(tmp_path, text, message):
    with pytest.raises(ObjectivesError, match=message):
        load_objectives(write(tmp_path, text))


def test_percentiles_come_from_the_histogram():
    measured = Measured(100, 0, Counter({10: 90, 50: 5, 400: 5}))
    assert measured.percentile(0.50) == 10
    assert measured.percentile(0.90) == 10
    assert measured.percentile(0.95) == 50
    assert measured.percentile(0.96) == 400
    assert Measured(0, 0, Counter()).percentile(0.95) is None


def test_a_fast_clean_run_meets_every_objective():
    objectives = load_objectives(DEFAULT_SLO)
    run = figures(
        entry("/api/v1/orders [vietqr]", {20: 90, 150: 10}, method="POST"),
        entry("/api/v1/payments/[id]?wait", {9000: 60, 25000: 40}),
    )
    verdicts = evaluate(objectives, run)
    assert missed(verdicts) == []
    # The long-poll is judged on its own limits, and left out of the overall latencies.
    assert verdict(verdicts, "overall", "p95_ms").measured == 150
    assert verdict(verdicts, LONG_POLL, "p95_ms").met is True
    assert verdict(verdicts, "overall", "min_rps_per_user").measured == pytest.approx(0.2)


def test_a_slow_endpoint_misses_its_objectives_and_the_overall_ones():
    objectives = load_objectives(DEFAULT_SLO)
    run = figures(entry("/api/v1/orders [vietqr]", {20: 80, 900: 20}, method="POST"))
    missed_ones = {
        (v.objective.subject, v.objective.measure) for v in missed(evaluate(objectives, run))
    }
    assert missed_ones == {
        ("overall", "p95_ms"),
        ("overall", "p99_ms"),
        ("POST /api/v1/orders [vietqr]", "p95_ms"),
    }


def test_any_failure_misses_a_zero_error_rate_even_with_few_samples():
    objectives = load_objectives(DEFAULT_SLO)
    run = figures(entry("/api/v1/stalls/[id]", {5: 10}, failures=1))
    verdicts = evaluate(objectives, run)
    assert verdict(verdicts, "overall", "max_error_rate").met is False
    # Ten requests are too few to judge percentiles.
    assert verdict(verdicts, "GET /api/v1/stalls/[id]", "p95_ms").met is None


def test_throughput_below_the_minimum_per_user_is_missed():
    objectives = load_objectives(DEFAULT_SLO)
    run = figures(entry("/api/v1/stalls/[id]", {5: 100}), seconds=100, users=100)
    assert verdict(evaluate(objectives, run), "overall", "min_rps_per_user").met is False


def test_objectives_of_endpoints_not_called_are_not_judged():
    objectives = load_objectives(DEFAULT_SLO)
    verdicts = evaluate(objectives, figures(entry("/api/v1/stalls/[id]", {5: 100})))
    chart = verdict(verdicts, "GET /api/v1/reports/charts/share.png", "p95_ms")
    assert (chart.met, chart.note) == (None, "not called")

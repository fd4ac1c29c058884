"""Service-level objectives: read loadtest/slo.toml and judge a run's figures against it.

The figures are the `stats.json` the locustfile writes at the end of a run: per endpoint the
requests, the failures and the histogram of response times (milliseconds -> count).
"""

import math
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_SLO = Path(__file__).resolve().parent / "slo.toml"
OVERALL = "overall"
DEFAULT = "default"
LATENCIES = ("p50_ms", "p95_ms", "p99_ms")
ENDPOINT_KEYS = frozenset({*LATENCIES, "max_error_rate"})
OVERALL_KEYS = ENDPOINT_KEYS | {"min_rps", "min_rps_per_user", "exclude"}


class ObjectivesError(ValueError):
    """An objectives file that cannot be read."""


@dataclass(frozen=True)
class Objective:
    """A limit on one measure of one subject: the whole run or an endpoint."""

    subject: str  # "overall" or "METHOD name"
    measure: str  # p95_ms, p99_ms, max_error_rate, min_rps, min_rps_per_user
    limit: float

    @property
    def is_minimum(self) -> bool:
        return self.measure.startswith("min_")


@dataclass(frozen=True)
class Objectives:
    overall: tuple[Objective, ...]
    default: Mapping[str, float]  # measure -> limit, for endpoints without their own
    endpoints: Mapping[str, tuple[Objective, ...]]
    exclude: frozenset[str]  # endpoints left out of the overall latencies
    min_samples: int

    def count(self) -> int:
        """Return how many objectives the file states."""
        return len(self.overall) + len(self.default) + sum(map(len, self.endpoints.values()))


@dataclass(frozen=True)
class Verdict:
    objective: Objective
    measured: float | None
    met: bool | None  # None: not judged (too few samples, or the endpoint was not called)
    note: str = ""

    def describe(self) -> str:
        objective = self.objective
        sign = ">=" if objective.is_minimum else "<="
        value = "-" if self.measured is None else f"{self.measured:,.4g}"
        state = {True: "ok", False: "MISSED", None: "not judged"}[self.met]
        note = f" ({self.note})" if self.note else ""
        return (
            f"{state:<10} {objective.subject} {objective.measure} {value} "
            f"{sign} {objective.limit:,.4g}{note}"
        )


def load_objectives(path: Path = DEFAULT_SLO) -> Objectives:
    """Read an objectives file, refusing unknown measures and values of the wrong kind."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ObjectivesError(f"{path}: not valid TOML: {error}") from error
    unknown = set(data) - {"min_samples", OVERALL, "endpoints"}
    if unknown:
        raise ObjectivesError(f"{path}: unknown keys {sorted(unknown)}")
    overall = dict(data.get(OVERALL, {}))
    exclude = overall.pop("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(name, str) for name in exclude):
        raise ObjectivesError(f"{path}: overall.exclude must be a list of endpoint names")
    endpoints = dict(data.get("endpoints", {}))
    default = _limits(endpoints.pop(DEFAULT, {}), ENDPOINT_KEYS, f"endpoints.{DEFAULT}")
    min_samples = data.get("min_samples", 0)
    if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 0:
        raise ObjectivesError(f"{path}: min_samples must be a whole number, 0 or more")
    return Objectives(
        overall=_objectives(OVERALL, _limits(overall, OVERALL_KEYS - {"exclude"}, OVERALL)),
        default=default,
        endpoints={
            name: _objectives(name, _limits(table, ENDPOINT_KEYS, f"endpoints.{name!r}"))
            for name, table in endpoints.items()
        },
        exclude=frozenset(exclude),
        min_samples=min_samples,
    )


def _limits(table: Any, allowed: Iterable[str], where: str) -> dict[str, float]:
    if not isinstance(table, Mapping):
        raise ObjectivesError(f"{where}: expected a table")
    allowed = set(allowed)
    limits = {}
    for measure, limit in table.items():
        if measure not in allowed:
            raise ObjectivesError(f"{where}.{measure}: unknown; one of {sorted(allowed)}")
        if isinstance(limit, bool) or not isinstance(limit, int | float) or limit < 0:
            raise ObjectivesError(f"{where}.{measure}: {limit!r} is not a number, 0 or more")
        limits[measure] = float(limit)
    return limits


def _objectives(subject: str, limits: Mapping[str, float]) -> tuple[Objective, ...]:
    return tuple(Objective(subject, measure, limit) for measure, limit in limits.items())


@dataclass(frozen=True)
class Measured:
    """One endpoint's figures, or several merged."""

    requests: int
    failures: int
    histogram: Counter[int]  # response time in ms -> requests

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    def percentile(self, fraction: float) -> float | None:
        """Return the response time under which `fraction` of the requests finished."""
        timed = sum(self.histogram.values())
        if not timed:
            return None
        rank = max(1, math.ceil(fraction * timed))
        seen = 0
        for milliseconds in sorted(self.histogram):
            seen += self.histogram[milliseconds]
            if seen >= rank:
                return float(milliseconds)
        raise AssertionError("unreachable: the ranks add up to the total")

    def value(self, measure: str) -> float | None:
        if measure in LATENCIES:
            return self.percentile(int(measure[1:3]) / 100)
        if measure == "max_error_rate":
            return self.error_rate
        raise KeyError(measure)


def endpoint_figures(figures: Mapping[str, Any]) -> dict[str, Measured]:
    """Return each endpoint's figures from stats.json, keyed "METHOD name"."""
    measured = {}
    for entry in figures["entries"]:
        histogram = Counter({int(ms): int(n) for ms, n in entry["response_times"].items()})
        measured[f"{entry['method']} {entry['name']}"] = Measured(
            entry["num_requests"], entry["num_failures"], histogram
        )
    return measured


def merged(parts: Iterable[Measured]) -> Measured:
    histogram: Counter[int] = Counter()
    requests = failures = 0
    for part in parts:
        requests += part.requests
        failures += part.failures
        histogram.update(part.histogram)
    return Measured(requests, failures, histogram)


def duration_seconds(figures: Mapping[str, Any]) -> float:
    start, last = figures.get("start_time"), figures.get("last_request_timestamp")
    return max(0.0, last - start) if start and last else 0.0


def user_count(figures: Mapping[str, Any]) -> int:
    return sum(figures.get("users", {}).values()) or int(figures.get("target_users") or 0)


def evaluate(objectives: Objectives, figures: Mapping[str, Any]) -> list[Verdict]:
    """Judge a run's figures against every objective; a None verdict was not judged."""
    endpoints = endpoint_figures(figures)
    everything = merged(endpoints.values())
    timed = merged(m for name, m in endpoints.items() if name not in objectives.exclude)
    seconds = duration_seconds(figures)
    rps = everything.requests / seconds if seconds else 0.0
    users = user_count(figures)
    verdicts = []
    for objective in objectives.overall:
        if objective.measure == "min_rps":
            verdicts.append(_judge(objective, rps))
        elif objective.measure == "min_rps_per_user":
            verdicts.append(_judge(objective, rps / users if users else None))
        elif objective.measure == "max_error_rate":
            verdicts.append(_judge(objective, everything.error_rate))
        else:
            verdicts.append(_sampled(objective, timed, objectives.min_samples))
    for name, measured in sorted(endpoints.items()):
        own = objectives.endpoints.get(name)
        if own is None:
            own = _objectives(name, objectives.default)
        verdicts += [_sampled(objective, measured, objectives.min_samples) for objective in own]
    for name in sorted(set(objectives.endpoints) - set(endpoints)):
        verdicts += [
            Verdict(objective, None, None, "not called") for objective in objectives.endpoints[name]
        ]
    return verdicts


def _sampled(objective: Objective, measured: Measured, min_samples: int) -> Verdict:
    value = measured.value(objective.measure)
    if objective.measure in LATENCIES and measured.requests < min_samples:
        return Verdict(objective, value, None, f"{measured.requests} requests < {min_samples}")
    return _judge(objective, value)


def _judge(objective: Objective, value: float | None) -> Verdict:
    if value is None:
        return Verdict(objective, None, None, "nothing measured")
    met = value >= objective.limit if objective.is_minimum else value <= objective.limit
    return Verdict(objective, value, met)


def missed(verdicts: Iterable[Verdict]) -> list[Verdict]:
    """Return the verdicts of objectives the run missed."""
    return [verdict for verdict in verdicts if verdict.met is False]

"""The load test's people: loadtest/scenario.toml, a profile of it, and the simulator scenario."""

import math
import random
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from market.simulator.scenario import Scenario, StallMix, load_scenario

MAX_LINE_QUANTITY = 100  # as the simulator's baskets
DEFAULT_SCENARIO = Path(__file__).resolve().parent / "scenario.toml"
DEFAULT_PROFILE = "market-night"
USER_KINDS = ("shopper", "vendor", "official")
SECTIONS = ("shopper", "vendor", "official", "bank")


class ScenarioError(ValueError):
    """A load-test scenario value that is missing, unknown or out of range."""


@dataclass(frozen=True)
class ShopperPlan:
    think_seconds: float
    browse: int
    search: int
    buy: int
    retry_rate: float
    declined_card_rate: float


@dataclass(frozen=True)
class VendorPlan:
    sale_every_seconds: float
    long_poll_seconds: int
    give_up_seconds: float
    cash_share: float


@dataclass(frozen=True)
class OfficialPlan:
    think_seconds: float
    indicators: int
    csv: int
    chart: int
    report_days: int


@dataclass(frozen=True)
class BankPlan:
    users_per_worker: int
    poll_seconds: float
    paid_delay_median_seconds: float
    delay_sigma: float
    failed_rate: float
    partial_rate: float
    duplicate_rate: float
    concurrent_duplicate_rate: float
    redelivery_rate: float
    redelivery_after_seconds: float
    max_attempts: int


@dataclass(frozen=True)
class LoadProfile:
    """One profile of the scenario file, merged with its defaults and the simulator's figures."""

    name: str
    description: str
    users: Mapping[str, int]  # user weights by kind; kinds absent take no part
    shopper: ShopperPlan
    vendor: VendorPlan
    official: OfficialPlan
    bank: BankPlan
    simulator: Scenario
    world_seed: int
    stock_multiplier: int

    @property
    def stall_mixes(self) -> tuple[StallMix, ...]:
        """Return the stall categories of the simulator's first market, with their sales figures."""
        return self.simulator.markets[0].stalls

    @property
    def tourist_share(self) -> float:
        return self.simulator.markets[0].tourist_share


def load_profile(name: str = DEFAULT_PROFILE, path: Path = DEFAULT_SCENARIO) -> LoadProfile:
    """Read the scenario file and return one of its profiles, every value checked."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{path}: not valid TOML: {error}") from error
    profiles = _table(data, "profiles", "")
    if name not in profiles:
        raise ScenarioError(f"no profile {name!r} in {path}; one of {', '.join(profiles)}")
    profile = _table(profiles, name, "profiles")
    _refuse_unknown(profile, {"description", "users", *SECTIONS}, f"profiles.{name}")
    _refuse_unknown(
        data, {"simulator_scenario", "world_seed", "stock_multiplier", "profiles", *SECTIONS}, ""
    )
    simulator = load_scenario(_value(data, "simulator_scenario", str, ""))
    merged = {
        section: {**_table(data, section, ""), **_table(profile, section, f"profiles.{name}")}
        for section in SECTIONS
        if section in data or section in profile
    }
    users = _table(profile, "users", f"profiles.{name}")
    _refuse_unknown(users, set(USER_KINDS), f"profiles.{name}.users")
    weights = {kind: _count(users, kind, f"profiles.{name}.users", 0, 1000) for kind in users}
    if not any(weights.values()):
        raise ScenarioError(f"profiles.{name}.users: no kind of user has a weight above 0")
    market = simulator.markets[0]
    return LoadProfile(
        name=name,
        description=_value(profile, "description", str, f"profiles.{name}"),
        users={kind: weight for kind, weight in weights.items() if weight},
        shopper=_shopper(merged.get("shopper", {})),
        vendor=_vendor(
            merged.get("vendor", {}),
            default_cash_share=1 - simulator.shoppers.noncash_share(market.tourist_share),
        ),
        official=_official(merged.get("official", {})),
        bank=_bank(merged.get("bank", {}), simulator),
        simulator=simulator,
        world_seed=_count(data, "world_seed", "", 0, 2**31),
        stock_multiplier=_count(data, "stock_multiplier", "", 1, 10_000),
    )


def _shopper(table: Mapping[str, Any]) -> ShopperPlan:
    _refuse_unknown(table, set(ShopperPlan.__dataclass_fields__), "shopper")
    return ShopperPlan(
        think_seconds=_number(table, "think_seconds", "shopper", 0, 3600),
        browse=_count(table, "browse", "shopper", 0, 1000),
        search=_count(table, "search", "shopper", 0, 1000),
        buy=_count(table, "buy", "shopper", 0, 1000),
        retry_rate=_number(table, "retry_rate", "shopper", 0, 1),
        declined_card_rate=_number(table, "declined_card_rate", "shopper", 0, 1),
    )


def _vendor(table: Mapping[str, Any], default_cash_share: float) -> VendorPlan:
    _refuse_unknown(table, set(VendorPlan.__dataclass_fields__), "vendor")
    cash = _number(table, "cash_share", "vendor", 0, 1) if "cash_share" in table else None
    return VendorPlan(
        sale_every_seconds=_number(table, "sale_every_seconds", "vendor", 0.1, 3600),
        long_poll_seconds=_count(table, "long_poll_seconds", "vendor", 1, 30),
        give_up_seconds=_number(table, "give_up_seconds", "vendor", 1, 900),
        cash_share=default_cash_share if cash is None else cash,
    )


def _official(table: Mapping[str, Any]) -> OfficialPlan:
    _refuse_unknown(table, set(OfficialPlan.__dataclass_fields__), "official")
    return OfficialPlan(
        think_seconds=_number(table, "think_seconds", "official", 0, 3600),
        indicators=_count(table, "indicators", "official", 0, 1000),
        csv=_count(table, "csv", "official", 0, 1000),
        chart=_count(table, "chart", "official", 0, 1000),
        report_days=_count(table, "report_days", "official", 1, 366),
    )


def _bank(table: Mapping[str, Any], simulator: Scenario) -> BankPlan:
    own = set(BankPlan.__dataclass_fields__) - {"failed_rate", "partial_rate", "delay_sigma"}
    _refuse_unknown(table, own, "bank")
    return BankPlan(
        users_per_worker=_count(table, "users_per_worker", "bank", 1, 100),
        poll_seconds=_number(table, "poll_seconds", "bank", 0.01, 10),
        paid_delay_median_seconds=_number(table, "paid_delay_median_seconds", "bank", 0.01, 600),
        delay_sigma=simulator.qr.delay_sigma,
        failed_rate=simulator.qr.failed_rate,
        partial_rate=simulator.qr.partial_rate,
        duplicate_rate=_number(table, "duplicate_rate", "bank", 0, 1),
        concurrent_duplicate_rate=_number(table, "concurrent_duplicate_rate", "bank", 0, 1),
        redelivery_rate=_number(table, "redelivery_rate", "bank", 0, 1),
        redelivery_after_seconds=_number(table, "redelivery_after_seconds", "bank", 0, 240),
        max_attempts=_count(table, "max_attempts", "bank", 1, 20),
    )


def _key(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _table(data: Mapping[str, Any], name: str, path: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise ScenarioError(f"{_key(path, name)}: expected a table")
    return value


def _refuse_unknown(data: Mapping[str, Any], known: set[str], path: str) -> None:
    for name in data:
        if name not in known:
            raise ScenarioError(f"{_key(path, name)}: unknown; expected one of {sorted(known)}")


def _value(data: Mapping[str, Any], name: str, kind: type | tuple[type, ...], path: str) -> Any:
    if name not in data:
        raise ScenarioError(f"{_key(path, name)}: missing")
    value = data[name]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ScenarioError(f"{_key(path, name)}: {value!r} has the wrong type")
    return value


def _number(data: Mapping[str, Any], name: str, path: str, low: float, high: float) -> float:
    value = float(_value(data, name, (int, float), path))
    if not (math.isfinite(value) and low <= value <= high):
        raise ScenarioError(f"{_key(path, name)}: {value:g} is not from {low:g} to {high:g}")
    return value


def _count(data: Mapping[str, Any], name: str, path: str, low: int, high: int) -> int:
    value = _value(data, name, int, path)
    if not low <= value <= high:
        raise ScenarioError(f"{_key(path, name)}: {value} is not from {low:,} to {high:,}")
    return int(value)


def draw_basket(
    mix: StallMix, listings: Sequence[Mapping[str, Any]], rng: random.Random
) -> list[dict[str, int]]:
    """Draw one checkout's lines at a stall as the simulator's shoppers fill their baskets.

    The scalar form of market.simulator.behaviour's baskets: a geometric number of consecutive
    listings from a random first one, each taking an equal part of a log-normal ticket.
    """
    lines = 1
    while lines < len(listings) and rng.random() < mix.extra_line_share:
        lines += 1
    ticket = rng.lognormvariate(math.log(mix.ticket_median_vnd), mix.ticket_sigma)
    first = rng.randrange(len(listings))
    chosen = [listings[(first + offset) % len(listings)] for offset in range(lines)]
    share = ticket / lines
    return [
        {
            "listing_id": listing["id"],
            "quantity": min(MAX_LINE_QUANTITY, max(1, round(share / listing["price_vnd"]))),
        }
        for listing in chosen
    ]

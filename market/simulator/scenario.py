"""Simulation scenarios: every parameter read from a TOML file, checked, and kept with its source.

Built-in scenarios live in market/simulator/scenarios/<name>.toml. Each table of parameters
carries a `source` entry citing where its figures come from (domain.md and the original it
quotes); the loader refuses a table without one, so a parameter cannot arrive uncited.
"""

import csv
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from catalog.groups import product_groups
from catalog.models import ProducerType
from market.markets.models import MarketKind, StallCategory

CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
STALL_CODE_PREFIX = re.compile(r"[A-Za-z0-9]{1,8}")
# Shares written to three decimals, like the published mixes, add up to 1 within rounding.
SHARE_TOLERANCE = 0.005
MAX_COUNT = 1_000_000
MAX_PRICE_VND = 100_000_000

E = TypeVar("E", bound=StrEnum)


class ScenarioError(ValueError):
    """A scenario parameter that is missing, of the wrong kind, or out of range."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key


@dataclass(frozen=True)
class Commune:
    """A commune-level unit of market/data/communes.csv (GSO code, since 1 July 2025)."""

    code: str
    province_code: str
    name: str
    short_name: str


@cache
def communes() -> dict[str, Commune]:
    """Return every commune by its five-digit GSO code."""
    text = resources.files("market.data").joinpath("communes.csv").read_text(encoding="utf-8")
    return {
        row["code"]: Commune(row["code"], row["province_code"], row["name"], row["short_name"])
        for row in csv.DictReader(text.splitlines())
    }


@dataclass(frozen=True)
class Goods:
    """Something a stall sells that is not an OCOP product, at its usual price."""

    title: str
    unit: str
    price_vnd: int


@dataclass(frozen=True)
class StallMix:
    """How many stalls of one category a market has, what they offer and how they sell."""

    category: StallCategory
    count: int
    listings: tuple[int, int]  # the fewest and the most listings at one stall
    sales_per_hour: float
    ticket_median_vnd: int
    ticket_sigma: float  # of the log-normal ticket size
    extra_line_share: float  # the chance that a basket holds one more listing
    ocop_share: float  # the chance that a listing is an OCOP product of `ocop_groups`
    ocop_groups: tuple[str, ...]
    goods: tuple[Goods, ...]


@dataclass(frozen=True)
class Opening:
    """One line of a market's opening hours, in Vietnam's local time."""

    days: tuple[int, ...]  # ISO weekdays: 1 is Monday
    opens: time
    closes: time  # before `opens` means after midnight
    hourly_weights: tuple[float, ...]  # relative trade in each hour from opening

    @property
    def duration(self) -> timedelta:
        """Return how long the market stays open."""
        today = date.min
        length = datetime.combine(today, self.closes) - datetime.combine(today, self.opens)
        return length if length > timedelta(0) else length + timedelta(days=1)

    def schedule_entry(self) -> dict[str, Any]:
        """Return this opening as Market.schedule writes it."""
        return {
            "days": list(self.days),
            "opens": self.opens.strftime("%H:%M"),
            "closes": self.closes.strftime("%H:%M"),
        }


@dataclass(frozen=True)
class Campaign:
    """A launch day: QR boards handed out, then a stronger pull to adopt for a while."""

    day: date
    qr_boards: int
    p_multiplier: float
    boost_days: int


@dataclass(frozen=True)
class MarketPlan:
    """A market to build: where it is, when it opens, its stalls and its shoppers."""

    name: str
    commune_code: str
    kind: MarketKind
    market_class: int | None
    address: str
    stall_code_prefix: str
    openings: tuple[Opening, ...]
    weekday_weights: tuple[float, ...]  # Monday to Sunday
    tourist_share: float
    start_noncash_share: float
    campaigns: tuple[Campaign, ...]
    stalls: tuple[StallMix, ...]

    def schedule(self) -> list[dict[str, Any]]:
        """Return the opening hours in Market.schedule's format."""
        return [opening.schedule_entry() for opening in self.openings]


@dataclass(frozen=True)
class Segment:
    """How one kind of shopper can and will pay at a stall that takes QR and cards."""

    bank_account_share: float
    smartphone_share: float
    qr_preference: float  # of those who can scan, the share who do
    card_share: float  # of all sales to this segment, the share paid by card

    @property
    def qr_capable_share(self) -> float:
        """Return the share who hold both a bank account and a smartphone."""
        return self.bank_account_share * self.smartphone_share

    @property
    def noncash_share(self) -> float:
        """Return the share of this segment's sales made without cash at an adopting stall."""
        return self.card_share + (1 - self.card_share) * self.qr_capable_share * self.qr_preference


@dataclass(frozen=True)
class Shoppers:
    """The two kinds of shopper: people of the province, and visitors from elsewhere."""

    local: Segment
    tourist: Segment

    def noncash_share(self, tourist_share: float) -> float:
        """Return the non-cash share of sales at a stall that takes QR and cards."""
        local = self.local.noncash_share * (1 - tourist_share)
        return local + self.tourist.noncash_share * tourist_share


@dataclass(frozen=True)
class Bass:
    """Bass diffusion of QR acceptance among a market's vendors, per year."""

    p: float  # innovation: adopting on one's own
    q: float  # imitation: adopting because neighbours did


@dataclass(frozen=True)
class QrOutcomes:
    """What happens after a shopper is shown a VietQR code."""

    failed_rate: float  # never paid: the code expires
    late_rate: float  # paid in full after the code expired
    partial_rate: float  # paid on time, but less than the amount
    paid_delay_median_seconds: float
    late_delay_median_minutes: float  # after expiry
    delay_sigma: float  # of the log-normal delays


@dataclass(frozen=True)
class ProductKind:
    """A kind of OCOP product the province makes, with a usual retail price."""

    group_code: str
    subgroup_code: str
    name: str
    unit: str
    price_vnd: int


@dataclass(frozen=True)
class Ocop:
    """The OCOP producers and products of the markets' province, and their mixes."""

    province_code: str
    producers: int
    products_per_producer: float
    first_decisions_from: date
    renewal_share: float
    producer_types: Mapping[ProducerType, float]
    stars: Mapping[int, float]
    groups: Mapping[str, float]
    kinds: tuple[ProductKind, ...]


@dataclass(frozen=True)
class Calendar:
    """Days that change trade: the weeks of shopping before Tết."""

    tet_days: tuple[date, ...]  # lunar new year's days (mùng 1 Tết)
    tet_peak_days: int
    tet_multiplier: float

    def multiplier(self, day: date) -> float:
        """Return how much busier the markets are on `day` than on an ordinary one."""
        for tet in self.tet_days:
            if timedelta(0) < tet - day <= timedelta(days=self.tet_peak_days):
                return self.tet_multiplier
        return 1.0


@dataclass(frozen=True)
class Scenario:
    """Everything a simulation run needs besides its start, length and seed."""

    name: str
    title: str
    as_of: date  # the world's today: certification decisions are dated on or before it
    price_step_vnd: int
    price_sigma: float  # of the log-normal spread of one good's price from stall to stall
    calendar: Calendar
    adoption: Bass
    qr: QrOutcomes
    shoppers: Shoppers
    ocop: Ocop
    markets: tuple[MarketPlan, ...]
    sources: Mapping[str, str]  # dotted table path ("" for the top) -> its figures' source


def builtin_scenarios() -> list[str]:
    """Return the names of the scenarios shipped with the simulator."""
    folder = resources.files(__package__).joinpath("scenarios")
    return sorted(item.name.removesuffix(".toml") for item in folder.iterdir() if item.is_file())


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Read a built-in scenario by name, or a scenario file by path, and check every parameter."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith(".toml") or "/" in text:
        raw = Path(name_or_path).read_text(encoding="utf-8")
    elif text in builtin_scenarios():
        raw = resources.files(__package__).joinpath("scenarios", f"{text}.toml").read_text("utf-8")
    else:
        raise ScenarioError(
            "scenario", f"no built-in scenario {text!r}; one of {', '.join(builtin_scenarios())}"
        )
    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError("scenario", f"not valid TOML: {error}") from error
    return read_scenario(data)


def read_scenario(data: Mapping[str, Any]) -> Scenario:
    """Build a scenario from parsed TOML, naming the dotted key of the first bad parameter."""
    sources: dict[str, str] = {}
    root = _Table(data, "", sources)
    root.cite()
    shoppers = _shoppers(root.table("shoppers"))
    ocop = _ocop(root.table("ocop"))
    price_step = root.count("price_step_vnd", 1, 100_000)
    markets = tuple(_market(table, shoppers, price_step) for table in root.tables("markets"))
    if not markets:
        raise ScenarioError("markets", "empty; expected at least one market")
    scenario = Scenario(
        name=root.text("name", 80),
        title=root.text("title", 200),
        as_of=root.day("as_of"),
        price_step_vnd=price_step,
        price_sigma=root.number("price_sigma", 0, 2),
        calendar=_calendar(root.table("calendar")),
        adoption=_bass(root.table("adoption")),
        qr=_qr(root.table("qr")),
        shoppers=shoppers,
        ocop=ocop,
        markets=markets,
        sources=sources,
    )
    if scenario.ocop.first_decisions_from > scenario.as_of:
        raise ScenarioError(
            "ocop.first_decisions_from",
            f"{scenario.ocop.first_decisions_from} is out of range; expected a date on or before"
            f" as_of ({scenario.as_of})",
        )
    root.close()
    return scenario


class _Table:
    """A TOML table being read: it knows its dotted path and refuses keys nobody read."""

    def __init__(self, data: Any, path: str, sources: dict[str, str]) -> None:
        if not isinstance(data, Mapping):
            raise ScenarioError(path, "expected a table")
        self._data = data
        self._path = path
        self._sources = sources
        self._read: set[str] = set()

    def key(self, name: str) -> str:
        """Return the dotted path of one of this table's keys."""
        return f"{self._path}.{name}" if self._path else name

    def fail(self, name: str, problem: str) -> ScenarioError:
        """Return the error for a bad value of `name`."""
        return ScenarioError(self.key(name), problem)

    def _get(self, name: str, expected: str) -> Any:
        self._read.add(name)
        if name not in self._data:
            raise self.fail(name, f"missing; expected {expected}")
        return self._data[name]

    def _out_of_range(self, name: str, value: Any, expected: str) -> ScenarioError:
        return self.fail(name, f"{value!r} is out of range; expected {expected}")

    def cite(self) -> None:
        """Record this table's `source`, which every table of parameters must have."""
        self._sources[self._path] = self.text("source", 1000)

    def number(self, name: str, low: float, high: float) -> float:
        """Return a number from `low` to `high`."""
        expected = f"a number from {low:g} to {high:g}"
        return self._number(name, self._get(name, expected), low, high, expected)

    def _number(self, name: str, value: Any, low: float, high: float, expected: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._out_of_range(name, value, expected)
        if not low <= value <= high:
            raise self._out_of_range(name, value, expected)
        return float(value)

    def share(self, name: str) -> float:
        """Return a probability or share, from 0 to 1."""
        expected = "a share from 0 to 1"
        return self._number(name, self._get(name, expected), 0, 1, expected)

    def count(self, name: str, low: int = 0, high: int = MAX_COUNT) -> int:
        """Return a whole number from `low` to `high`."""
        expected = f"a whole number from {low:,} to {high:,}"
        value = self._get(name, expected)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self._out_of_range(name, value, expected)
        return value

    def text(self, name: str, max_length: int) -> str:
        """Return a non-empty string of at most `max_length` characters."""
        expected = f"text of 1 to {max_length} characters"
        value = self._get(name, expected)
        if not isinstance(value, str) or not 1 <= len(value.strip()) <= max_length:
            raise self._out_of_range(name, value, expected)
        return value.strip()

    def day(self, name: str) -> date:
        """Return a TOML date (2026-11-01)."""
        value = self._get(name, "a date such as 2026-11-01")
        if not isinstance(value, date) or isinstance(value, datetime):
            raise self.fail(name, f"{value!r} is not a date; expected a date such as 2026-11-01")
        return value

    def days(self, name: str) -> tuple[date, ...]:
        """Return a list of TOML dates."""
        values = self._get(name, "a list of dates such as [2027-02-06]")
        if not isinstance(values, list) or not all(
            isinstance(value, date) and not isinstance(value, datetime) for value in values
        ):
            raise self.fail(name, f"{values!r} is not a list of dates such as [2027-02-06]")
        return tuple(values)

    def clock(self, name: str) -> time:
        """Return a 24-hour local time written "HH:MM"."""
        expected = 'a 24-hour time such as "19:00"'
        value = self._get(name, expected)
        match = CLOCK.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            raise self._out_of_range(name, value, expected)
        return time(int(match[1]), int(match[2]))

    def choice(self, name: str, kind: type[E]) -> E:
        """Return a member of the enum `kind`, written as its value."""
        expected = "one of " + ", ".join(member.value for member in kind)
        value = self._get(name, expected)
        try:
            return kind(value)
        except ValueError:
            raise self._out_of_range(name, value, expected) from None

    def commune(self, name: str) -> str:
        """Return a commune code of market/data/communes.csv."""
        expected = "a five-digit GSO commune code of market/data/communes.csv, e.g. 01273"
        value = self._get(name, expected)
        if value not in communes():
            raise self.fail(name, f"{value!r} is not a commune code; expected {expected}")
        return str(value)

    def numbers(self, name: str, low: float, high: float, length: int) -> tuple[float, ...]:
        """Return a list of `length` numbers, each from `low` to `high`."""
        expected = f"a list of {length} numbers from {low:g} to {high:g}"
        values = self._get(name, expected)
        if not isinstance(values, list) or len(values) != length:
            raise self.fail(name, f"{values!r} does not fit; expected {expected}")
        return tuple(self._number(name, value, low, high, expected) for value in values)

    def counts(self, name: str, low: int, high: int) -> tuple[int, ...]:
        """Return a non-empty list of whole numbers, each from `low` to `high`."""
        expected = f"a list of whole numbers from {low:,} to {high:,}"
        values = self._get(name, expected)
        if (
            not isinstance(values, list)
            or not values
            or not all(
                isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
                for value in values
            )
        ):
            raise self._out_of_range(name, values, expected)
        return tuple(values)

    def one_of(self, name: str, allowed: Iterable[str]) -> str:
        """Return a string that is one of `allowed`."""
        allowed = list(allowed)
        expected = "one of " + ", ".join(allowed)
        value = self._get(name, expected)
        if value not in allowed:
            raise self._out_of_range(name, value, expected)
        return str(value)

    def texts(self, name: str, allowed: Iterable[str]) -> tuple[str, ...]:
        """Return a list of strings, each one of `allowed`."""
        allowed = list(allowed)
        expected = "a list of " + ", ".join(allowed)
        values = self._get(name, expected)
        if not isinstance(values, list) or not all(value in allowed for value in values):
            raise self._out_of_range(name, values, expected)
        return tuple(values)

    def shares(self, name: str, allowed: Iterable[str]) -> dict[str, float]:
        """Return a cited table of shares, keyed by some of `allowed`, that add up to 1."""
        table = self.table(name)
        table.cite()
        allowed = list(allowed)
        keys = [key for key in table._data if key != "source"]
        for key in keys:
            if key not in allowed:
                raise table.fail(key, f"unknown; expected one of {', '.join(allowed)}")
        shares = {key: table.share(key) for key in keys}
        total = sum(shares.values())
        if abs(total - 1) > SHARE_TOLERANCE:
            raise self.fail(name, f"the shares add up to {total:g}; expected 1")
        return shares

    def table(self, name: str) -> "_Table":
        """Return a sub-table."""
        value = self._get(name, "a table")
        if not isinstance(value, Mapping):
            raise self.fail(name, "expected a table")
        return _Table(value, self.key(name), self._sources)

    def tables(self, name: str) -> list["_Table"]:
        """Return an array of tables, each with its index in its path: markets[0]."""
        values = self._get(name, "an array of tables")
        if not isinstance(values, list):
            raise self.fail(name, "expected an array of tables")
        return [
            _Table(value, f"{self.key(name)}[{index}]", self._sources)
            for index, value in enumerate(values)
        ]

    def close(self) -> None:
        """Refuse keys that no parameter read, such as a misspelt one."""
        for name in self._data:
            if name not in self._read:
                raise self.fail(name, "unknown parameter")


def _calendar(table: _Table) -> Calendar:
    table.cite()
    calendar = Calendar(
        tet_days=table.days("tet_days"),
        tet_peak_days=table.count("tet_peak_days", 0, 60),
        tet_multiplier=table.number("tet_multiplier", 0, 10),
    )
    table.close()
    return calendar


def _bass(table: _Table) -> Bass:
    table.cite()
    bass = Bass(p=table.share("p"), q=table.number("q", 0, 5))
    table.close()
    return bass


def _qr(table: _Table) -> QrOutcomes:
    table.cite()
    outcomes = QrOutcomes(
        failed_rate=table.share("failed_rate"),
        late_rate=table.share("late_rate"),
        partial_rate=table.share("partial_rate"),
        paid_delay_median_seconds=table.number("paid_delay_median_seconds", 1, 600),
        late_delay_median_minutes=table.number("late_delay_median_minutes", 1, 24 * 60),
        delay_sigma=table.number("delay_sigma", 0, 3),
    )
    failing = outcomes.failed_rate + outcomes.late_rate + outcomes.partial_rate
    if failing > 1:
        raise table.fail(
            "partial_rate", f"the failed, late and partial rates add up to {failing:g}"
        )
    table.close()
    return outcomes


def _segment(table: _Table) -> Segment:
    table.cite()
    segment = Segment(
        bank_account_share=table.share("bank_account_share"),
        smartphone_share=table.share("smartphone_share"),
        qr_preference=table.share("qr_preference"),
        card_share=table.share("card_share"),
    )
    table.close()
    return segment


def _shoppers(table: _Table) -> Shoppers:
    shoppers = Shoppers(
        local=_segment(table.table("local")), tourist=_segment(table.table("tourist"))
    )
    table.close()
    return shoppers


def _ocop(table: _Table) -> Ocop:
    table.cite()
    province = table.text("province_code", 2)
    if not any(commune.province_code == province for commune in communes().values()):
        raise table.fail("province_code", f"{province!r} is not a two-digit GSO province code")
    groups = table.shares("groups", _group_codes())
    kinds = tuple(_kind(kind) for kind in table.tables("kinds"))
    for group, share in groups.items():
        if share > 0 and not any(kind.group_code == group for kind in kinds):
            raise ScenarioError(
                f"{table.key('groups')}.{group}", "has a share but no kind in ocop.kinds"
            )
    ocop = Ocop(
        province_code=province,
        producers=table.count("producers"),
        products_per_producer=table.number("products_per_producer", 1, 100),
        first_decisions_from=table.day("first_decisions_from"),
        renewal_share=table.share("renewal_share"),
        producer_types={
            ProducerType(key): share
            for key, share in table.shares("producer_types", list(ProducerType)).items()
        },
        stars={int(key): share for key, share in table.shares("stars", ("3", "4", "5")).items()},
        groups=groups,
        kinds=kinds,
    )
    table.close()
    return ocop


def _group_codes() -> list[str]:
    return [code for code, group in product_groups().items() if group.parent_code is None]


def _kind(table: _Table) -> ProductKind:
    group = table.one_of("group_code", _group_codes())
    subgroups = [code for code, sub in product_groups().items() if sub.parent_code == group]
    kind = ProductKind(
        group_code=group,
        subgroup_code=table.one_of("subgroup_code", subgroups),
        name=table.text("name", 160),
        unit=table.text("unit", 30),
        price_vnd=table.count("price_vnd", 1, MAX_PRICE_VND),
    )
    table.close()
    return kind


def _market(table: _Table, shoppers: Shoppers, price_step: int) -> MarketPlan:
    table.cite()
    prefix = table.text("stall_code_prefix", 8)
    if not STALL_CODE_PREFIX.fullmatch(prefix):
        raise table.fail("stall_code_prefix", f"{prefix!r}: expected 1 to 8 letters or digits")
    stalls = tuple(_stall_mix(mix, price_step) for mix in table.tables("stalls"))
    categories = [mix.category for mix in stalls]
    for category in set(categories):
        if categories.count(category) > 1:
            raise table.fail("stalls", f"{category} appears twice; expected one line per category")
    openings = tuple(_opening(opening) for opening in table.tables("openings"))
    if not openings:
        raise table.fail("openings", "empty; expected at least one opening")
    tourist_share = table.share("tourist_share")
    start = table.share("start_noncash_share")
    ceiling = shoppers.noncash_share(tourist_share)
    if start > ceiling:
        raise table.fail(
            "start_noncash_share",
            f"{start:g} is out of range; expected a share from 0 to {ceiling:.3f}, what these"
            " shoppers would pay without cash if every stall took QR",
        )
    stall_count = sum(mix.count for mix in stalls)
    market_class = table.count("market_class", 0, 3)
    plan = MarketPlan(
        name=table.text("name", 120),
        commune_code=table.commune("commune_code"),
        kind=table.choice("kind", MarketKind),
        market_class=market_class or None,
        address=table.text("address", 200),
        stall_code_prefix=prefix,
        openings=openings,
        weekday_weights=table.numbers("weekday_weights", 0, 100, 7),
        tourist_share=tourist_share,
        start_noncash_share=start,
        campaigns=tuple(_campaign(campaign, stall_count) for campaign in table.tables("campaigns")),
        stalls=stalls,
    )
    table.close()
    return plan


def _opening(table: _Table) -> Opening:
    table.cite()
    days = table.counts("days", 1, 7)
    if len(set(days)) != len(days):
        raise table.fail("days", f"{list(days)} repeats a day")
    opens, closes = table.clock("opens"), table.clock("closes")
    if opens == closes:
        raise table.fail("closes", "a market cannot close when it opens")
    opening = Opening(days, opens, closes, ())
    hours = math.ceil(opening.duration / timedelta(hours=1))
    opening = Opening(days, opens, closes, table.numbers("hourly_weights", 0, 100, hours))
    table.close()
    return opening


def _stall_mix(table: _Table, price_step: int) -> StallMix:
    table.cite()
    listings = table.counts("listings", 1, 50)
    if len(listings) != 2 or listings[0] > listings[1]:
        raise table.fail(
            "listings", f"{list(listings)} does not fit; expected [fewest, most], e.g. [2, 4]"
        )
    goods = tuple(_goods(item, price_step) for item in table.tables("goods"))
    if not goods:
        raise table.fail("goods", "empty; expected at least one kind of goods")
    mix = StallMix(
        category=table.choice("category", StallCategory),
        count=table.count("count"),
        listings=(listings[0], listings[1]),
        sales_per_hour=table.number("sales_per_hour", 0, 1000),
        ticket_median_vnd=table.count("ticket_median_vnd", price_step, MAX_PRICE_VND),
        ticket_sigma=table.number("ticket_sigma", 0, 3),
        extra_line_share=table.number("extra_line_share", 0, 0.95),
        ocop_share=table.share("ocop_share"),
        ocop_groups=table.texts("ocop_groups", _group_codes()),
        goods=goods,
    )
    table.close()
    return mix


def _goods(table: _Table, price_step: int) -> Goods:
    goods = Goods(
        title=table.text("title", 160),
        unit=table.text("unit", 30),
        price_vnd=table.count("price_vnd", price_step, MAX_PRICE_VND),
    )
    table.close()
    return goods


def _campaign(table: _Table, stall_count: int) -> Campaign:
    table.cite()
    campaign = Campaign(
        day=table.day("day"),
        qr_boards=table.count("qr_boards", 0, stall_count),
        p_multiplier=table.number("p_multiplier", 1, 1000),
        boost_days=table.count("boost_days", 0, 3650),
    )
    table.close()
    return campaign

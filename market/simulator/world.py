"""The generated world: OCOP producers and products, markets, vendors, stalls, listings, shoppers.

Plain frozen dataclasses whose fields are what the services take (catalog.services,
market.markets.services, market.vendors.services). Entities refer to each other by key: a
seeded random token that says nothing of the entity's role or order.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, TypeVar

import numpy as np

from catalog.models import IssuingLevel, ProducerType
from catalog.services import DISTRICTS_ABOLISHED, SCORE_RANGES, VALIDITY_MONTHS, add_months
from market.markets.models import MarketKind, StallCategory
from market.simulator.people import People, Person
from market.simulator.scenario import (
    Commune,
    Goods,
    MarketPlan,
    ProductKind,
    Scenario,
    Segment,
    StallMix,
    communes,
)

WORLD_STREAM = 1  # play draws from streams 2 and 3 of the same seed
KEY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no l, o, 0, 1: keys get read aloud
KEY_LENGTH = 12
# A vendor brings about four market days of goods, and restocks when half is gone.
STOCK_MARKET_DAYS = 4
MIN_STOCK = 10
MAX_STOCK = 1_000_000  # the listing schema's ceiling
# Re-evaluation happens in the months before a certificate ends (notice comes 30 days ahead).
RENEWAL_LEAD_DAYS = 60
COOPERATIVE_FORMS = {
    ProducerType.COOPERATIVE: "Hợp tác xã",
    ProducerType.COOPERATIVE_GROUP: "Tổ hợp tác",
}
ENTERPRISE_FORMS = ("Công ty TNHH", "Công ty Cổ phần")
HONORIFICS = {True: ("cô", "chị", "bà"), False: ("anh", "chú", "ông")}
STALL_NAME_LENGTH = 120

T = TypeVar("T")


class ShopperKind(StrEnum):
    """Who buys at a market.

    local: a person of the market's commune and province.
    tourist: a visitor from elsewhere in Vietnam or abroad.
    """

    LOCAL = "local"
    TOURIST = "tourist"


@dataclass(frozen=True)
class Producer:
    """An OCOP producer ("chủ thể OCOP")."""

    key: str
    name: str
    producer_type: ProducerType
    commune_code: str


@dataclass(frozen=True)
class Certification:
    """One OCOP recognition decision; record them in the order given."""

    stars: int
    score: int
    decision_number: str
    decision_date: date
    issuing_level: IssuingLevel

    @property
    def valid_until(self) -> date:
        """Return the last day of validity, 36 months after the decision."""
        return add_months(self.decision_date, VALIDITY_MONTHS)


@dataclass(frozen=True)
class Product:
    """An OCOP product, with its certifications from the first to the latest."""

    key: str
    producer: str
    name: str
    group_code: str
    subgroup_code: str
    unit: str
    origin_commune_code: str
    description: str
    certifications: tuple[Certification, ...]


@dataclass(frozen=True)
class Market:
    """A market, with its opening hours in Market.schedule's format."""

    key: str
    name: str
    commune_code: str
    kind: MarketKind
    market_class: int | None
    address: str
    schedule: list[dict[str, Any]]


@dataclass(frozen=True)
class Vendor:
    """A stallholder: the owner's account name, the business and its payout account."""

    key: str
    owner_name: str
    display_name: str
    phone: str
    bank_bin: str
    account_number: str
    account_holder: str


@dataclass(frozen=True)
class Stall:
    """A vendor's place in a market, with the code painted on it."""

    key: str
    market: str
    vendor: str
    code: str
    name: str
    category: StallCategory


@dataclass(frozen=True)
class Listing:
    """What a stall offers: an OCOP product (`product`) or other goods, at a whole-dong price."""

    key: str
    stall: str
    vendor: str
    product: str | None
    title: str
    unit: str
    price_vnd: int
    stock: int  # the opening stock, and the level a restock brings it back to


@dataclass(frozen=True)
class ShopperSegment:
    """One kind of shopper at one market: their share of its sales and how they pay."""

    market: str
    kind: ShopperKind
    share: float
    home_commune_code: str | None  # None: from anywhere
    habits: Segment


@dataclass(frozen=True)
class World:
    """Everything a scenario's run happens in, built once from the scenario and a seed."""

    scenario: str
    seed: int
    producers: tuple[Producer, ...]
    products: tuple[Product, ...]
    markets: tuple[Market, ...]
    vendors: tuple[Vendor, ...]
    stalls: tuple[Stall, ...]
    listings: tuple[Listing, ...]  # grouped by stall, in the order of `stalls`
    shoppers: tuple[ShopperSegment, ...]


def build_world(scenario: Scenario, seed: int) -> World:
    """Draw the scenario's producers, products, markets, vendors, stalls and listings."""
    builder = _Builder(scenario, seed)
    builder.add_ocop()
    for plan in scenario.markets:
        builder.add_market(plan)
    return World(
        scenario=scenario.name,
        seed=seed,
        producers=tuple(builder.producers),
        products=tuple(builder.products),
        markets=tuple(builder.markets),
        vendors=tuple(builder.vendors),
        stalls=tuple(builder.stalls),
        listings=tuple(builder.listings),
        shoppers=tuple(builder.shoppers),
    )


class _Builder:
    """Draws the world entity by entity from one random stream and one source of people."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.rng = np.random.default_rng([seed, WORLD_STREAM])
        self.people = People(seed)
        self.keys: set[str] = set()
        self.producers: list[Producer] = []
        self.products: list[Product] = []
        self.markets: list[Market] = []
        self.vendors: list[Vendor] = []
        self.stalls: list[Stall] = []
        self.listings: list[Listing] = []
        self.shoppers: list[ShopperSegment] = []
        self.kinds: dict[str, ProductKind] = {}  # product key -> its kind, for listing prices

    def key(self) -> str:
        """Return a new key, unique in this world."""
        while True:
            digits = self.rng.integers(len(KEY_ALPHABET), size=KEY_LENGTH)
            key = "".join(KEY_ALPHABET[digit] for digit in digits)
            if key not in self.keys:
                self.keys.add(key)
                return key

    def pick(self, shares: Mapping[T, float]) -> T:
        """Return one key of `shares`, drawn with its share as its probability."""
        keys = list(shares)
        weights = np.array([shares[key] for key in keys])
        return keys[int(self.rng.choice(len(keys), p=weights / weights.sum()))]

    def add_ocop(self) -> None:
        """Add the province's producers, each with its products and their certifications."""
        ocop = self.scenario.ocop
        places = [
            place for place in communes().values() if place.province_code == ocop.province_code
        ]
        kinds: dict[str, list[ProductKind]] = {}
        for kind in ocop.kinds:
            kinds.setdefault(kind.group_code, []).append(kind)
        for _ in range(ocop.producers):
            producer_key = self.key()
            producer_type = self.pick(ocop.producer_types)
            place = places[int(self.rng.integers(len(places)))]
            count = 1 + int(self.rng.poisson(ocop.products_per_producer - 1))
            made: list[ProductKind] = []
            for _ in range(count):
                group = kinds[self.pick(ocop.groups)]
                # A producer makes different kinds of a group until the group runs out of kinds.
                fresh = [kind for kind in group if kind not in made] or group
                made.append(fresh[int(self.rng.integers(len(fresh)))])
            name = self._producer_name(producer_type, made[0], place)
            self.producers.append(Producer(producer_key, name, producer_type, place.code))
            for kind in made:
                product = Product(
                    key=self.key(),
                    producer=producer_key,
                    name=f"{kind.name} {place.short_name}",
                    group_code=kind.group_code,
                    subgroup_code=kind.subgroup_code,
                    unit=kind.unit,
                    origin_commune_code=place.code,
                    description=f"{kind.name} của {name} (dữ liệu mô phỏng).",
                    certifications=self._certifications(),
                )
                self.products.append(product)
                self.kinds[product.key] = kind

    def _producer_name(self, producer_type: ProducerType, kind: ProductKind, place: Commune) -> str:
        if producer_type is ProducerType.HOUSEHOLD_BUSINESS:
            return f"Hộ kinh doanh {self.people.person().full_name}"
        if producer_type is ProducerType.ENTERPRISE:
            form = ENTERPRISE_FORMS[int(self.rng.integers(len(ENTERPRISE_FORMS)))]
        else:
            form = COOPERATIVE_FORMS[producer_type]
        return f"{form} {kind.name} {place.short_name}"

    def _certifications(self) -> tuple[Certification, ...]:
        """Return a first decision and the renewals that followed it, up to the world's today."""
        ocop, today = self.scenario.ocop, self.scenario.as_of
        span = (today - ocop.first_decisions_from).days
        day = ocop.first_decisions_from + timedelta(days=int(self.rng.integers(span + 1)))
        certifications: list[Certification] = []
        while True:
            stars = self.pick(ocop.stars)
            scores = SCORE_RANGES[stars]
            certifications.append(
                Certification(
                    stars=stars,
                    score=int(self.rng.integers(scores.start, scores.stop)),
                    decision_number=self._decision_number(stars, certifications),
                    decision_date=day,
                    issuing_level=_issuing_level(stars, day),
                )
            )
            lead = timedelta(days=int(self.rng.integers(RENEWAL_LEAD_DAYS + 1)))
            renewal = add_months(day, VALIDITY_MONTHS) - lead
            if renewal > today or self.rng.random() >= ocop.renewal_share:
                return tuple(certifications)
            day = renewal

    def _decision_number(self, stars: int, earlier: list[Certification]) -> str:
        issuer = "QĐ-BNN-VPĐP" if stars == 5 else "QĐ-UBND"
        while True:
            number = f"{int(self.rng.integers(100, 3000))}/{issuer}"
            if all(number != certification.decision_number for certification in earlier):
                return number

    def add_market(self, plan: MarketPlan) -> None:
        """Add a market, its two kinds of shopper, and its stalls with their vendors."""
        market = Market(
            key=self.key(),
            name=plan.name,
            commune_code=plan.commune_code,
            kind=plan.kind,
            market_class=plan.market_class,
            address=plan.address,
            schedule=plan.schedule(),
        )
        self.markets.append(market)
        shoppers = self.scenario.shoppers
        self.shoppers += [
            ShopperSegment(
                market.key,
                ShopperKind.LOCAL,
                1 - plan.tourist_share,
                plan.commune_code,
                shoppers.local,
            ),
            ShopperSegment(
                market.key, ShopperKind.TOURIST, plan.tourist_share, None, shoppers.tourist
            ),
        ]
        number = 0
        for mix in plan.stalls:
            products = [
                product for product in self.products if product.group_code in mix.ocop_groups
            ]
            for _ in range(mix.count):
                number += 1
                code = f"{plan.stall_code_prefix}-{number:02d}"
                self._add_stall(market, mix, code, products, _market_day_hours(plan))

    def _add_stall(
        self, market: Market, mix: StallMix, code: str, products: list[Product], hours: float
    ) -> None:
        person = self.people.person()
        phone = self.people.phone()
        account = self.people.bank_account(person, phone)
        stall_key, vendor_key = self.key(), self.key()
        offers = self._offers(mix, products)
        for title, unit, reference, product in offers:
            price = self._price(reference)
            self.listings.append(
                Listing(
                    key=self.key(),
                    stall=stall_key,
                    vendor=vendor_key,
                    product=product,
                    title=title,
                    unit=unit,
                    price_vnd=price,
                    stock=_stock(mix, price, len(offers), hours),
                )
            )
        self.vendors.append(
            Vendor(
                key=vendor_key,
                owner_name=person.full_name,
                display_name=f"{offers[0][0]} {self._honorific(person)} {person.given}",
                phone=phone,
                bank_bin=account.bank_bin,
                account_number=account.number,
                account_holder=account.holder,
            )
        )
        name = offers[0][0]
        for title, *_ in offers[1:]:
            if len(name) + len(title) + 2 > STALL_NAME_LENGTH:
                break
            name = f"{name}, {title}"
        self.stalls.append(Stall(stall_key, market.key, vendor_key, code, name, mix.category))

    def _offers(
        self, mix: StallMix, products: list[Product]
    ) -> list[tuple[str, str, int, str | None]]:
        """Return (title, unit, usual price, product key) for each listing of a new stall."""
        count = int(self.rng.integers(mix.listings[0], mix.listings[1] + 1))
        goods: list[Goods] = [mix.goods[index] for index in self.rng.permutation(len(mix.goods))]
        shelf = [products[index] for index in self.rng.permutation(len(products))]
        offers: list[tuple[str, str, int, str | None]] = []
        for _ in range(count):
            ocop = self.rng.random() < mix.ocop_share or (not goods and mix.ocop_share > 0)
            if shelf and ocop:
                product = shelf.pop()
                offers.append(
                    (product.name, product.unit, self.kinds[product.key].price_vnd, product.key)
                )
            elif goods:
                item = goods.pop()
                offers.append((item.title, item.unit, item.price_vnd, None))
        return offers

    def _price(self, reference: int) -> int:
        """Return this stall's price for goods that usually cost `reference`, in whole steps."""
        step = self.scenario.price_step_vnd
        price = reference * math.exp(self.rng.normal(0, self.scenario.price_sigma))
        return max(1, round(price / step)) * step

    def _honorific(self, person: Person) -> str:
        choices = HONORIFICS[person.female]
        return choices[int(self.rng.integers(len(choices)))]


def _issuing_level(stars: int, decided: date) -> IssuingLevel:
    """Return who recognised these stars on that day (QĐ 148/2023, QĐ 1489/2025)."""
    if stars == 5:
        return IssuingLevel.CENTRAL
    if stars == 3 and decided < DISTRICTS_ABOLISHED:
        return IssuingLevel.DISTRICT_LEGACY
    return IssuingLevel.PROVINCE


def _stock(mix: StallMix, price: int, listings: int, hours: float) -> int:
    """Return a listing's opening stock: about STOCK_MARKET_DAYS market days of expected sales."""
    lines = min(listings, 1 / (1 - mix.extra_line_share))
    ticket = mix.ticket_median_vnd * math.exp(mix.ticket_sigma**2 / 2)
    quantity = max(1.0, ticket / lines / price)
    per_day = mix.sales_per_hour * hours * lines / listings * quantity
    return min(MAX_STOCK, max(MIN_STOCK, math.ceil(per_day * STOCK_MARKET_DAYS)))


def _market_day_hours(plan: MarketPlan) -> float:
    """Return a market day's trade in busy-hour equivalents, averaged over its openings."""
    return sum(sum(opening.hourly_weights) for opening in plan.openings) / len(plan.openings)

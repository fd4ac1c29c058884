"""What happens at the stalls: vendors take up QR over the months, shoppers buy and pay.

`play` streams the events of every market of a run in one time-ordered stream, drawn a local
day at a time:

- `Adoption`: a vendor starts accepting QR and card (at local midnight of that day; the vendors
  already accepting when the run starts come first, at its first midnight);
- `Restock`: a vendor brings a listing back to its opening stock (at the market's opening);
- `Sale`: a checkout, with its lines, its payment method and how the payment ended.

A vendor takes VietQR or card only from its adoption on; a restock precedes any sale that needs
it, so applying the events in order never sells more than the stock. Each day is drawn at once
with numpy (arrivals per stall and hour, baskets, payments), and its events are built lazily.
"""

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

import numpy as np

from market.core.clock import VIETNAM
from market.simulator.scenario import Campaign, Opening, Scenario
from market.simulator.world import ShopperKind, World
from payments.gateways.card import MIN_CARD_AMOUNT_VND
from payments.intents import DEFAULT_TTL
from payments.models import PaymentMethod

DAYS_PER_YEAR = 365.25
MAX_LINE_QUANTITY = 100
HOUR = 3600
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A restock comes when a listing is down to this share of its opening stock.
RESTOCK_BELOW = 0.5
# An underpaying shopper sends between these shares of the total.
PARTIAL_SHARES = (0.3, 0.9)
ADOPTION_STREAM, SALES_STREAM = 2, 3  # world.WORLD_STREAM is 1


class Outcome(StrEnum):
    """How a sale's payment ended.

    paid: the whole amount arrived: cash, card, or a transfer before the QR code expired.
    failed: a QR code was shown and never paid; it expired.
    late: the whole amount arrived by transfer after the QR code had expired.
    partial: a transfer arrived in time, but for less than the amount.
    """

    PAID = "paid"
    FAILED = "failed"
    LATE = "late"
    PARTIAL = "partial"


class AdoptionCause(StrEnum):
    """Why a vendor started accepting QR.

    already: accepted it before the run began.
    campaign: was handed a QR board on a campaign's launch day.
    diffusion: took it up alone or after neighbours did (Bass).
    """

    ALREADY = "already"
    CAMPAIGN = "campaign"
    DIFFUSION = "diffusion"


class Line(NamedTuple):
    """One listing in a sale, at the listing's price."""

    listing: str
    quantity: int
    unit_price_vnd: int


@dataclass(frozen=True, slots=True)
class Adoption:
    """A vendor starts accepting QR and card payments on `day`."""

    at: datetime  # local midnight of `day`, in UTC
    day: date
    vendor: str
    market: str
    cause: AdoptionCause


@dataclass(frozen=True, slots=True)
class Restock:
    """A vendor brings a listing back to its opening stock when the market opens."""

    at: datetime
    listing: str
    stall: str
    stock: int  # the stock after restocking: set it, do not add it


@dataclass(frozen=True, slots=True)
class Sale:
    """One checkout at a stall and how it was paid."""

    at: datetime  # the checkout, in UTC
    market: str
    stall: str
    vendor: str
    shopper: ShopperKind
    lines: tuple[Line, ...]
    total_vnd: int
    method: PaymentMethod
    outcome: Outcome
    transferred_vnd: int | None  # VietQR only: what reached the vendor's account
    transfer_delay: timedelta | None  # VietQR only: checkout to money; None if none came

    @property
    def received_vnd(self) -> int:
        """Return what reached the vendor: the total in cash or by card, or what was transferred."""
        return self.total_vnd if self.transferred_vnd is None else self.transferred_vnd

    @property
    def received_at(self) -> datetime | None:
        """Return when the money reached the vendor, or None for a QR code never paid."""
        if self.method != PaymentMethod.VIETQR:
            return self.at
        return None if self.transfer_delay is None else self.at + self.transfer_delay


Event = Adoption | Restock | Sale

# The numpy codes of shoppers, methods and outcomes are indexes into these.
SHOPPERS = (ShopperKind.LOCAL, ShopperKind.TOURIST)
METHODS = (PaymentMethod.CASH, PaymentMethod.VIETQR, PaymentMethod.CARD)
OUTCOMES = (Outcome.PAID, Outcome.FAILED, Outcome.LATE, Outcome.PARTIAL)


def play(world: World, scenario: Scenario, start: date, days: int, seed: int) -> Iterator[Event]:
    """Stream the run's adoptions, restocks and sales in time order, from `start` for `days`."""
    if days < 0:
        raise ValueError(f"days must be 0 or more, not {days}")
    town = _Town(world, scenario, seed)
    carry: list[Event] = []  # events of sessions that ran past midnight
    for offset in range(days):
        day = start + timedelta(days=offset)
        events = town.day(day, first=offset == 0)
        stream = heapq.merge(carry, events, key=_moment) if carry else events
        carry = []
        midnight = _midnight(day + timedelta(days=1))
        for event in stream:
            if event.at >= midnight:
                carry.append(event)
            else:
                yield event
    yield from carry


def _moment(event: Event) -> datetime:
    return event.at


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), VIETNAM).astimezone(UTC)


class _Town:
    """The world as arrays, and the state that changes over a run: adoption and stock."""

    def __init__(self, world: World, scenario: Scenario, seed: int) -> None:
        names = [market.name for market in world.markets]
        if world.scenario != scenario.name or names != [plan.name for plan in scenario.markets]:
            raise ValueError(f"The world was built from {world.scenario!r}, not {scenario.name!r}.")
        self.scenario = scenario
        self.plans = scenario.markets
        self.adoption_rng = np.random.default_rng([seed, ADOPTION_STREAM])
        self.rng = np.random.default_rng([seed, SALES_STREAM])
        self._index_stalls(world)
        self._index_listings(world)
        self._index_shoppers(world)

    def _index_stalls(self, world: World) -> None:
        """Lay out markets, vendors and stalls, and how each stall's category sells."""
        self.market_keys = [market.key for market in world.markets]
        market_index = {key: index for index, key in enumerate(self.market_keys)}
        vendor_index = {vendor.key: index for index, vendor in enumerate(world.vendors)}
        self.vendor_keys = [vendor.key for vendor in world.vendors]
        stalls = world.stalls
        self.stall_keys = [stall.key for stall in stalls]
        self.stall_vendor_keys = [stall.vendor for stall in stalls]
        self.stall_market_keys = [stall.market for stall in stalls]
        self.stall_market = np.array([market_index[stall.market] for stall in stalls], np.int64)
        self.stall_vendor = np.array([vendor_index[stall.vendor] for stall in stalls], np.int64)
        self.vendor_market = np.zeros(len(world.vendors), np.int64)
        self.vendor_market[self.stall_vendor] = self.stall_market
        self.adopted = np.zeros(len(world.vendors), bool)
        self.market_stalls = [
            np.flatnonzero(self.stall_market == market) for market in range(len(self.plans))
        ]
        mix_of = {
            (market.key, mix.category): mix
            for market, plan in zip(world.markets, self.plans, strict=True)
            for mix in plan.stalls
        }
        mixes = [mix_of[stall.market, stall.category] for stall in stalls]
        self.rate = np.array([mix.sales_per_hour for mix in mixes])
        self.ticket_mu = np.log([mix.ticket_median_vnd for mix in mixes])
        self.ticket_sigma = np.array([mix.ticket_sigma for mix in mixes])
        self.extra_line = np.array([mix.extra_line_share for mix in mixes])

    def _index_listings(self, world: World) -> None:
        """Lay out listings stall by stall, so that a stall's listings are one slice."""
        position = {stall.key: index for index, stall in enumerate(world.stalls)}
        listings = sorted(world.listings, key=lambda listing: position[listing.stall])
        self.listing_keys = [listing.key for listing in listings]
        self.listing_stall_keys = [listing.stall for listing in listings]
        self.price = np.array([listing.price_vnd for listing in listings], np.int64)
        self.level = np.array([listing.stock for listing in listings], np.int64)
        self.remaining = self.level.copy()
        listing_stall = np.array([position[listing.stall] for listing in listings], np.int64)
        self.stall_listings = np.bincount(listing_stall, minlength=len(world.stalls))
        self.stall_first = np.cumsum(self.stall_listings) - self.stall_listings
        listing_market = self.stall_market[listing_stall]
        self.market_listings = [
            np.flatnonzero(listing_market == market) for market in range(len(self.plans))
        ]

    def _index_shoppers(self, world: World) -> None:
        """Lay out each market's shopper segments; the arrays are indexed [tourist, market]."""
        segments = {(segment.market, segment.kind): segment for segment in world.shoppers}
        rows = [[segments[key, kind] for key in self.market_keys] for kind in SHOPPERS]
        self.tourist_share = np.array([segment.share for segment in rows[1]])
        self.card_share = np.array([[segment.habits.card_share for segment in row] for row in rows])
        self.qr_share = np.array(
            [
                [segment.habits.qr_capable_share * segment.habits.qr_preference for segment in row]
                for row in rows
            ]
        )
        # What each market would pay without cash if every vendor took QR and card.
        self.noncash_ceiling = np.array(
            [[segment.share * segment.habits.noncash_share for segment in row] for row in rows]
        ).sum(axis=0)

    # Adoption

    def adopt(self, day: date, first: bool) -> list[Adoption]:
        """Move QR adoption on to `day`; return who adopted on it, by cause and vendor order."""
        at = _midnight(day)
        adoptions: list[Adoption] = []
        for market, plan in enumerate(self.plans):
            if first:
                ceiling = self.noncash_ceiling[market]
                share = plan.start_noncash_share / ceiling if ceiling else 0.0
                count = round(share * np.count_nonzero(self.vendor_market == market))
                adoptions += self._hand_out(market, count, at, day, AdoptionCause.ALREADY)
            for campaign in plan.campaigns:
                if campaign.day == day:
                    boards = campaign.qr_boards
                    adoptions += self._hand_out(market, boards, at, day, AdoptionCause.CAMPAIGN)
        if not first:
            new = self._diffuse(day)
            adoptions += [
                self._adoption(vendor, at, day, AdoptionCause.DIFFUSION)
                for vendor in np.flatnonzero(new).tolist()
            ]
        return adoptions

    def _diffuse(self, day: date) -> np.ndarray:
        """Draw one day of Bass diffusion; neighbours are the vendors of the same market."""
        bass, markets = self.scenario.adoption, len(self.plans)
        vendors = np.bincount(self.vendor_market, minlength=markets)
        adopters = np.bincount(self.vendor_market, weights=self.adopted, minlength=markets)
        boost = np.array([_boost(plan.campaigns, day) for plan in self.plans])
        yearly = bass.p * boost + bass.q * adopters / np.maximum(vendors, 1)
        chance = -np.expm1(-yearly[self.vendor_market] / DAYS_PER_YEAR)
        new = ~self.adopted & (self.adoption_rng.random(len(self.adopted)) < chance)
        self.adopted |= new
        return new

    def _hand_out(
        self, market: int, count: int, at: datetime, day: date, cause: AdoptionCause
    ) -> list[Adoption]:
        """Make `count` of a market's vendors that do not take QR yet adopt it."""
        waiting = np.flatnonzero((self.vendor_market == market) & ~self.adopted)
        chosen = np.sort(self.adoption_rng.choice(waiting, min(count, len(waiting)), replace=False))
        self.adopted[chosen] = True
        return [self._adoption(vendor, at, day, cause) for vendor in chosen.tolist()]

    def _adoption(self, vendor: int, at: datetime, day: date, cause: AdoptionCause) -> Adoption:
        market = self.market_keys[self.vendor_market[vendor]]
        return Adoption(at, day, self.vendor_keys[vendor], market, cause)

    # Sales

    def day(self, day: date, first: bool) -> Iterator[Event]:
        """Yield one local day's events in time order."""
        yield from self.adopt(day, first)
        busy = self.scenario.calendar.multiplier(day)
        times, stalls, restocks = [], [], []
        for market, plan in enumerate(self.plans):
            openings = sorted(
                (opening for opening in plan.openings if day.isoweekday() in opening.days),
                key=lambda opening: opening.opens,
            )
            for number, opening in enumerate(openings):
                opens = int(datetime.combine(day, opening.opens, VIETNAM).timestamp())
                if number == 0:
                    restocks += self._restock(market, opens)
                weight = busy * plan.weekday_weights[day.isoweekday() - 1]
                time, stall = self._arrivals(market, opening, opens, weight)
                times.append(time)
                stalls.append(stall)
        if not times:
            return
        time = np.concatenate(times)
        order = np.argsort(time, kind="stable")
        yield from self._checkouts(time[order], np.concatenate(stalls)[order], restocks)

    def _restock(self, market: int, opens: int) -> list[Restock]:
        """Bring the market's listings that run low back to their opening stock."""
        listings = self.market_listings[market]
        low = listings[self.remaining[listings] < self.level[listings] * RESTOCK_BELOW]
        self.remaining[low] = self.level[low]
        at = EPOCH + timedelta(seconds=opens)
        return [
            Restock(at, self.listing_keys[index], self.listing_stall_keys[index], int(stock))
            for index, stock in zip(low.tolist(), self.level[low].tolist(), strict=True)
        ]

    def _arrivals(
        self, market: int, opening: Opening, opens: int, weight: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw the checkouts of one opening: Poisson arrivals per stall and hour."""
        stalls = self.market_stalls[market]
        hours = len(opening.hourly_weights)
        starts = np.arange(hours) * HOUR
        lengths = np.minimum(HOUR, opening.duration.total_seconds() - starts)
        per_hour = np.array(opening.hourly_weights) * lengths / HOUR * weight
        counts = self.rng.poisson(np.outer(self.rate[stalls], per_hour)).ravel()
        stall = np.repeat(np.repeat(stalls, hours), counts)
        hour = np.repeat(np.tile(np.arange(hours), len(stalls)), counts)
        offset = np.floor(self.rng.random(len(hour)) * lengths[hour]).astype(np.int64)
        return opens + starts[hour] + offset, stall

    def _checkouts(
        self, time: np.ndarray, stall: np.ndarray, restocks: list[Restock]
    ) -> Iterator[Event]:
        """Fill baskets, keep those the stock allows, pay for them, and yield the events."""
        checkouts = self._fill_baskets(time, stall)
        checkouts = checkouts.only(self._take_stock(checkouts))
        price = self.price[checkouts.listing]
        total = np.add.reduceat(checkouts.quantity * price, checkouts.first_lines)
        payments = self._pay(checkouts.stall, total)
        restock = iter(sorted(restocks, key=_moment))
        pending = next(restock, None)
        for sale in self._sales(checkouts, price, total, payments):
            while pending is not None and pending.at <= sale.at:
                yield pending
                pending = next(restock, None)
            yield sale
        if pending is not None:
            yield pending
        yield from restock

    def _fill_baskets(self, time: np.ndarray, stall: np.ndarray) -> "_Checkouts":
        """Draw each basket: how many listings, which ones, and how many of each."""
        rng, count = self.rng, len(stall)
        offered = self.stall_listings[stall]
        lines = np.minimum(rng.geometric(1 - self.extra_line[stall]), offered)
        ticket = np.exp(rng.normal(self.ticket_mu[stall], self.ticket_sigma[stall]))
        first = (rng.random(count) * offered).astype(np.int64)
        sale = np.repeat(np.arange(count), lines)
        position = np.arange(len(sale)) - np.repeat(np.cumsum(lines) - lines, lines)
        # Consecutive listings from a random first one: distinct, and cheap to draw.
        listing = self.stall_first[stall][sale] + (first[sale] + position) % offered[sale]
        # Each line takes an equal part of the log-normal ticket, in whole units.
        wanted = np.rint(ticket[sale] / lines[sale] / self.price[listing])
        quantity = np.clip(wanted, 1, MAX_LINE_QUANTITY).astype(np.int64)
        return _Checkouts(time, stall, lines, listing, quantity)

    def _take_stock(self, checkouts: "_Checkouts") -> np.ndarray:
        """Return which sales the stock allows, in time order, and take their quantities.

        A sale is refused when any of its lines would overdraw its listing counting every
        earlier line, kept or not: a cautious rule, so a kept sale never oversells.
        """
        listing, quantity = checkouts.listing, checkouts.quantity
        sale = np.repeat(np.arange(len(checkouts.lines)), checkouts.lines)
        order = np.lexsort((np.arange(len(listing)), listing))
        grouped, taken = listing[order], np.cumsum(quantity[order])
        starts = np.ones(len(order), bool)
        starts[1:] = grouped[1:] != grouped[:-1]
        before = np.maximum.accumulate(np.where(starts, taken - quantity[order], 0))
        short = np.zeros(len(listing), bool)
        short[order] = taken - before > self.remaining[grouped]
        kept = np.ones(len(checkouts.lines), bool)
        kept[sale[short]] = False
        lines = kept[sale]
        sold = np.bincount(listing[lines], weights=quantity[lines], minlength=len(self.remaining))
        self.remaining -= sold.astype(np.int64)
        return kept

    def _pay(self, stall: np.ndarray, total: np.ndarray) -> "_Payments":
        """Draw who pays and how: QR and card only where the vendor has adopted them."""
        rng, count = self.rng, len(stall)
        market = self.stall_market[stall]
        tourist = (rng.random(count) < self.tourist_share[market]).astype(np.int64)
        accepts = self.adopted[self.stall_vendor[stall]]
        card = (
            accepts
            & (total >= MIN_CARD_AMOUNT_VND)
            & (rng.random(count) < self.card_share[tourist, market])
        )
        qr = accepts & ~card & (rng.random(count) < self.qr_share[tourist, market])
        outcome, transferred, delay = self._transfers(qr, total)
        method = np.select(
            [card, qr],
            [METHODS.index(PaymentMethod.CARD), METHODS.index(PaymentMethod.VIETQR)],
            METHODS.index(PaymentMethod.CASH),
        )
        return _Payments(tourist, method, qr, outcome, transferred, delay)

    def _sales(
        self, checkouts: "_Checkouts", price: np.ndarray, total: np.ndarray, payments: "_Payments"
    ) -> Iterator[Sale]:
        """Build the Sale objects one by one from the day's arrays."""
        keys = self.listing_keys
        line_items = list(
            map(
                Line,
                [keys[index] for index in checkouts.listing.tolist()],
                checkouts.quantity.tolist(),
                price.tolist(),
            )
        )
        columns = zip(
            checkouts.time.tolist(),
            checkouts.stall.tolist(),
            checkouts.first_lines.tolist(),
            np.cumsum(checkouts.lines).tolist(),
            total.tolist(),
            payments.tourist.tolist(),
            payments.method.tolist(),
            payments.outcome.tolist(),
            payments.qr.tolist(),
            payments.transferred.tolist(),
            payments.delay.tolist(),
            strict=True,
        )
        for moment, stall, first, end, amount, tourist, method, outcome, qr, sent, delay in columns:
            yield Sale(
                at=EPOCH + timedelta(seconds=moment),
                market=self.stall_market_keys[stall],
                stall=self.stall_keys[stall],
                vendor=self.stall_vendor_keys[stall],
                shopper=SHOPPERS[tourist],
                lines=tuple(line_items[first:end]),
                total_vnd=amount,
                method=METHODS[method],
                outcome=OUTCOMES[outcome],
                transferred_vnd=sent if qr else None,
                transfer_delay=timedelta(seconds=delay) if qr and delay else None,
            )

    def _transfers(
        self, qr: np.ndarray, total: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Draw how each QR payment ends: outcome codes, amounts transferred, delays in seconds."""
        rates, rng, count = self.scenario.qr, self.rng, len(qr)
        step = self.scenario.price_step_vnd
        draw = rng.random(count)
        failed = qr & (draw < rates.failed_rate)
        late_until = rates.failed_rate + rates.late_rate
        late = qr & (draw >= rates.failed_rate) & (draw < late_until)
        partial = (
            qr
            & (draw >= late_until)
            & (draw < late_until + rates.partial_rate)
            & (total >= 2 * step)
        )
        share = rng.uniform(*PARTIAL_SHARES, count)
        underpaid = np.clip(np.floor(total * share / step) * step, step, total - step)
        transferred = np.where(partial, underpaid.astype(np.int64), np.where(failed, 0, total))
        ttl = DEFAULT_TTL.total_seconds()
        on_time = rng.lognormal(np.log(rates.paid_delay_median_seconds), rates.delay_sigma, count)
        overdue = rng.lognormal(
            np.log(rates.late_delay_median_minutes * 60), rates.delay_sigma, count
        )
        delay = np.where(late, ttl + overdue, np.clip(on_time, 1, ttl - 1))
        delay = np.where(failed, 0, np.rint(delay)).astype(np.int64)
        outcome = np.select(
            [failed, late, partial],
            [OUTCOMES.index(code) for code in (Outcome.FAILED, Outcome.LATE, Outcome.PARTIAL)],
            OUTCOMES.index(Outcome.PAID),
        )
        return outcome, transferred, delay


class _Checkouts(NamedTuple):
    """A day's checkouts as arrays: per sale in time order, then per line in sale order."""

    time: np.ndarray  # epoch seconds
    stall: np.ndarray
    lines: np.ndarray  # how many lines each sale has
    listing: np.ndarray
    quantity: np.ndarray

    @property
    def first_lines(self) -> np.ndarray:
        """Return the index of each sale's first line."""
        return np.cumsum(self.lines) - self.lines

    def only(self, kept: np.ndarray) -> "_Checkouts":
        """Return the kept sales, with their lines."""
        lines = np.repeat(kept, self.lines)
        return _Checkouts(
            self.time[kept],
            self.stall[kept],
            self.lines[kept],
            self.listing[lines],
            self.quantity[lines],
        )


class _Payments(NamedTuple):
    """How each of a day's sales was paid, as arrays of codes and amounts."""

    tourist: np.ndarray  # index into SHOPPERS
    method: np.ndarray  # index into METHODS
    qr: np.ndarray
    outcome: np.ndarray  # index into OUTCOMES
    transferred: np.ndarray
    delay: np.ndarray  # seconds; 0 when nothing arrived


def _boost(campaigns: tuple[Campaign, ...], day: date) -> float:
    """Return the campaign multiplier of p on `day`, or 1 outside every campaign's boost."""
    for campaign in campaigns:
        if timedelta(0) <= day - campaign.day < timedelta(days=campaign.boost_days):
            return campaign.p_multiplier
    return 1.0

"""Calibration: set a run's aggregates beside the reference figures of domain.md, with sources.

Figures are counted as the reports count them (market/reports/indicators.py): a payment is
money received, so a QR code never paid is no payment; a QR code fails when it expires unpaid,
even if the money comes later. Each reference keeps its source; a range marks where the run's
figure should lie, and the verdict says whether it does. Figures with no published range are
shown with what is known, for the reader to judge.
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from market.core.clock import vietnam_date
from market.simulator.behaviour import Adoption, Event, Outcome, Sale, play
from market.simulator.scenario import Scenario
from market.simulator.world import ShopperKind, World
from payments.models import PaymentMethod

# domain.md §3.2, "Suggested priors": the non-cash share by count when a run starts.
RURAL_START = (0.10, 0.30)
TOURIST_START = (0.50, 0.80)
# domain.md §2.3: vendors who take QR report 50/50 (Hà Nội wet markets) to 7-8 of 10 (tourists).
QR_STALL_SHARE = (0.50, 0.80)
# domain.md §3.2: market prices, from a bunch of vegetables (5,000) to pork (170,000 a kg).
CASH_TICKET = (5_000, 170_000)
# domain.md §3.2: a 10,000 VND juice paid by QR (Kim Đồng) to the Yên Bái QR-point average.
QR_TICKET = (10_000, 656_000)
# domain.md §3.1: Mobile Money, Sep 2025, VND 8,511 billion over 290.43 million transactions.
MOBILE_MONEY_TICKET = 29_300
POINT_TOLERANCE = 2  # a single published figure is met within this factor [assumption]


@dataclass
class _Day:
    """Payments of one local day, by who paid and how."""

    day: date
    payments: Counter[tuple[ShopperKind, bool]] = field(default_factory=Counter)

    def share(self, shopper: ShopperKind | None = None) -> tuple[float | None, int]:
        """Return the non-cash share by count (of one kind of shopper) and the payments counted."""
        counted = {
            noncash: count
            for (kind, noncash), count in self.payments.items()
            if shopper is None or kind == shopper
        }
        total = sum(counted.values())
        return (counted.get(True, 0) / total if total else None), total


class Figures:
    """A run's aggregates, counted as its events stream by, in memory that does not grow."""

    def __init__(self, world: World, start: date) -> None:
        self.start = start
        self.stalls = len(world.stalls)
        self._stalls_of = Counter((stall.vendor, stall.market) for stall in world.stalls)
        self.showing_qr_at_start = 0
        self.showing_qr = 0
        self._adopted: set[tuple[str, str]] = set()
        self.payments: Counter[PaymentMethod] = Counter()
        self.value: Counter[PaymentMethod] = Counter()
        self.qr_issued = 0
        self.qr_expired = 0
        self.qr_stall_payments: Counter[bool] = Counter()  # non-cash or not -> payments
        self.first_day: _Day | None = None
        self.last_day: _Day | None = None

    def observe(self, events: Iterator[Event]) -> Iterator[Event]:
        """Yield `events` unchanged, counting each."""
        for event in events:
            if isinstance(event, Sale):
                self._count_sale(event)
            elif isinstance(event, Adoption):
                self._count_adoption(event)
            yield event

    def _count_adoption(self, adoption: Adoption) -> None:
        place = (adoption.vendor, adoption.market)
        if place not in self._adopted:
            self._adopted.add(place)
            self.showing_qr += self._stalls_of[place]
            if adoption.day == self.start:
                self.showing_qr_at_start += self._stalls_of[place]

    def _count_sale(self, sale: Sale) -> None:
        if sale.method == PaymentMethod.VIETQR:
            self.qr_issued += 1
            self.qr_expired += sale.outcome in (Outcome.FAILED, Outcome.LATE)
        if sale.received_at is None:
            return
        noncash = sale.method != PaymentMethod.CASH
        self.payments[sale.method] += 1
        self.value[sale.method] += sale.received_vnd
        if (sale.vendor, sale.market) in self._adopted:
            self.qr_stall_payments[noncash] += 1
        day = vietnam_date(sale.at)
        if self.last_day is None or self.last_day.day != day:
            self.last_day = _Day(day)
            if self.first_day is None:
                self.first_day = self.last_day
        self.last_day.payments[sale.shopper, noncash] += 1


@dataclass(frozen=True)
class Check:
    """One line of the calibration: the run's figure, the reference, and its source."""

    name: str
    value: float | None
    unit: str  # "%" for shares (value 0 to 1) or "VND"
    reference: str
    source: str
    low: float | None = None  # the range the figure should lie in, when one is published
    high: float | None = None

    @property
    def verdict(self) -> str:
        """Return "within" or "outside" the range, or "-" with no range or no figure."""
        if self.low is None or self.high is None or self.value is None:
            return "-"
        return "within" if self.low <= self.value <= self.high else "outside"

    def shown(self) -> str:
        """Return the figure as the table prints it."""
        if self.value is None:
            return "no data"
        if self.unit == "%":
            return f"{self.value:.1%}"
        return f"{self.value:,.0f} VND"


def calibrate(figures: Figures) -> list[Check]:
    """Compare a run's aggregates with domain.md's reference figures."""
    noncash = [method for method in PaymentMethod if method != PaymentMethod.CASH]
    noncash_paid = sum(figures.payments[method] for method in noncash)
    value = sum(figures.value.values())
    noncash_value = sum(figures.value[method] for method in noncash)
    first, last = figures.first_day, figures.last_day
    locals_share, locals_counted = first.share(ShopperKind.LOCAL) if first else (None, 0)
    visitors_share, visitors_counted = first.share(ShopperKind.TOURIST) if first else (None, 0)
    at_qr_stalls = figures.qr_stall_payments
    mobile_money = (
        MOBILE_MONEY_TICKET / POINT_TOLERANCE,
        MOBILE_MONEY_TICKET * POINT_TOLERANCE,
    )
    first_day = first.day.isoformat() if first else "first market day"
    return [
        Check(
            f"Non-cash share, local shoppers, {first_day} (n={locals_counted:,})",
            locals_share,
            "%",
            _span(RURAL_START, "%"),
            "domain.md §3.2 suggested prior: rural markets start at 10-30 % non-cash by count "
            "(FIS 2021: 58 % of point-of-sale payments in cash; Hội An; Hậu Giang)",
            *RURAL_START,
        ),
        Check(
            f"Non-cash share, visitors, {first_day} (n={visitors_counted:,})",
            visitors_share,
            "%",
            _span(TOURIST_START, "%"),
            "domain.md §3.2 suggested prior: urban and tourist stalls start at 50-80 %",
            *TOURIST_START,
        ),
        Check(
            f"Non-cash share, all shoppers, {last.day if last else 'last market day'}",
            last.share()[0] if last else None,
            "%",
            "none published",
            "the change from the first market day is the run's own result",
        ),
        Check(
            "Non-cash share at stalls showing a VietQR",
            _ratio(at_qr_stalls[True], sum(at_qr_stalls.values())),
            "%",
            _span(QR_STALL_SHARE, "%"),
            "domain.md §2.3 vendor reports: 50/50 in Hà Nội wet markets (vtv.vn 2023); 7-8 of "
            "10 at Đà Nẵng's Cồn market; 70 % at a Kim Đồng kiosk [anecdote] (vietnamnet)",
            *QR_STALL_SHARE,
        ),
        Check(
            "Non-cash share by value",
            _ratio(noncash_value, value),
            "%",
            "none published",
            "domain.md §2.3 gives no benchmark for NONCASH_SHARE_VALUE",
        ),
        Check(
            "VietQR share of non-cash payments",
            _ratio(figures.payments[PaymentMethod.VIETQR], noncash_paid),
            "%",
            "none at markets",
            "domain.md §3.1: nationally VietQR is about one third of NAPAS 247 transfers "
            "(NAPAS 2024), transfers of every kind, not market payments",
        ),
        Check(
            "Average ticket, cash",
            _ratio(figures.value[PaymentMethod.CASH], figures.payments[PaymentMethod.CASH]),
            "VND",
            _span(CASH_TICKET, "VND"),
            "domain.md §3.2 prices at Lạc Tánh market: vegetables 5,000-15,000 a bunch to "
            "pork 150,000-170,000 (vietnam.vn)",
            *CASH_TICKET,
        ),
        Check(
            "Average ticket, VietQR",
            _ratio(figures.value[PaymentMethod.VIETQR], figures.payments[PaymentMethod.VIETQR]),
            "VND",
            _span(QR_TICKET, "VND"),
            "domain.md §3.2: a 10,000 sugar-cane juice paid by QR at Kim Đồng [anecdote] to "
            "about 656,000 at Yên Bái QR points, which likely includes wholesale",
            *QR_TICKET,
        ),
        Check(
            "Average ticket, card",
            _ratio(figures.value[PaymentMethod.CARD], figures.payments[PaymentMethod.CARD]),
            "VND",
            "none published",
            "domain.md has no card figure for markets",
        ),
        Check(
            "Average non-cash ticket",
            _ratio(noncash_value, noncash_paid),
            "VND",
            f"{_span(mobile_money, 'VND')} (29,300 within x{POINT_TOLERANCE})",
            "domain.md §3.1: Mobile Money, Sep 2025, about 29,300 per transaction (VND 8,511 "
            "billion over 290.43 million, baochinhphu); the factor is [assumption]",
            *mobile_money,
        ),
        Check(
            "QR failure rate (codes expired unpaid)",
            _ratio(figures.qr_expired, figures.qr_issued),
            "%",
            "none published",
            "domain.md §2.3: QR failures reported at Kim Đồng [anecdote], with no rate",
        ),
        Check(
            f"Vendor QR coverage, {figures.start}",
            _ratio(figures.showing_qr_at_start, figures.stalls),
            "%",
            "none published",
            "set by each market's start_noncash_share in the scenario",
        ),
        Check(
            "Vendor QR coverage, end of run",
            _ratio(figures.showing_qr, figures.stalls),
            "%",
            "target 100 %",
            "domain.md §2.3: 100 % on cashless streets (Hoàn Kiếm; Đồng Hới by 30/6/2024), a "
            "target, not a measurement",
        ),
    ]


def calibrate_run(
    world: World, scenario: Scenario, start: date, days: int, seed: int
) -> list[Check]:
    """Play a run without a database and compare its aggregates with the reference figures."""
    figures = Figures(world, start)
    for _ in figures.observe(play(world, scenario, start, days, seed)):
        pass
    return calibrate(figures)


def format_calibration(checks: list[Check]) -> str:
    """Return the checks as a small table, with the sources numbered below it."""
    width = max(len(check.name) for check in checks)
    span = max(len(check.reference) for check in checks)
    title = "Calibration against domain.md"
    lines = [f"    {title:<{width}}  {'run':>13}  {'reference':<{span}}  verdict"]
    for number, check in enumerate(checks, 1):
        lines.append(
            f"{number:>2}  {check.name:<{width}}  {check.shown():>13}  "
            f"{check.reference:<{span}}  {check.verdict}"
        )
    lines.append("Sources:")
    lines += [f"{number:>2}  {check.source}" for number, check in enumerate(checks, 1)]
    return "\n".join(lines)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _span(bounds: tuple[float, float], unit: str) -> str:
    low, high = bounds
    if unit == "%":
        return f"{low:.0%}-{high:.0%}"
    return f"{low:,.0f}-{high:,.0f} VND"

"""The calibration counts a run as the reports do and sets it beside domain.md's figures."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from market.simulator.behaviour import Adoption, AdoptionCause, Line, Outcome, Sale
from market.simulator.calibration import (
    Check,
    Figures,
    calibrate,
    calibrate_run,
    format_calibration,
)
from market.simulator.scenario import load_scenario
from market.simulator.world import ShopperKind, World, build_world
from payments.models import PaymentMethod

FRIDAY = date(2026, 11, 6)
EVENING = datetime(2026, 11, 6, 12, tzinfo=UTC)  # 19:00 in Cao Bằng


def sale(
    world: World,
    stall: int,
    method: PaymentMethod,
    total: int,
    *,
    outcome: Outcome = Outcome.PAID,
    shopper: ShopperKind = ShopperKind.LOCAL,
    day: int = 0,
) -> Sale:
    place = world.stalls[stall]
    qr = method == PaymentMethod.VIETQR
    paid = outcome != Outcome.FAILED
    return Sale(
        at=EVENING + timedelta(days=day),
        market=place.market,
        stall=place.key,
        vendor=place.vendor,
        shopper=shopper,
        lines=(Line("listing", 1, total),),
        total_vnd=total,
        method=method,
        outcome=outcome,
        transferred_vnd=(total if paid else 0) if qr else None,
        transfer_delay=timedelta(seconds=30) if qr and paid else None,
    )


def adoption(world: World, stall: int, day: date = FRIDAY) -> Adoption:
    place = world.stalls[stall]
    moment = datetime.combine(day, datetime.min.time(), UTC)
    return Adoption(moment, day, place.vendor, place.market, AdoptionCause.ALREADY)


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name.split(" (n=")[0]: check for check in checks}


def test_figures_count_payments_received_as_the_reports_do(small_scenario: Path) -> None:
    world = build_world(load_scenario(small_scenario), 7)
    figures = Figures(world, FRIDAY)
    events = [
        adoption(world, 0),
        sale(world, 0, PaymentMethod.VIETQR, 20_000),
        sale(world, 0, PaymentMethod.VIETQR, 50_000, outcome=Outcome.FAILED),
        sale(world, 0, PaymentMethod.VIETQR, 30_000, outcome=Outcome.LATE),
        sale(world, 0, PaymentMethod.CASH, 10_000),
        sale(world, 1, PaymentMethod.CASH, 40_000, shopper=ShopperKind.TOURIST),
        sale(world, 0, PaymentMethod.CARD, 60_000, shopper=ShopperKind.TOURIST),
        adoption(world, 1, FRIDAY + timedelta(days=1)),
        sale(world, 1, PaymentMethod.VIETQR, 15_000, day=1),
    ]

    assert list(figures.observe(iter(events))) == events
    checks = by_name(calibrate(figures))

    assert checks["Non-cash share, local shoppers, 2026-11-06"].value == 2 / 3
    assert checks["Non-cash share, visitors, 2026-11-06"].value == 1 / 2
    assert checks["Non-cash share, all shoppers, 2026-11-07"].value == 1
    assert checks["Non-cash share at stalls showing a VietQR"].value == 4 / 5
    assert checks["Non-cash share by value"].value == 125_000 / 175_000
    assert checks["VietQR share of non-cash payments"].value == 3 / 4
    assert checks["Average ticket, cash"].value == 25_000
    assert checks["Average ticket, VietQR"].value == 65_000 / 3
    assert checks["Average ticket, card"].value == 60_000
    # A late transfer still counts its code as failed, as QR_FAILURE_RATE does.
    assert checks["QR failure rate (codes expired unpaid)"].value == 2 / 4
    assert checks["Vendor QR coverage, 2026-11-06"].value == 1 / len(world.stalls)
    assert checks["Vendor QR coverage, end of run"].value == 2 / len(world.stalls)


def test_a_verdict_needs_a_range_and_a_figure() -> None:
    def check(value: float | None, low: float | None = 0.1, high: float | None = 0.3) -> str:
        return Check("share", value, "%", "10%-30%", "domain.md", low, high).verdict

    assert check(0.1) == check(0.3) == "within"
    assert check(0.31) == check(0.05) == "outside"
    assert check(None) == check(0.2, None, None) == "-"


def test_a_run_without_sales_shows_no_data(small_scenario: Path) -> None:
    world = build_world(load_scenario(small_scenario), 7)

    checks = calibrate(Figures(world, FRIDAY))

    assert all(check.verdict == "-" for check in checks)
    assert "no data" in format_calibration(checks)


def test_kim_dong_starts_within_the_rural_prior_for_its_locals() -> None:
    scenario = load_scenario("cao-bang-kim-dong")

    checks = calibrate_run(build_world(scenario, 7), scenario, FRIDAY, 2, 7)

    named = by_name(checks)
    assert named["Non-cash share, local shoppers, 2026-11-06"].verdict == "within"
    assert named["Average ticket, VietQR"].verdict == "within"
    table = format_calibration(checks)
    assert table.count("\n") == 2 * len(checks) + 1  # a header, the lines, their sources
    assert "29,300" in table and "vietnamnet" in table and "within" in table

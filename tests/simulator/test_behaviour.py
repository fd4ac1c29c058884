"""The stream of a run: time order, opening hours, adoption before QR, money that adds up."""

import dataclasses
import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest

from market.core.clock import VIETNAM
from market.simulator.behaviour import (
    Adoption,
    AdoptionCause,
    Event,
    Outcome,
    Restock,
    Sale,
    play,
)
from market.simulator.scenario import Opening, Scenario, load_scenario
from market.simulator.world import World, build_world
from payments.gateways.card import MIN_CARD_AMOUNT_VND
from payments.intents import DEFAULT_TTL
from payments.models import PaymentMethod

DAYS = 90


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario("cao-bang-kim-dong")


@pytest.fixture(scope="module")
def world(scenario: Scenario) -> World:
    return build_world(scenario, seed=1)


@pytest.fixture(scope="module")
def run(scenario: Scenario, world: World) -> list[Event]:
    return list(play(world, scenario, scenario.as_of, DAYS, seed=1))


@pytest.fixture(scope="module")
def sales(run: list[Event]) -> list[Sale]:
    return [event for event in run if isinstance(event, Sale)]


def first_sales(world: World, scenario: Scenario, seed: int, count: int = 1000) -> list[Sale]:
    stream = play(world, scenario, scenario.as_of, DAYS, seed)
    return list(itertools.islice((event for event in stream if isinstance(event, Sale)), count))


def test_play_streams_rather_than_builds_a_list(scenario: Scenario, world: World) -> None:
    stream = play(world, scenario, scenario.as_of, 10_000, seed=1)
    assert isinstance(stream, Iterator)
    assert isinstance(next(stream), Adoption)


def test_the_same_seed_plays_the_same_sales(scenario: Scenario, world: World) -> None:
    sales = first_sales(world, scenario, seed=1)
    assert len(sales) == 1000
    assert first_sales(world, scenario, seed=1) == sales
    assert first_sales(world, scenario, seed=2) != sales
    other_world = build_world(scenario, seed=2)
    assert first_sales(other_world, scenario, seed=1) != sales


def test_events_come_in_time_order_in_utc(run: list[Event]) -> None:
    moments = [event.at for event in run]
    assert moments == sorted(moments)
    assert all(moment.tzinfo is UTC for moment in moments)


def test_sales_happen_only_in_opening_hours_local_time(sales: list[Sale]) -> None:
    assert len(sales) > 20_000
    for sale in sales:
        local = sale.at.astimezone(VIETNAM)
        assert local.isoweekday() in (5, 6)
        assert time(19) <= local.time() < time(23)
        # 19:00-23:00 in Vietnam is 12:00-16:00 UTC on the same day.
        assert sale.at.date() == local.date()
        assert sale.at.hour == local.hour - 7


def test_a_local_evening_is_a_utc_afternoon() -> None:
    local = datetime(2026, 11, 6, 19, 30, tzinfo=VIETNAM)
    assert local.astimezone(UTC) == datetime(2026, 11, 6, 12, 30, tzinfo=UTC)


def test_the_non_cash_share_rises_over_the_run(scenario: Scenario, sales: list[Sale]) -> None:
    def share(first: date, last: date) -> float:
        window = [sale for sale in sales if first <= sale.at.astimezone(VIETNAM).date() <= last]
        return sum(sale.method != PaymentMethod.CASH for sale in window) / len(window)

    start, end = scenario.as_of, scenario.as_of + timedelta(days=DAYS - 1)
    early = share(start, start + timedelta(days=13))
    late = share(end - timedelta(days=13), end)
    assert late > early + 0.03
    assert 0.2 < early < 0.4  # the scenario starts at 30 %


def test_no_vendor_takes_qr_or_card_before_adopting(run: list[Event]) -> None:
    adopted: set[str] = set()
    causes = set()
    for event in run:
        if isinstance(event, Adoption):
            assert event.vendor not in adopted
            assert event.at == datetime.combine(event.day, time(0), VIETNAM)
            adopted.add(event.vendor)
            causes.add(event.cause)
        elif isinstance(event, Sale) and event.method != PaymentMethod.CASH:
            assert event.vendor in adopted
    assert {AdoptionCause.ALREADY, AdoptionCause.CAMPAIGN} <= causes


def test_totals_are_the_sum_of_lines_at_listing_prices(world: World, sales: list[Sale]) -> None:
    listings = {listing.key: listing for listing in world.listings}
    stalls = {stall.key: stall for stall in world.stalls}
    for sale in sales:
        assert type(sale.total_vnd) is int
        assert sale.total_vnd == sum(line.quantity * line.unit_price_vnd for line in sale.lines)
        assert len({line.listing for line in sale.lines}) == len(sale.lines)
        assert stalls[sale.stall].vendor == sale.vendor
        for line in sale.lines:
            listing = listings[line.listing]
            assert listing.stall == sale.stall
            assert type(line.quantity) is int and line.quantity >= 1
            assert type(line.unit_price_vnd) is int
            assert line.unit_price_vnd == listing.price_vnd


def test_ticket_sizes_are_heavy_tailed(sales: list[Sale]) -> None:
    totals = sorted(sale.total_vnd for sale in sales)
    median, mean = totals[len(totals) // 2], sum(totals) / len(totals)
    assert mean > 1.3 * median
    assert totals[-1] > 20 * median


def test_transfers_carry_what_arrived_and_when(sales: list[Sale]) -> None:
    outcomes = set()
    for sale in sales:
        if sale.method != PaymentMethod.VIETQR:
            assert (sale.outcome, sale.transferred_vnd, sale.transfer_delay) == (
                Outcome.PAID,
                None,
                None,
            )
            continue
        outcomes.add(sale.outcome)
        delay, transferred = sale.transfer_delay, sale.transferred_vnd
        assert type(transferred) is int
        if sale.outcome == Outcome.FAILED:
            assert (transferred, delay) == (0, None)
            continue
        assert delay is not None and delay > timedelta(0)
        if sale.outcome == Outcome.LATE:
            assert delay > DEFAULT_TTL and transferred == sale.total_vnd
        else:
            assert delay < DEFAULT_TTL
        if sale.outcome == Outcome.PARTIAL:
            assert 0 < transferred < sale.total_vnd
        elif sale.outcome == Outcome.PAID:
            assert transferred == sale.total_vnd
    assert outcomes == set(Outcome)


def test_cards_take_only_what_the_gateway_accepts(sales: list[Sale]) -> None:
    cards = [sale for sale in sales if sale.method == PaymentMethod.CARD]
    assert cards
    assert all(sale.total_vnd >= MIN_CARD_AMOUNT_VND for sale in cards)


def assert_never_oversold(world: World, events: list[Event]) -> int:
    """Apply the events to the world's opening stock; return how many restocks came."""
    stock = {listing.key: listing.stock for listing in world.listings}
    restocks = 0
    for event in events:
        if isinstance(event, Restock):
            stock[event.listing] = event.stock
            restocks += 1
        elif isinstance(event, Sale):
            for line in event.lines:
                stock[line.listing] -= line.quantity
                assert stock[line.listing] >= 0
    return restocks


def test_applying_the_stream_never_oversells(world: World, run: list[Event]) -> None:
    assert assert_never_oversold(world, run) > 0


def test_a_morning_market_trades_before_noon_every_day() -> None:
    scenario = load_scenario("lam-dong-lac-tanh-morning")
    world = build_world(scenario, seed=4)
    sales = [
        event for event in play(world, scenario, date(2026, 11, 2), 7, 4) if isinstance(event, Sale)
    ]
    local = [sale.at.astimezone(VIETNAM) for sale in sales]
    assert all(time(5) <= moment.time() < time(11) for moment in local)
    assert len({moment.date() for moment in local}) == 7
    # 05:00 in Vietnam is 22:00 UTC the day before.
    assert (sales[0].at.date(), sales[0].at.hour) == (date(2026, 11, 1), 22)


def test_markets_of_one_run_share_one_ordered_stream(scenario: Scenario) -> None:
    morning = load_scenario("lam-dong-lac-tanh-morning")
    both = dataclasses.replace(scenario, markets=scenario.markets + morning.markets)
    world = build_world(both, seed=7)
    run = list(play(world, both, both.as_of, 21, seed=7))
    assert [event.at for event in run] == sorted(event.at for event in run)
    assert assert_never_oversold(world, run) > 0
    street, market = (market.key for market in world.markets)
    hours = {street: (time(19), time(23)), market: (time(5), time(11))}
    for sale in (event for event in run if isinstance(event, Sale)):
        opens, closes = hours[sale.market]
        assert opens <= sale.at.astimezone(VIETNAM).time() < closes


def test_a_night_past_midnight_stays_in_time_order(scenario: Scenario) -> None:
    (street,) = scenario.markets
    late_night = Opening((5, 6), time(21), time(1), (1.0, 1.0, 1.0, 1.0))
    night = dataclasses.replace(
        scenario, markets=(dataclasses.replace(street, openings=(late_night,)),)
    )
    world = build_world(night, seed=5)
    run = list(play(world, night, night.as_of, 14, 5))
    assert [event.at for event in run] == sorted(event.at for event in run)
    sales = [event for event in run if isinstance(event, Sale)]
    after_midnight = [sale for sale in sales if sale.at.astimezone(VIETNAM).hour < 1]
    assert after_midnight
    for sale in sales:
        local = sale.at.astimezone(VIETNAM)
        opened = local.date() - timedelta(days=1) if local.hour < 21 else local.date()
        assert opened.isoweekday() in (5, 6)
        assert local.time() >= time(21) or local.time() < time(1)


def test_tet_weeks_sell_more(scenario: Scenario, world: World) -> None:
    def nightly(start: date) -> float:
        events = play(world, scenario, start, 14, seed=6)
        return sum(isinstance(event, Sale) for event in events) / 4

    assert nightly(date(2027, 1, 18)) > 1.15 * nightly(date(2026, 12, 7))


def test_bad_arguments_are_refused(scenario: Scenario, world: World) -> None:
    with pytest.raises(ValueError, match="days must be 0 or more"):
        next(play(world, scenario, scenario.as_of, -1, seed=1))
    other = load_scenario("lam-dong-lac-tanh-morning")
    with pytest.raises(ValueError, match="built from 'cao-bang-kim-dong'"):
        next(play(world, other, other.as_of, 1, seed=1))

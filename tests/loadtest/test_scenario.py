"""The load test's people: the scenario file's profiles, baskets, and the seeded market's mix."""

import random
from pathlib import Path

import pytest

from loadtest.scenario import ScenarioError, draw_basket, load_profile
from loadtest.seed import scale_stalls, search_terms
from market.simulator.scenario import load_scenario


def test_the_market_night_profile_takes_the_simulators_figures():
    profile = load_profile("market-night")
    simulator = load_scenario("cao-bang-kim-dong")
    assert profile.users == {"shopper": 12, "vendor": 6, "official": 1}
    assert profile.bank.failed_rate == simulator.qr.failed_rate
    assert profile.bank.delay_sigma == simulator.qr.delay_sigma
    noncash = simulator.shoppers.noncash_share(simulator.markets[0].tourist_share)
    assert profile.vendor.cash_share == pytest.approx(1 - noncash)


def test_the_stalls_profile_overrides_the_vendor_and_the_bank():
    profile = load_profile("stalls")
    assert profile.users == {"vendor": 1}
    assert (profile.vendor.sale_every_seconds, profile.vendor.cash_share) == (30.0, 0.0)
    assert profile.bank.paid_delay_median_seconds == 10.0
    assert profile.bank.users_per_worker == 8  # hundreds of stalls' notifications, in parallel
    assert profile.bank.duplicate_rate == load_profile("market-night").bank.duplicate_rate


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("browse = 6", "browze = 6"), "shopper.browze: unknown"),
        (("think_seconds = 5.0", "think_seconds = -1"), "shopper.think_seconds: -1 is not from"),
        (("duplicate_rate = 0.05", "duplicate_rate = '5%'"), "bank.duplicate_rate: '5%' has the"),
        (("users = { vendor = 1 }", "users = { stall = 1 }"), "profiles.stalls.users.stall"),
    ],
)
def test_a_wrong_value_is_refused_with_its_key(tmp_path: Path, change, message):
    text = Path("loadtest/scenario.toml").read_text(encoding="utf-8").replace(*change)
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError, match=message):
        load_profile("stalls", path)


def test_an_unknown_profile_is_refused():
    with pytest.raises(ScenarioError, match="no profile 'rush-hour'"):
        load_profile("rush-hour")


def test_baskets_take_consecutive_listings_in_whole_units():
    mix = load_profile().stall_mixes[0]
    listings = [{"id": n, "price_vnd": 10_000 * n} for n in range(1, 5)]
    rng = random.Random(7)
    for _ in range(200):
        lines = draw_basket(mix, listings, rng)
        ids = [line["listing_id"] for line in lines]
        assert 1 <= len(ids) <= 4 and len(set(ids)) == len(ids)
        assert all(1 <= line["quantity"] <= 100 for line in lines)


@pytest.mark.parametrize("stalls", [1, 7, 70, 333])
def test_the_stall_mix_scales_to_the_number_of_stalls(stalls):
    scenario = scale_stalls(load_scenario("cao-bang-kim-dong"), stalls)
    counts = [mix.count for mix in scenario.markets[0].stalls]
    assert sum(counts) == stalls
    if stalls == 70:  # the scenario's own size: its own mix
        assert counts == [26, 16, 12, 10, 6]


def test_search_terms_are_typed_without_accents_some_unfinished():
    terms = search_terms(load_scenario("cao-bang-kim-dong"))
    assert "mat ong bac ha" in terms and "mat ong bac" in terms
    assert all(term.isascii() for term in terms)

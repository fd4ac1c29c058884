"""The generated world: what the services need, opaque keys, and the scenario's OCOP mixes."""

import dataclasses
import re
from collections import Counter
from datetime import timedelta

import pytest

from catalog.groups import product_groups
from catalog.models import IssuingLevel
from catalog.services import DISTRICTS_ABOLISHED, SCORE_RANGES
from market.simulator.scenario import Scenario, communes, load_scenario
from market.simulator.world import ShopperKind, World, build_world
from market.vendors.services import check_bank_account

KEY = re.compile(r"[a-z2-9]{12}")


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario("cao-bang-kim-dong")


@pytest.fixture(scope="module")
def world(scenario: Scenario) -> World:
    return build_world(scenario, seed=1)


def test_the_same_seed_builds_the_same_world(scenario: Scenario, world: World) -> None:
    assert build_world(scenario, seed=1) == world
    assert build_world(scenario, seed=2) != world


def test_keys_are_unique_and_say_nothing_of_the_entity(world: World) -> None:
    keys = [
        entity.key
        for entities in (
            world.producers,
            world.products,
            world.markets,
            world.vendors,
            world.stalls,
            world.listings,
        )
        for entity in entities
    ]
    assert len(set(keys)) == len(keys)
    assert all(KEY.fullmatch(key) for key in keys)


def test_kim_dong_has_seventy_stalls_each_with_a_vendor_and_listings(world: World) -> None:
    (market,) = world.markets
    assert (market.name, market.commune_code) == ("Phố đi bộ Kim Đồng", "01273")
    assert market.schedule == [{"days": [5, 6], "opens": "19:00", "closes": "23:00"}]
    assert len(world.stalls) == len(world.vendors) == 70
    assert len({stall.code for stall in world.stalls}) == 70
    assert all(re.fullmatch(r"KD-\d{2}", stall.code) for stall in world.stalls)
    vendors = {vendor.key for vendor in world.vendors}
    assert {stall.vendor for stall in world.stalls} == vendors
    listed = Counter(listing.stall for listing in world.listings)
    assert all(listed[stall.key] >= 1 for stall in world.stalls)
    assert all(len(stall.name) <= 120 for stall in world.stalls)


def test_listings_are_whole_dong_prices_with_stock(scenario: Scenario, world: World) -> None:
    products = {product.key: product for product in world.products}
    stalls = {stall.key: stall for stall in world.stalls}
    for listing in world.listings:
        assert isinstance(listing.price_vnd, int) and listing.price_vnd > 0
        assert listing.price_vnd % scenario.price_step_vnd == 0
        assert 0 < listing.stock <= 1_000_000
        assert stalls[listing.stall].vendor == listing.vendor
        if listing.product is not None:
            assert listing.title == products[listing.product].name
    assert any(listing.product for listing in world.listings)


def test_vendors_pass_the_vendor_checks(world: World) -> None:
    for vendor in world.vendors:
        check_bank_account(vendor.bank_bin, vendor.account_number)
        assert re.fullmatch(r"0[35789]\d{8}", vendor.phone)
        assert len(vendor.owner_name.split()) >= 3
        assert len(vendor.display_name) <= 120 and len(vendor.account_holder) <= 50


def test_each_market_has_locals_and_tourists(world: World) -> None:
    (market,) = world.markets
    segments = {segment.kind: segment for segment in world.shoppers}
    assert segments[ShopperKind.LOCAL].home_commune_code == "01273"
    assert segments[ShopperKind.TOURIST].home_commune_code is None
    assert sum(segment.share for segment in segments.values()) == pytest.approx(1)
    assert segments[ShopperKind.LOCAL].habits.bank_account_share == 0.80


def test_products_are_in_the_province_and_valid_groups(world: World) -> None:
    producers = {producer.key: producer for producer in world.producers}
    groups = product_groups()
    for product in world.products:
        assert communes()[product.origin_commune_code].province_code == "04"
        assert producers[product.producer].commune_code == product.origin_commune_code
        assert groups[product.subgroup_code].parent_code == product.group_code
    assert all(producer.name for producer in world.producers)


def test_certifications_follow_the_rules(scenario: Scenario, world: World) -> None:
    for product in world.products:
        dates = [certification.decision_date for certification in product.certifications]
        assert dates == sorted(dates) and dates[-1] <= scenario.as_of
        numbers = [certification.decision_number for certification in product.certifications]
        assert len(set(numbers)) == len(numbers)
        for certification in product.certifications:
            assert certification.score in SCORE_RANGES[certification.stars]
            central = certification.issuing_level == IssuingLevel.CENTRAL
            assert central == (certification.stars == 5)
            if certification.issuing_level == IssuingLevel.DISTRICT_LEGACY:
                assert certification.stars == 3
                assert certification.decision_date < DISTRICTS_ABOLISHED


def test_some_certifications_lapse_during_a_run(scenario: Scenario, world: World) -> None:
    ends = [product.certifications[-1].valid_until for product in world.products]
    run_end = scenario.as_of + timedelta(days=90)
    assert any(scenario.as_of <= end < run_end for end in ends)
    assert any(end >= run_end for end in ends)


def test_a_large_world_has_the_scenarios_mixes(scenario: Scenario) -> None:
    ocop = dataclasses.replace(scenario.ocop, producers=4000)
    world = build_world(dataclasses.replace(scenario, ocop=ocop), seed=3)

    def shares(values: list[object]) -> dict[object, float]:
        return {key: count / len(values) for key, count in Counter(values).items()}

    stars = shares([cert.stars for product in world.products for cert in product.certifications])
    groups = shares([product.group_code for product in world.products])
    types = shares([producer.producer_type for producer in world.producers])
    for drawn, wanted in ((stars, ocop.stars), (groups, ocop.groups), (types, ocop.producer_types)):
        for key, share in wanted.items():
            assert drawn.get(key, 0) == pytest.approx(share, abs=0.02)
    assert len(world.products) / len(world.producers) == pytest.approx(1.84, abs=0.05)

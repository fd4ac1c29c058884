"""Scenarios: every parameter checked on load, with errors naming the dotted key and its range."""

import tomllib
from collections.abc import Callable
from datetime import date, time
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from catalog.models import ProducerType
from market.markets.models import MarketKind, StallCategory
from market.simulator.scenario import (
    ScenarioError,
    builtin_scenarios,
    load_scenario,
    read_scenario,
)

KIM_DONG = "cao-bang-kim-dong"
MORNING = "lam-dong-lac-tanh-morning"


def raw(name: str = KIM_DONG) -> dict[str, Any]:
    text = resources.files("market.simulator").joinpath("scenarios", f"{name}.toml").read_text()
    return tomllib.loads(text)


def test_the_builtin_scenarios_load() -> None:
    assert builtin_scenarios() == [KIM_DONG, MORNING]
    for name in builtin_scenarios():
        assert load_scenario(name).name == name


def test_kim_dong_is_the_walking_street_of_thuc_phan() -> None:
    scenario = load_scenario(KIM_DONG)
    (street,) = scenario.markets
    assert (street.commune_code, street.kind) == ("01273", MarketKind.WALKING_STREET)
    assert street.schedule() == [{"days": [5, 6], "opens": "19:00", "closes": "23:00"}]
    assert sum(mix.count for mix in street.stalls) == 70
    assert {mix.category for mix in street.stalls} >= {
        StallCategory.COOKED_FOOD,
        StallCategory.DRINKS,
        StallCategory.CRAFTS_SOUVENIRS,
        StallCategory.OCOP_PRODUCTS,
    }
    (launch,) = street.campaigns
    assert launch.qr_boards > 0 and launch.day > scenario.as_of
    assert (scenario.adoption.p, scenario.adoption.q) == (0.03, 0.38)
    assert scenario.ocop.stars == {3: 0.762, 4: 0.233, 5: 0.005}
    assert scenario.ocop.producer_types[ProducerType.COOPERATIVE] == 0.32
    assert 0.75 <= scenario.ocop.groups["FOOD"] <= 0.80
    drinks = next(mix for mix in street.stalls if mix.category == StallCategory.DRINKS)
    juice = next(goods for goods in drinks.goods if goods.title == "Nước mía")
    assert juice.price_vnd == 10_000


def test_the_morning_market_opens_every_day_at_five() -> None:
    (market,) = load_scenario(MORNING).markets
    (opening,) = market.openings
    assert opening.days == (1, 2, 3, 4, 5, 6, 7)
    assert (opening.opens, opening.closes) == (time(5), time(11))
    assert market.kind == MarketKind.TRADITIONAL


def test_every_table_cites_its_source() -> None:
    scenario = load_scenario(KIM_DONG)
    assert {"", "calendar", "adoption", "qr", "shoppers.local", "ocop", "ocop.stars"} <= set(
        scenario.sources
    )
    assert "domain.md §3.4" in scenario.sources["adoption"]
    assert {"markets[0]", "markets[0].openings[0]", "markets[0].stalls[4]"} <= set(scenario.sources)


def test_a_table_without_a_source_is_refused() -> None:
    data = raw()
    del data["qr"]["source"]
    with pytest.raises(ScenarioError, match=r"^qr\.source: missing"):
        read_scenario(data)


def _delete(key: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        *path, last = key.split(".")
        table = data
        for part in path:
            table = table[part]
        del table[last]

    return change


def _set(*path: str | int, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        table = data
        for part in path[:-1]:
            table = table[part]
        table[path[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        (
            _delete("shoppers.local.smartphone_share"),
            "shoppers.local.smartphone_share",
            "missing; expected a share from 0 to 1",
        ),
        (
            _set("markets", 0, "stalls", 1, "count", value=-3),
            "markets[0].stalls[1].count",
            "-3 is out of range; expected a whole number from 0 to 1,000,000",
        ),
        (
            _set("shoppers", "tourist", "qr_preference", value=1.5),
            "shoppers.tourist.qr_preference",
            "1.5 is out of range; expected a share from 0 to 1",
        ),
        (
            _set("qr", "failed_rate", value=-0.1),
            "qr.failed_rate",
            "-0.1 is out of range; expected a share from 0 to 1",
        ),
        (
            _set("markets", 0, "commune_code", value="99999"),
            "markets[0].commune_code",
            "'99999' is not a commune code; expected a five-digit GSO commune code",
        ),
        (
            _set("ocop", "province_code", value="99"),
            "ocop.province_code",
            "'99' is not a two-digit GSO province code",
        ),
        (
            _set("ocop", "stars", "3", value=0.5),
            "ocop.stars",
            "the shares add up to 0.738; expected 1",
        ),
        (
            _set("ocop", "groups", "SOUVENIRS", value=0.1),
            "ocop.groups.SOUVENIRS",
            "unknown; expected one of FOOD, BEVERAGE",
        ),
        (
            _set("adoption", "pp", value=0.03),
            "adoption.pp",
            "unknown parameter",
        ),
        (
            _set("markets", 0, "kind", value="supermarket"),
            "markets[0].kind",
            "'supermarket' is out of range; expected one of traditional, market_4_0",
        ),
        (
            _set("markets", 0, "openings", 0, "closes", value="24:00"),
            "markets[0].openings[0].closes",
            "'24:00' is out of range; expected a 24-hour time",
        ),
        (
            _set("markets", 0, "openings", 0, "hourly_weights", value=[1.0, 1.0]),
            "markets[0].openings[0].hourly_weights",
            "expected a list of 4 numbers from 0 to 100",
        ),
        (
            _set("markets", 0, "start_noncash_share", value=0.9),
            "markets[0].start_noncash_share",
            "0.9 is out of range; expected a share from 0 to 0.506",
        ),
        (
            _set("markets", 0, "campaigns", 0, "qr_boards", value=71),
            "markets[0].campaigns[0].qr_boards",
            "expected a whole number from 0 to 70",
        ),
        (
            _set("adoption", "q", value=True),
            "adoption.q",
            "True is out of range; expected a number from 0 to 5",
        ),
        (
            _set("ocop", "first_decisions_from", value=date(2027, 1, 1)),
            "ocop.first_decisions_from",
            "expected a date on or before as_of",
        ),
    ],
)
def test_bad_parameters_are_refused_by_dotted_key_and_range(
    change: Callable[[dict[str, Any]], None], key: str, message: str
) -> None:
    data = raw()
    change(data)
    with pytest.raises(ScenarioError) as caught:
        read_scenario(data)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key}: ")
    assert message in str(caught.value)


def test_a_scenario_file_is_read_by_path(tmp_path: Path) -> None:
    text = resources.files("market.simulator").joinpath("scenarios", f"{KIM_DONG}.toml")
    path = tmp_path / "mine.toml"
    path.write_text(text.read_text().replace('"01273"', '"99999"'))
    with pytest.raises(ScenarioError, match=r"^markets\[0\]\.commune_code: '99999'"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match=r"^markets\[0\]\.commune_code"):
        load_scenario(str(path))


def test_an_unknown_name_lists_the_builtin_scenarios() -> None:
    with pytest.raises(ScenarioError, match=f"no built-in scenario 'hanoi'; one of {KIM_DONG}"):
        load_scenario("hanoi")


def test_tet_shopping_weeks_are_busier() -> None:
    calendar = load_scenario(KIM_DONG).calendar
    assert calendar.multiplier(date(2027, 2, 1)) == 1.3
    assert calendar.multiplier(date(2027, 2, 6)) == 1.0  # the new year's day itself
    assert calendar.multiplier(date(2027, 1, 10)) == 1.0

"""Prepare a load test's database through the services: schema, places, and a market that sells.

The market is the simulator's first market with its stall mix scaled to the number of stalls
wanted, stored by the simulator's own `store_world`; then every stall turns its VietQR on, every
vendor gets an API token, and an official gets one too. What the Locust processes need to act
(ids, tokens, prices, the bank's secret) goes into a manifest file beside the run's output.
"""

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from loadtest.scenario import LoadProfile
from market import migrate
from market.accounts.models import User
from market.accounts.services import create_user, issue_token
from market.core.clock import vietnam_today
from market.core.principals import Role
from market.core.text import fold
from market.markets import services as markets
from market.places.services import load_places
from market.simulator.scenario import Scenario
from market.simulator.store import store_world
from market.simulator.world import World, build_world

MAX_STALLS = 5000
OFFICIAL_NAME = "Cán bộ Sở Công Thương (load test)"


def scale_stalls(scenario: Scenario, stalls: int) -> Scenario:
    """Return the scenario with its first market's stall mix scaled to `stalls` stalls in all."""
    if not 1 <= stalls <= MAX_STALLS:
        raise ValueError(f"stalls must be from 1 to {MAX_STALLS:,}, not {stalls}")
    plan = scenario.markets[0]
    counts = [mix.count for mix in plan.stalls]
    shares = [stalls * count / sum(counts) for count in counts]
    scaled = [int(share) for share in shares]
    # Largest remainders first, so the mix stays as close to the scenario's as whole stalls allow.
    by_remainder = sorted(range(len(shares)), key=lambda i: scaled[i] - shares[i])
    for index in by_remainder[: stalls - sum(scaled)]:
        scaled[index] += 1
    mixes = tuple(
        dataclasses.replace(mix, count=count)
        for mix, count in zip(plan.stalls, scaled, strict=True)
    )
    market = dataclasses.replace(plan, stalls=mixes, campaigns=())
    return dataclasses.replace(scenario, markets=(market,))


def stocked(world: World, multiplier: int) -> World:
    """Return the world with every listing's opening stock multiplied."""
    listings = tuple(
        dataclasses.replace(listing, stock=min(1_000_000, listing.stock * multiplier))
        for listing in world.listings
    )
    return dataclasses.replace(world, listings=listings)


def search_terms(scenario: Scenario) -> list[str]:
    """Return what shoppers type: OCOP product kinds without accents, some cut short."""
    terms = []
    for kind in scenario.ocop.kinds:
        folded = fold(kind.name)
        terms.append(folded)
        if len(folded) > 5:
            terms.append(folded[:-2].rstrip())  # the last word unfinished: matched as a prefix
    return terms


def prepare_database(
    engine: Engine, profile: LoadProfile, stalls: int, simbank_secret: str
) -> dict[str, Any]:
    """Migrate, load places, seed the market, and return the manifest the Locust users read."""
    migrate.upgrade(engine)
    with Session(engine) as session, session.begin():
        load_places(session)
    scenario = scale_stalls(profile.simulator, stalls)
    world = stocked(build_world(scenario, profile.world_seed), profile.stock_multiplier)
    with Session(engine) as session, session.begin():
        stored = store_world(session, world, vietnam_today())
        tokens = {}
        for key, actor in stored.vendors.items():
            user = session.get_one(User, actor.user_id)
            tokens[key] = issue_token(session, user, label="load test").token
        for stall in world.stalls:
            actor = stored.vendors[stall.vendor]
            markets.update_stall(session, actor, stored.stalls[stall.key], {"accepts_qr": True})
        official = create_user(session, OFFICIAL_NAME, Role.OFFICIAL)
        official_token = issue_token(session, official, label="load test").token
    market = world.markets[0]
    listings: dict[str, list[dict[str, Any]]] = {}
    for listing in world.listings:
        listings.setdefault(listing.stall, []).append(
            {
                "id": stored.listings[listing.key],
                "price_vnd": listing.price_vnd,
                "stock": listing.stock,
            }
        )
    return {
        "database": engine.url.render_as_string(hide_password=True),
        "market_id": stored.markets[market.key],
        "commune_code": market.commune_code,
        "official_token": official_token,
        "simbank_secret": simbank_secret,
        "search_terms": search_terms(scenario),
        "stalls": [
            {
                "id": stored.stalls[stall.key],
                "code": stall.code,
                "category": stall.category.value,
                "vendor_token": tokens[stall.vendor],
                "account_number": stored.accounts[stall.vendor],
                "listings": listings[stall.key],
            }
            for stall in world.stalls
        ],
    }


def write_manifest(manifest: dict[str, Any], path: Path) -> None:
    """Write the manifest readable by its owner only: it holds tokens and the bank's secret."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(manifest, out, ensure_ascii=False, indent=1)


def read_manifest(path: Path) -> dict[str, Any]:
    """Read a manifest written by write_manifest."""
    return json.loads(Path(path).read_text(encoding="utf-8"))

"""Abuse limits: too many requests from one address get a 429 that says how long to wait."""

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import redis
from flask import Flask
from limits import parse_many
from sqlalchemy import Engine

from market.core import limits
from market.core.limits import LIMITS, EndpointLimit
from tests.clock import FakeClock
from tests.settings import TEST_SECRETS

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def limited_app(
    make_app: Callable[..., Flask], engine: Engine, database_url: str
) -> Callable[..., Flask]:
    """Make an app on the migrated test database with rate limits on and the given settings."""

    def make(**settings: Any) -> Flask:
        return make_app(
            {"DATABASE_URL": database_url, "RATELIMIT_ENABLED": True, **TEST_SECRETS, **settings}
        )

    return make


def assert_refused(response: Any, what: str) -> int:
    """Check the 429 is in the one error shape, names the limit and says how long to wait."""
    assert response.status_code == 429
    body = response.get_json()
    assert {"code", "status", "reason", "message"} <= body.keys()
    assert body["code"] == 429
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 60
    assert f"Too many {what} requests" in body["message"]
    assert f"Wait {wait} seconds" in body["message"]
    return wait


def test_anonymous_checkout_is_refused_past_its_limit_with_retry_after(
    limited_app: Callable[..., Flask],
) -> None:
    client = limited_app(RATELIMIT_CHECKOUT="3/minute").test_client()
    # Refused bodies count too: the limit guards the server's work, not only successful orders.
    assert [client.post("/api/v1/orders", json={}).status_code for _ in range(3)] == [422] * 3
    assert_refused(client.post("/api/v1/orders", json={}), "checkout")
    assert client.get("/api/v1/orders/nope").status_code == 404  # reading an order is not limited


def test_a_limit_resets_when_its_window_ends(limited_app: Callable[..., Flask]) -> None:
    client = limited_app(RATELIMIT_SEARCH="2/second").test_client()
    assert [client.get("/api/v1/communes?q=ha").status_code for _ in range(2)] == [200, 200]
    wait = assert_refused(client.get("/api/v1/communes?q=ha"), "search")
    time.sleep(wait + 0.05)
    assert client.get("/api/v1/communes?q=ha").status_code == 200


def test_search_limits_text_queries_not_browsing(limited_app: Callable[..., Flask]) -> None:
    client = limited_app(RATELIMIT_SEARCH="1/minute").test_client()
    assert client.get("/api/v1/markets?q=cho").status_code == 200
    assert_refused(client.get("/api/v1/markets?q=cho"), "search")
    assert client.get("/api/v1/markets").status_code == 200


def test_webhooks_are_limited_per_provider(limited_app: Callable[..., Flask]) -> None:
    client = limited_app(RATELIMIT_WEBHOOKS="1/minute").test_client()
    assert client.post("/api/v1/webhooks/bank/sepay", json={}).status_code == 401
    assert_refused(client.post("/api/v1/webhooks/bank/sepay", json={}), "bank notification")
    # Another provider's notifications from the same address still get through.
    assert client.post("/api/v1/webhooks/bank/casso", json={}).status_code != 429
    assert client.post("/api/v1/webhooks/stripe", data=b"{}").status_code != 429
    assert_refused(client.post("/api/v1/webhooks/stripe", data=b"{}"), "Stripe notification")


def test_addresses_from_trusted_proxies_are_counted_apart(
    limited_app: Callable[..., Flask],
) -> None:
    behind_proxy = limited_app(RATELIMIT_SEARCH="1/minute", PROXY_HOPS=1).test_client()
    for shopper in ("203.0.113.7", "203.0.113.8"):
        forwarded = {"X-Forwarded-For": shopper}
        assert behind_proxy.get("/api/v1/communes?q=ha", headers=forwarded).status_code == 200
    # With no trusted proxy the header is the caller's word, and is ignored.
    direct = limited_app(RATELIMIT_SEARCH="1/minute").test_client()
    first = direct.get("/api/v1/communes?q=ha", headers={"X-Forwarded-For": "1.1.1.1"})
    assert first.status_code == 200
    refused = direct.get("/api/v1/communes?q=ha", headers={"X-Forwarded-For": "2.2.2.2"})
    assert refused.status_code == 429


def test_limits_can_be_turned_off(limited_app: Callable[..., Flask]) -> None:
    client = limited_app(RATELIMIT_ENABLED=False, RATELIMIT_CHECKOUT="1/minute").test_client()
    assert [client.post("/api/v1/orders", json={}).status_code for _ in range(3)] == [422] * 3


def test_a_limit_on_an_endpoint_that_does_not_exist_stops_the_app(
    monkeypatch: pytest.MonkeyPatch, limited_app: Callable[..., Flask]
) -> None:
    typo = EndpointLimit("sales.Order", ("POST",), "RATELIMIT_CHECKOUT", "checkout")
    monkeypatch.setattr(limits, "LIMITS", (*LIMITS, typo))
    with pytest.raises(
        RuntimeError, match="rate limits name endpoints that do not exist: sales.Order"
    ):
        limited_app()


def test_two_app_instances_share_their_counts_through_redis(
    limited_app: Callable[..., Flask],
) -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: start one to test shared limits")
    shared = {
        "RATELIMIT_STORAGE_URI": REDIS_URL,
        # A fresh prefix per run, so earlier runs' counts cannot leak into this one.
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "RATELIMIT_CHECKOUT": "3/minute",
    }
    first, second = limited_app(**shared).test_client(), limited_app(**shared).test_client()
    assert first.post("/api/v1/orders", json={}).status_code == 422
    assert second.post("/api/v1/orders", json={}).status_code == 422
    assert first.post("/api/v1/orders", json={}).status_code == 422
    assert_refused(second.post("/api/v1/orders", json={}), "checkout")


def test_web_sign_in_is_limited_and_the_page_says_when_to_try_again(
    limited_app: Callable[..., Flask],
) -> None:
    client = limited_app(RATELIMIT_SIGN_IN="2/minute").test_client()
    form = {"login": "0912000001", "password": "wrong password"}
    assert [client.post("/sign-in", data=form).status_code for _ in range(2)] == [400, 400]
    refused = client.post("/sign-in", data=form)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert client.get("/sign-in").status_code == 200  # the form itself stays open


def test_a_redis_outage_neither_refuses_checkout_nor_lifts_the_limit(
    limited_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing listens on port 1: every call to the shared counter fails at once.
    client = limited_app(
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0", RATELIMIT_CHECKOUT="2/minute"
    ).test_client()
    assert [client.post("/api/v1/orders", json={}).status_code for _ in range(2)] == [422] * 2
    assert_refused(client.post("/api/v1/orders", json={}), "checkout")
    assert "counting in this process" in caplog.text


def test_threads_counting_in_memory_lose_no_request() -> None:
    counter = limits.RequestCounter("memory://", "test")
    items = parse_many("160/minute")
    refused: list[Any] = []

    def shopper() -> None:
        for _ in range(20):
            refused.append(counter.exceeded(items, "checkout", "203.0.113.7"))

    threads = [threading.Thread(target=shopper) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert refused == [None] * 160  # all 160 allowed, none failed
    assert counter.exceeded(items, "checkout", "203.0.113.7") == items[0]  # and all counted


def test_a_memory_window_starts_at_its_first_request_and_ends_a_period_later() -> None:
    clock = FakeClock()
    windows = limits.LocalWindows(clock)
    (item,) = parse_many("2/minute")
    assert windows.hit(item, "checkout", "203.0.113.7")
    clock.now += 30
    assert windows.hit(item, "checkout", "203.0.113.7")
    assert not windows.hit(item, "checkout", "203.0.113.7")
    assert windows.hit(item, "checkout", "198.51.100.2")  # another address counts apart
    assert windows.reset_time(item, "checkout", "203.0.113.7") == 160.0
    clock.now += 30
    assert windows.hit(item, "checkout", "203.0.113.7")  # a new window


def test_memory_forgets_the_windows_that_ended() -> None:
    """A long-running server meets many addresses: its counts must not grow without end."""
    clock = FakeClock()
    windows = limits.LocalWindows(clock)
    (item,) = parse_many("10/minute")
    for address in range(1000):
        windows.hit(item, "search", f"10.0.{address // 256}.{address % 256}")
    assert len(windows) == 1000
    clock.now += limits.LocalWindows.SWEEP_SECONDS
    windows.hit(item, "search", "203.0.113.7")
    assert len(windows) == 1

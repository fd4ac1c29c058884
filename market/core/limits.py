"""Abuse limits: requests per client address on the endpoints worth abusing, from one table.

The limits are attached here by endpoint name, not by decorators in the views, so the whole policy
reads in one place and the views stay thin. Each app gets its own counter, in the storage its
settings name. The counting is the `limits` library's own, called once a request: Flask-Limiter,
which wraps it, checked every limited request twice (its before_request hook and the route's
decorator), a tenth of a checkout's CPU.
"""

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from operator import methodcaller
from typing import Any, Protocol, TypeVar

from flask import Flask, request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

logger = logging.getLogger(__name__)
View = Callable[..., Any]
T = TypeVar("T")


def client_address() -> str:
    """Return the caller's address (behind `PROXY_HOPS` trusted proxies, the one they saw)."""
    return request.remote_addr or "unknown"


def provider_and_address() -> str:
    """Key a webhook per provider and address, so one noisy provider cannot starve another."""
    provider = (request.view_args or {}).get("provider") or request.endpoint or ""
    return f"{provider}@{client_address()}"


def text_search_only() -> bool:
    """Exempt listing pages without `q`: browsing is cheap, text search is what costs."""
    return not request.args.get("q")


@dataclass(frozen=True)
class EndpointLimit:
    """A limit on one endpoint's methods; its value is the setting `setting` (e.g. "60/minute")."""

    endpoint: str
    methods: tuple[str, ...]
    setting: str
    what: str
    key: Callable[[], str] = client_address
    exempt_when: Callable[[], bool] | None = None


LIMITS = (
    # A market's shoppers often share one carrier NAT address: keep checkout generous.
    EndpointLimit("sales.Orders", ("POST",), "RATELIMIT_CHECKOUT", "checkout"),
    EndpointLimit(
        "catalog.Products", ("GET",), "RATELIMIT_SEARCH", "search", exempt_when=text_search_only
    ),
    EndpointLimit(
        "vendors.Listings", ("GET",), "RATELIMIT_SEARCH", "search", exempt_when=text_search_only
    ),
    EndpointLimit(
        "markets.Markets", ("GET",), "RATELIMIT_SEARCH", "search", exempt_when=text_search_only
    ),
    EndpointLimit(
        "places.Communes", ("GET",), "RATELIMIT_SEARCH", "search", exempt_when=text_search_only
    ),
    EndpointLimit(
        "payments.BankWebhook",
        ("POST",),
        "RATELIMIT_WEBHOOKS",
        "bank notification",
        key=provider_and_address,
    ),
    EndpointLimit(
        "payments.StripeWebhook",
        ("POST",),
        "RATELIMIT_WEBHOOKS",
        "Stripe notification",
        key=provider_and_address,
    ),
    EndpointLimit("accounts.Tokens", ("POST",), "RATELIMIT_TOKENS", "token"),
    EndpointLimit("web.sign_in", ("POST",), "RATELIMIT_SIGN_IN", "sign-in"),
)


def unknown_limited_endpoints(app: Flask) -> list[str]:
    """List the table's endpoints that the app does not have: a typo, or a renamed view."""
    return sorted({limit.endpoint for limit in LIMITS} - set(app.view_functions))


def init_limits(app: Flask) -> None:
    """Wrap the table's views in their limits; refuse names the app does not have."""
    unknown = unknown_limited_endpoints(app)
    if unknown:
        raise RuntimeError(f"rate limits name endpoints that do not exist: {', '.join(unknown)}")
    if not app.config["RATELIMIT_ENABLED"]:
        return
    counter = RequestCounter(
        app.config["RATELIMIT_STORAGE_URI"], app.config["RATELIMIT_KEY_PREFIX"]
    )
    for limit in LIMITS:
        view = app.view_functions[limit.endpoint]
        items = parse_many(app.config[limit.setting])
        app.view_functions[limit.endpoint] = _limited(view, limit, items, counter)


class Windows(Protocol):
    """Fixed-window counters: count a request, or tell when the current window ends."""

    def hit(self, item: RateLimitItem, *keys: str) -> bool:
        """Count one request; tell whether the window still allows it."""

    def reset_time(self, item: RateLimitItem, *keys: str) -> float:
        """Return the Unix time at which the current window ends."""


class SharedWindows:
    """Windows in the configured storage (Redis), counted by the limits library."""

    def __init__(self, storage_uri: str) -> None:
        storage = storage_from_string(storage_uri, wrap_exceptions=True)
        self._limiter = FixedWindowRateLimiter(storage)

    def hit(self, item: RateLimitItem, *keys: str) -> bool:
        return self._limiter.hit(item, *keys)

    def reset_time(self, item: RateLimitItem, *keys: str) -> float:
        return self._limiter.get_window_stats(item, *keys).reset_time


@dataclass(slots=True)
class _Window:
    ends_at: float
    count: int = 0


class LocalWindows:
    """Windows counted in this process's memory, as limits counts them: a window starts at its
    first request.

    limits' own memory storage expires its keys from a timer thread, started again whenever the
    last one has ended: under load, a new thread for most requests, which cost a checkout 0.3 ms
    of CPU (a tenth), and a race that failed a request (alisaifee/limits#352, not released in
    5.8). Here ended windows are dropped as requests come, in one sweep every SWEEP_SECONDS.
    """

    SWEEP_SECONDS = 60.0

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()
        self._next_sweep = clock() + self.SWEEP_SECONDS

    def hit(self, item: RateLimitItem, *keys: str) -> bool:
        key = item.key_for(*keys)
        with self._lock:
            now = self._clock()
            if now >= self._next_sweep:
                self._sweep(now)
            window = self._windows.get(key)
            if window is None or window.ends_at <= now:
                window = self._windows[key] = _Window(ends_at=now + item.get_expiry())
            window.count += 1
            return window.count <= item.amount

    def reset_time(self, item: RateLimitItem, *keys: str) -> float:
        with self._lock:
            window = self._windows.get(item.key_for(*keys))
            return window.ends_at if window is not None else self._clock()

    def __len__(self) -> int:
        """Return how many windows are kept: the ones not yet swept."""
        return len(self._windows)

    def _sweep(self, now: float) -> None:
        self._windows = {
            key: window for key, window in self._windows.items() if window.ends_at > now
        }
        self._next_sweep = now + self.SWEEP_SECONDS


class RequestCounter:
    """Count requests in fixed windows in the configured storage, which Redis shares between
    processes; with `memory://`, each process counts its own.

    A Redis outage must not refuse payments: meanwhile this process counts in its own memory,
    and tries the storage again after `RETRY_SECONDS`.
    """

    RETRY_SECONDS = 30

    def __init__(self, storage_uri: str, prefix: str) -> None:
        self._shared = None if storage_uri.startswith("memory://") else SharedWindows(storage_uri)
        self._local = LocalWindows()
        self._prefix = prefix
        self._shared_down_until = 0.0

    def exceeded(self, items: list[RateLimitItem], *keys: str) -> RateLimitItem | None:
        """Count one request against each item; return the first item it exceeds, if any."""
        for item in items:
            if not self._counted(methodcaller("hit", item, self._prefix, *keys)):
                return item
        return None

    def seconds_to_reset(self, item: RateLimitItem, *keys: str) -> int:
        """Return the whole seconds, at least 1, until `item`'s current window ends."""
        reset_time = self._counted(methodcaller("reset_time", item, self._prefix, *keys))
        return max(1, math.ceil(reset_time - time.time()))

    def _counted(self, count: Callable[[Windows], T]) -> T:
        """Count in the shared storage, or in this process's own while that is down."""
        if self._shared is not None and time.monotonic() >= self._shared_down_until:
            try:
                return count(self._shared)
            except StorageError as error:
                logger.warning(
                    "Rate-limit storage unreachable (%s): counting in this process for %d s.",
                    error.storage_error,
                    self.RETRY_SECONDS,
                )
                self._shared_down_until = time.monotonic() + self.RETRY_SECONDS
        return count(self._local)


def _limited(
    view: View, limit: EndpointLimit, items: list[RateLimitItem], counter: RequestCounter
) -> View:
    """Wrap `view` so a request past its limit gets a 429 that says what and how long to wait."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.method in limit.methods and not (limit.exempt_when and limit.exempt_when()):
            key = limit.key()
            exceeded = counter.exceeded(items, limit.endpoint, key)
            if exceeded is not None:
                wait = counter.seconds_to_reset(exceeded, limit.endpoint, key)
                raise TooManyRequests(
                    f"Too many {limit.what} requests from your address (at most {exceeded}). "
                    f"Wait {wait} seconds and try again.",
                    retry_after=wait,
                )
        return view(*args, **kwargs)

    return wrapper

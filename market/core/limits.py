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
from typing import Any, TypeVar

from flask import Flask, request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
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


class RequestCounter:
    """Count requests in fixed windows in the configured storage, which Redis shares between
    processes.

    A Redis outage must not refuse payments: meanwhile this process counts in its own memory,
    and tries the storage again after `RETRY_SECONDS`.
    """

    RETRY_SECONDS = 30

    def __init__(self, storage_uri: str, prefix: str) -> None:
        storage = storage_from_string(storage_uri, wrap_exceptions=True)
        self._shared = FixedWindowRateLimiter(storage)
        self._local: FixedWindowRateLimiter | None = None
        self._prefix = prefix
        self._shared_down_until = 0.0
        # limits 5.8's MemoryStorage can start its expiry timer twice when threads race, which
        # fails the request ("threads can only be started once"; alisaifee/limits#352 fixes it
        # after 5.8): this process's threads enter a memory storage one at a time.
        self._memory_lock = threading.Lock()

    def exceeded(self, items: list[RateLimitItem], *keys: str) -> RateLimitItem | None:
        """Count one request against each item; return the first item it exceeds, if any."""
        for item in items:
            if not self._counted(FixedWindowRateLimiter.hit, item, self._prefix, *keys):
                return item
        return None

    def seconds_to_reset(self, item: RateLimitItem, *keys: str) -> int:
        """Return the whole seconds, at least 1, until `item`'s current window ends."""
        stats = self._counted(FixedWindowRateLimiter.get_window_stats, item, self._prefix, *keys)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def _counted(self, method: Callable[..., T], *args: Any) -> T:
        """Call `method` on the shared counter, or on this process's own while that is down."""
        if time.monotonic() >= self._shared_down_until:
            try:
                return self._call(self._shared, method, args)
            except StorageError as error:
                logger.warning(
                    "Rate-limit storage unreachable (%s): counting in this process for %d s.",
                    error.storage_error,
                    self.RETRY_SECONDS,
                )
                self._shared_down_until = time.monotonic() + self.RETRY_SECONDS
        if self._local is None:
            self._local = FixedWindowRateLimiter(MemoryStorage())
        return self._call(self._local, method, args)

    def _call(
        self, limiter: FixedWindowRateLimiter, method: Callable[..., T], args: tuple[Any, ...]
    ) -> T:
        if isinstance(limiter.storage, MemoryStorage):
            with self._memory_lock:
                return method(limiter, *args)
        return method(limiter, *args)


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

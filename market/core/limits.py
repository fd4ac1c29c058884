"""Abuse limits: requests per client address on the endpoints worth abusing, from one table.

The limits are attached here by endpoint name, not by decorators in the views, so the whole policy
reads in one place and the views stay thin. Each app gets its own `Limiter`: Flask-Limiter keeps its
storage and its enabled flag on the instance, so one instance bound to several apps (tests, the CLI)
would let the last app's settings win for all of them.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Flask, request
from flask_limiter import Limiter, RateLimitExceeded
from werkzeug.exceptions import TooManyRequests

View = Callable[..., Any]


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
    """Bind a Limiter to `app` and wrap the table's views; refuse names the app does not have."""
    unknown = unknown_limited_endpoints(app)
    if unknown:
        raise RuntimeError(f"rate limits name endpoints that do not exist: {', '.join(unknown)}")
    limiter = Limiter(
        client_address,
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        # A Redis outage must not refuse payments: count in this process's memory meanwhile.
        in_memory_fallback_enabled=True,
        headers_enabled=False,
    )
    limiter.init_app(app)
    app.extensions["rate_limiter"] = limiter
    if not limiter.enabled:
        return
    for limit in LIMITS:
        route_limit = limiter.limit(
            app.config[limit.setting],
            key_func=limit.key,
            methods=list(limit.methods),
            exempt_when=limit.exempt_when,
        )
        view = app.view_functions[limit.endpoint]
        app.view_functions[limit.endpoint] = _refusing(limiter, route_limit(view), view, limit.what)


def _refusing(limiter: Limiter, limited: View, view: View, what: str) -> View:
    """Turn Flask-Limiter's refusal into a 429 that says what was limited and how long to wait."""

    # Named like `view`, so Flask-Limiter sees one limited view and counts each request once.
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return limited(*args, **kwargs)
        except RateLimitExceeded as error:
            current = limiter.current_limit
            reset_at = current.window[0] if current else time.time() + 60
            wait = max(1, math.ceil(reset_at - time.time()))
            raise TooManyRequests(
                f"Too many {what} requests from your address (at most {error.limit.limit}). "
                f"Wait {wait} seconds and try again.",
                retry_after=wait,
            ) from None

    return wrapper

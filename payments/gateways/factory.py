"""Choose the card gateway that the settings name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from payments.gateways.card import CardGateway
from payments.gateways.fake import FakeCardGateway
from payments.gateways.stripe_gateway import StripeGateway

CARD_GATEWAYS = ("stripe", "fake")


def card_gateway_from_settings(settings: Mapping[str, Any]) -> CardGateway:
    """Build the gateway named by CARD_GATEWAY, configured by the STRIPE_* settings."""
    kind = settings.get("CARD_GATEWAY")
    if kind == "fake":
        return FakeCardGateway()
    if kind != "stripe":
        raise ValueError(f"CARD_GATEWAY must be one of {', '.join(CARD_GATEWAYS)}, not {kind!r}")
    api_key = settings.get("STRIPE_API_KEY")
    # A publishable key (pk_) cannot charge: only secret or restricted keys can.
    if not isinstance(api_key, str) or not api_key.startswith(("sk_", "rk_")):
        raise ValueError("CARD_GATEWAY=stripe needs STRIPE_API_KEY, a secret key (sk_… or rk_…)")
    api_base = settings.get("STRIPE_API_BASE") or None
    if api_base is not None and (
        not isinstance(api_base, str) or not api_base.startswith(("http://", "https://"))
    ):
        raise ValueError(f"STRIPE_API_BASE must be an http(s) address, not {api_base!r}")
    retries = settings.get("STRIPE_MAX_NETWORK_RETRIES", 2)
    # Settings read from the environment arrive as text.
    if isinstance(retries, str) and retries.isdigit():
        retries = int(retries)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"STRIPE_MAX_NETWORK_RETRIES must be a whole number >= 0, not {retries!r}")
    return StripeGateway(api_key, api_base=api_base, max_network_retries=retries)

"""The card gateway interface: what a charge and a refund return, whoever processes them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

# Stripe's minimum is "$0.50 US or equivalent"; rounded up so a rate move does not push us below it.
MIN_CARD_AMOUNT_VND = 13_000
# Stripe's `amount` allows eight digits.
MAX_CARD_AMOUNT_VND = 99_999_999


class ChargeStatus(StrEnum):
    """Where a card charge stands once the gateway has answered.

    SUCCEEDED: the money is captured; the sale is paid.
    DECLINED: the card's issuer or the processor refused it; nothing is owed, the buyer may try
        another card (under a new idempotency key).
    REQUIRES_ACTION: the buyer must authenticate (3-D Secure) before the charge can go on; not paid.
    PROCESSING: the processor accepted the charge but has not settled it; a webhook tells the end.
    """

    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"


@dataclass(frozen=True)
class CardCharge:
    """The outcome of one charge attempt, as the provider reported it."""

    provider_payment_id: str
    status: ChargeStatus
    amount_vnd: int
    decline_code: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class CardRefund:
    """A refund the provider accepted; `status` is the provider's own word for it."""

    provider_refund_id: str
    provider_payment_id: str
    amount_vnd: int
    status: str


class CardGatewayError(Exception):
    """The provider could not be reached or answered something we cannot use (not a decline)."""


class CardGateway(Protocol):
    """Charge and refund cards in whole dong; a decline is a result, not an exception."""

    name: str

    def charge(
        self, *, amount_vnd: int, payment_method: str, reference: str, idempotency_key: str
    ) -> CardCharge:
        """Create and confirm a payment of `amount_vnd` dong in one call."""

    def refund(
        self, *, provider_payment_id: str, amount_vnd: int, idempotency_key: str
    ) -> CardRefund:
        """Give back `amount_vnd` dong of a succeeded payment."""


def check_charge_amount(amount_vnd: int) -> None:
    """Refuse an amount that a card charge cannot carry."""
    if isinstance(amount_vnd, bool) or not isinstance(amount_vnd, int):
        raise ValueError(f"amount_vnd must be a whole number of dong, not {amount_vnd!r}")
    if not MIN_CARD_AMOUNT_VND <= amount_vnd <= MAX_CARD_AMOUNT_VND:
        raise ValueError(
            f"amount_vnd of a card charge must be {MIN_CARD_AMOUNT_VND:,}"
            f" to {MAX_CARD_AMOUNT_VND:,}, not {amount_vnd:,}"
        )


def check_refund_amount(amount_vnd: int) -> None:
    """Refuse a refund amount that no card charge could cover."""
    if isinstance(amount_vnd, bool) or not isinstance(amount_vnd, int):
        raise ValueError(f"amount_vnd must be a whole number of dong, not {amount_vnd!r}")
    if not 1 <= amount_vnd <= MAX_CARD_AMOUNT_VND:
        raise ValueError(
            f"amount_vnd of a refund must be 1 to {MAX_CARD_AMOUNT_VND:,}, not {amount_vnd:,}"
        )


def check_idempotency_key(key: str) -> None:
    """Refuse an idempotency key that Stripe would not keep."""
    if not key or len(key) > 255:
        raise ValueError("an idempotency key must be 1 to 255 characters")

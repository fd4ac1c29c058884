"""Verify Stripe webhook signatures and read the payment facts out of an event, without Flask."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import stripe

DEFAULT_TOLERANCE = 300


class InvalidEvent(ValueError):
    """The request is not a Stripe event we can act upon."""


class InvalidSignature(InvalidEvent):
    """The Stripe-Signature header is missing, malformed, stale or does not match the body."""


@dataclass(frozen=True)
class StripeEvent:
    """What a webhook event says about a payment; fields an event type lacks are None."""

    event_id: str
    type: str
    created: datetime
    provider_payment_id: str | None = None
    amount_vnd: int | None = None
    status: str | None = None
    decline_code: str | None = None
    message: str | None = None
    refund_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def parse_stripe_event(
    raw_body: bytes,
    signature_header: str | None,
    secrets: Sequence[str],
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> StripeEvent:
    """Verify the body against any of the endpoint's secrets, then parse it into a StripeEvent."""
    verify_signature(raw_body, signature_header, secrets, tolerance, now)
    try:
        payload = json.loads(raw_body)
    except ValueError as error:
        raise InvalidEvent("the body is not JSON") from error
    return _event_from_payload(payload)


def verify_signature(
    raw_body: bytes,
    signature_header: str | None,
    secrets: Sequence[str],
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Raise InvalidSignature unless one of `secrets` signed the body less than `tolerance` ago."""
    if not secrets:
        raise ValueError("no webhook signing secret is configured")
    if not signature_header:
        raise InvalidSignature("no Stripe-Signature header")
    try:
        # The signature covers the text Stripe sent: verify the raw body, never re-dumped JSON.
        body = raw_body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidSignature("the body is not UTF-8") from error
    # Several secrets live side by side while an endpoint's secret is rolled; the SDK compares
    # in constant time. Its own tolerance check reads the clock, so ours is below, against `now`.
    failures: list[stripe.SignatureVerificationError] = []
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(body, signature_header, secret, tolerance=None)
            break
        except stripe.SignatureVerificationError as error:
            failures.append(error)
    else:
        raise InvalidSignature(str(failures[-1].user_message)) from failures[-1]
    signed_at = _timestamp(signature_header)
    current = datetime.now(UTC).timestamp() if now is None else now
    if tolerance and signed_at < current - tolerance:
        raise InvalidSignature(f"signed {current - signed_at:.0f} s ago, over {tolerance} s")


def _timestamp(header: str) -> int:
    """Return the t= timestamp of a header the SDK has accepted, read as the SDK reads it."""
    items = [item.split("=", 2) for item in header.split(",")]
    return int([item[1] for item in items if item[0] == "t"][0])


def _event_from_payload(payload: Any) -> StripeEvent:
    """Read an event's payment facts, by the kind of object it carries."""
    try:
        event_id = payload["id"]
        event_type = payload["type"]
        created = datetime.fromtimestamp(payload["created"], UTC)
        obj = payload["data"]["object"]
    except (TypeError, KeyError, ValueError, OverflowError) as error:
        raise InvalidEvent("the body is not a Stripe event") from error
    if not (isinstance(event_id, str) and isinstance(event_type, str) and isinstance(obj, dict)):
        raise InvalidEvent("the body is not a Stripe event")
    read_facts = FACT_READERS.get(obj.get("object"))
    facts = read_facts(event_type, obj) if read_facts else {}
    amount = facts.get("amount_vnd")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)):
        raise InvalidEvent(f"event {event_id} carries a non-integer amount: {amount!r}")
    return StripeEvent(event_id=event_id, type=event_type, created=created, raw=payload, **facts)


def _payment_intent_facts(event_type: str, intent: dict[str, Any]) -> dict[str, Any]:
    """Read a PaymentIntent: what it collected once succeeded, what it asked for otherwise."""
    problem = intent.get("last_payment_error") or {}
    amount = intent.get("amount")
    if intent.get("status") == "succeeded":
        # localstripe omits amount_received; without a partial capture it equals the amount.
        amount = intent.get("amount_received", amount)
    return {
        "provider_payment_id": _id(intent),
        "amount_vnd": amount,
        "status": intent.get("status"),
        "decline_code": problem.get("decline_code") or problem.get("code"),
        "message": problem.get("message"),
    }


def _charge_facts(event_type: str, charge: dict[str, Any]) -> dict[str, Any]:
    """Read a charge: the total refunded for charge.refunded, the amount charged otherwise."""
    refunds = (charge.get("refunds") or {}).get("data") or []
    refunded = event_type == "charge.refunded"
    return {
        "provider_payment_id": _id(charge.get("payment_intent")),
        "amount_vnd": charge.get("amount_refunded" if refunded else "amount"),
        "status": charge.get("status"),
        "decline_code": charge.get("failure_code"),
        "message": charge.get("failure_message"),
        # Stripe lists refunds newest first, when the charge carries them at all.
        "refund_id": _id(refunds[0]) if refunds else None,
    }


def _refund_facts(event_type: str, refund: dict[str, Any]) -> dict[str, Any]:
    """Read a refund: its own amount and status, and why it failed if it did."""
    return {
        "provider_payment_id": _id(refund.get("payment_intent")),
        "amount_vnd": refund.get("amount"),
        "status": refund.get("status"),
        "decline_code": refund.get("failure_reason"),
        "refund_id": _id(refund),
    }


FACT_READERS: dict[Any, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
    "payment_intent": _payment_intent_facts,
    "charge": _charge_facts,
    "refund": _refund_facts,
}


def _id(value: Any) -> str | None:
    """Return the id of an object given expanded or as an id."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else None

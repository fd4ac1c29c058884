"""Card payments: charge attempts through the configured gateway, Stripe's webhooks, refunds."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.core.errors import Conflict
from payments import intents
from payments.errors import GatewayUnavailable, InvalidSignature
from payments.gateways.card import CardCharge, CardGateway, CardGatewayError, ChargeStatus
from payments.models import EventKind, PaymentEvent, PaymentIntent, PaymentMethod, PaymentStatus
from payments.stripe_events import InvalidEvent, parse_stripe_event


@dataclass(frozen=True)
class CardAttempt:
    """One try with one card: the intent after it, and what the gateway answered."""

    payment: PaymentIntent
    outcome: ChargeStatus
    decline_code: str | None
    message: str | None


def _require_gateway(gateway: CardGateway | None) -> CardGateway:
    if gateway is None:
        raise Conflict(
            "Card payments are not set up here (CARD_GATEWAY); pay by QR or cash.",
            field="method",
            reason="card_payments_unavailable",
        )
    return gateway


def check_chargeable(intent: intents.IntentState) -> None:
    """Refuse to charge a payment that is not by card or no longer pending."""
    if intent.method != PaymentMethod.CARD:
        raise Conflict(
            "This payment is not a card payment.",
            field="payment_id",
            location="path",
            reason="not_a_card_payment",
        )
    if intent.status != PaymentStatus.PENDING:
        raise Conflict(
            f"This payment is {intent.status.value}; there is nothing to charge.",
            reason="payment_not_open",
        )


def attempt_card(
    session: Session,
    gateway: CardGateway | None,
    public_id: str,
    payment_method: str,
    now: datetime | None = None,
) -> CardAttempt:
    """Charge a card for a pending card payment; a decline leaves it pending for another card.

    `now` dates the outcome, for the simulator's clock; by default it is the present.
    """
    gateway = _require_gateway(gateway)
    intent = intents.get_intent(session, public_id, lock=True)
    check_chargeable(intent)
    # Each attempt has its own key: a retried request replays its attempt, a new card does not
    # replay the old decline.
    attempt = 1 + (
        session.scalar(
            select(func.count()).where(
                PaymentEvent.intent_id == intent.id, PaymentEvent.kind == EventKind.CARD_DECLINED
            )
        )
        or 0
    )
    try:
        charge = gateway.charge(
            amount_vnd=intent.amount_vnd,
            payment_method=payment_method,
            reference=intent.reference,
            idempotency_key=f"{intent.public_id}:attempt:{attempt}",
        )
    except CardGatewayError as error:
        raise GatewayUnavailable(
            "The card service did not answer properly; nothing was charged. Try again, or pay "
            "by QR.",
            field="payment_method",
        ) from error
    _record_charge(session, intent, gateway.name, charge, now)
    return CardAttempt(intent, charge.status, charge.decline_code, charge.message)


def _record_charge(
    session: Session,
    intent: PaymentIntent,
    provider: str,
    charge: CardCharge,
    now: datetime | None = None,
) -> None:
    details = {"provider_payment_id": charge.provider_payment_id}
    if charge.status == ChargeStatus.SUCCEEDED:
        intents.record(
            session,
            intent,
            EventKind.MONEY_RECEIVED,
            charge.amount_vnd,
            f"card:{provider}",
            f"{provider}:{charge.provider_payment_id}:succeeded",
            occurred_at=now,
            details=details,
        )
    elif charge.status == ChargeStatus.DECLINED:
        intents.record(
            session,
            intent,
            EventKind.CARD_DECLINED,
            0,
            f"card:{provider}",
            f"{provider}:{charge.provider_payment_id}:declined",
            occurred_at=now,
            details={**details, "decline_code": charge.decline_code},
        )


@dataclass(frozen=True)
class WebhookOutcome:
    """What a Stripe event led to: recorded, duplicate or ignored."""

    status: str
    event_type: str


def receive_stripe_event(
    session: Session, raw: bytes, signature: str | None, secrets: Sequence[str]
) -> WebhookOutcome:
    """Verify a Stripe webhook over its raw body and apply it; a repeat changes nothing."""
    if not secrets:
        raise InvalidSignature(
            "Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRETS).",
            field="Stripe-Signature",
            location="headers",
        )
    try:
        event = parse_stripe_event(raw, signature, secrets)
    except InvalidEvent as error:
        raise InvalidSignature(
            str(error) or "The Stripe signature does not verify.",
            field="Stripe-Signature",
            location="headers",
        ) from error
    kind = {
        "payment_intent.succeeded": EventKind.MONEY_RECEIVED,
        "payment_intent.payment_failed": EventKind.CARD_DECLINED,
    }.get(event.type)
    if kind is None or event.provider_payment_id is None:
        return WebhookOutcome("ignored", event.type)
    reference = _metadata(event.raw).get("reference")
    intent = intents.intent_by_reference(session, reference, lock=True) if reference else None
    if intent is None:
        # Our own transaction may not have committed yet; a non-2xx makes Stripe retry later.
        raise Conflict(
            "No payment has this reference yet; Stripe will retry.", reason="payment_not_yet_known"
        )
    outcome = "succeeded" if kind == EventKind.MONEY_RECEIVED else "declined"
    recorded = intents.record(
        session,
        intent,
        kind,
        (event.amount_vnd or 0) if kind == EventKind.MONEY_RECEIVED else 0,
        "card:stripe",
        f"stripe:{event.provider_payment_id}:{outcome}",
        event.created,
        {"provider_payment_id": event.provider_payment_id, "event_id": event.event_id},
    )
    return WebhookOutcome("duplicate" if recorded.duplicate else "recorded", event.type)


def _metadata(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    data = raw.get("data", {}).get("object", {})
    return data.get("metadata") or {}


def refund_card(
    session: Session,
    gateway: CardGateway | None,
    intent: PaymentIntent,
    amount_vnd: int,
    source: str,
    idempotency_key: str | None,
) -> intents.Recorded:
    """Send a refund back through the card gateway, after checking it is not more than was paid.

    Returns what was recorded, so the caller can tell a first refund from a retried one.
    """
    gateway = _require_gateway(gateway)
    intents.check_refundable(intent, amount_vnd)
    charged = session.scalar(
        select(PaymentEvent)
        .where(PaymentEvent.intent_id == intent.id, PaymentEvent.kind == EventKind.MONEY_RECEIVED)
        .order_by(PaymentEvent.id)
    )
    assert charged is not None  # something refundable means money was received
    key = idempotency_key or f"{intent.public_id}:refund:{intent.refunded_vnd}:{amount_vnd}"
    try:
        refund = gateway.refund(
            provider_payment_id=charged.details["provider_payment_id"],
            amount_vnd=amount_vnd,
            idempotency_key=f"{intent.public_id}:{key}",
        )
    except CardGatewayError as error:
        raise GatewayUnavailable(
            "The card service did not take the refund; nothing was refunded. Try again later.",
            field="amount_vnd",
        ) from error
    return intents.record(
        session,
        intent,
        EventKind.REFUNDED,
        refund.amount_vnd,
        source,
        f"{gateway.name}:refund:{refund.provider_refund_id}",
        details={"provider_refund_id": refund.provider_refund_id},
    )

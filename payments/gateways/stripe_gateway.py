"""Card payments through Stripe's PaymentIntents, or any server that speaks Stripe's API."""

from __future__ import annotations

from typing import Any

import stripe

from payments.gateways.card import (
    CardCharge,
    CardGatewayError,
    CardRefund,
    ChargeStatus,
    check_charge_amount,
    check_idempotency_key,
    check_refund_amount,
)

CURRENCY = "vnd"
# Statuses a create-and-confirm can leave a PaymentIntent in that the caller can act upon.
# requires_payment_method after a confirmation means the card was refused.
CHARGE_STATUSES = {
    "succeeded": ChargeStatus.SUCCEEDED,
    "requires_action": ChargeStatus.REQUIRES_ACTION,
    "processing": ChargeStatus.PROCESSING,
    "requires_payment_method": ChargeStatus.DECLINED,
}


class StripeGateway:
    """Charge and refund cards with Stripe, or the Stripe-compatible server at `api_base`."""

    name = "stripe"

    def __init__(
        self,
        api_key: str,
        api_base: str | None = None,
        max_network_retries: int = 2,
        http_client: stripe.HTTPClient | None = None,
    ) -> None:
        # Retrying is safe because every request carries our own idempotency key.
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=max_network_retries,
            http_client=http_client,
        )

    def charge(
        self, *, amount_vnd: int, payment_method: str, reference: str, idempotency_key: str
    ) -> CardCharge:
        """Create and confirm a PaymentIntent of `amount_vnd` whole dong in one request."""
        check_charge_amount(amount_vnd)
        check_idempotency_key(idempotency_key)
        try:
            intent = self._client.v1.payment_intents.create(
                {
                    # VND is zero-decimal: the amount is whole dong, never ×100.
                    "amount": amount_vnd,
                    "currency": CURRENCY,
                    # Attached at creation and confirmed in the same call: a separate confirm with
                    # a payment method is both a second round trip and refused by localstripe.
                    "payment_method": payment_method,
                    "confirm": True,
                    # Stripe's API version 2026-09-30 (pinned by stripe 16) no longer accepts
                    # `payment_method_types` on create; `allowed_payment_method_types` replaces it.
                    "allowed_payment_method_types": ["card"],
                    "metadata": {"reference": reference},
                },
                {"idempotency_key": idempotency_key},
            )
        except stripe.CardError as error:
            return self._declined(error, amount_vnd)
        except stripe.StripeError as error:
            raise CardGatewayError(_describe(error)) from error
        if intent.amount != amount_vnd or intent.currency != CURRENCY:
            raise CardGatewayError(
                f"Stripe answered for {intent.amount} {intent.currency},"
                f" not {amount_vnd} {CURRENCY}"
            )
        status = CHARGE_STATUSES.get(intent.status)
        if status is None:
            raise CardGatewayError(f"PaymentIntent {intent.id} is {intent.status} after confirming")
        problem = intent.last_payment_error if status is ChargeStatus.DECLINED else None
        return CardCharge(
            provider_payment_id=intent.id,
            status=status,
            amount_vnd=amount_vnd,
            decline_code=(problem.decline_code or problem.code) if problem else None,
            message=problem.message if problem else None,
        )

    def refund(
        self, *, provider_payment_id: str, amount_vnd: int, idempotency_key: str
    ) -> CardRefund:
        """Refund `amount_vnd` dong of a PaymentIntent; the caller keeps the total in bounds."""
        check_refund_amount(amount_vnd)
        check_idempotency_key(idempotency_key)
        try:
            refund = self._client.v1.refunds.create(
                {"payment_intent": provider_payment_id, "amount": amount_vnd},
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise CardGatewayError(_describe(error)) from error
        if refund.amount != amount_vnd or refund.status is None:
            raise CardGatewayError(f"Stripe answered refund {refund.id} for {refund.amount} dong")
        return CardRefund(
            provider_refund_id=refund.id,
            provider_payment_id=provider_payment_id,
            amount_vnd=amount_vnd,
            status=refund.status,
        )

    def _declined(self, error: stripe.CardError, amount_vnd: int) -> CardCharge:
        """Turn a card error into a declined charge of the PaymentIntent it left behind."""
        details = error.error
        intent_id = _intent_id(details.payment_intent if details else None)
        if intent_id is None and details is not None and details.charge:
            # Stripe names the PaymentIntent in the error; localstripe names only the charge.
            try:
                charge = self._client.v1.charges.retrieve(details.charge)
                intent_id = _intent_id(charge.payment_intent)
            except stripe.StripeError as lookup_error:
                raise CardGatewayError(_describe(lookup_error)) from error
        if intent_id is None:
            # Without the provider's id the attempt cannot be refunded or matched to a webhook:
            # report it as a gateway fault rather than invent an id.
            raise CardGatewayError(f"card declined without a PaymentIntent id: {_describe(error)}")
        return CardCharge(
            provider_payment_id=intent_id,
            status=ChargeStatus.DECLINED,
            amount_vnd=amount_vnd,
            decline_code=(details.decline_code or details.code) if details else error.code,
            message=details.message if details else error.user_message,
        )


def _intent_id(intent: Any) -> str | None:
    """Return the id of a PaymentIntent given expanded or as an id."""
    if intent is None or isinstance(intent, str):
        return intent
    return str(intent.id)


def _describe(error: stripe.StripeError) -> str:
    """Summarise a Stripe error for a log line."""
    return f"{type(error).__name__} (HTTP {error.http_status}, {error.code}): {error.user_message}"

"""A deterministic card gateway for the simulator and tests: no network, Stripe's test cards."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from payments.gateways.card import (
    CardCharge,
    CardGatewayError,
    CardRefund,
    ChargeStatus,
    check_charge_amount,
    check_idempotency_key,
    check_refund_amount,
)

# Stripe's test payment methods that decline; any other `pm_card_…` succeeds.
DECLINING_PAYMENT_METHODS = frozenset({"pm_card_chargeCustomerFail", "pm_card_visa_chargeDeclined"})
DECLINE_CODE = "card_declined"
DECLINE_MESSAGE = "Your card was declined."


@dataclass(frozen=True)
class _Replay:
    """A stored answer and the request it answered, as Stripe keeps them per idempotency key."""

    request: tuple[object, ...]
    result: CardCharge | CardRefund


class FakeCardGateway:
    """Answer like Stripe's test mode, with ids derived from the idempotency key."""

    name = "fake"

    def __init__(self) -> None:
        self._replays: dict[str, _Replay] = {}
        self._charges: dict[str, CardCharge] = {}
        self._refunded: dict[str, int] = {}
        self._lock = threading.Lock()

    def charge(
        self, *, amount_vnd: int, payment_method: str, reference: str, idempotency_key: str
    ) -> CardCharge:
        """Succeed or decline by the test payment method; replay the answer for a known key."""
        check_charge_amount(amount_vnd)
        check_idempotency_key(idempotency_key)
        request = ("charge", amount_vnd, payment_method, reference)
        with self._lock:
            replay = self._replay(idempotency_key, request)
            if replay is not None:
                assert isinstance(replay, CardCharge)
                return replay
            if not payment_method.startswith("pm_card_"):
                raise CardGatewayError(f"no such payment method: {payment_method!r}")
            provider_payment_id = "pi_fake_" + _digest(idempotency_key)
            if payment_method in DECLINING_PAYMENT_METHODS:
                charge = CardCharge(
                    provider_payment_id,
                    ChargeStatus.DECLINED,
                    amount_vnd,
                    decline_code=DECLINE_CODE,
                    message=DECLINE_MESSAGE,
                )
            else:
                charge = CardCharge(provider_payment_id, ChargeStatus.SUCCEEDED, amount_vnd)
            self._charges[provider_payment_id] = charge
            self._replays[idempotency_key] = _Replay(request, charge)
            return charge

    def refund(
        self, *, provider_payment_id: str, amount_vnd: int, idempotency_key: str
    ) -> CardRefund:
        """Refund part or all of a succeeded charge, never more than is left of it."""
        check_refund_amount(amount_vnd)
        check_idempotency_key(idempotency_key)
        request = ("refund", provider_payment_id, amount_vnd)
        with self._lock:
            replay = self._replay(idempotency_key, request)
            if replay is not None:
                assert isinstance(replay, CardRefund)
                return replay
            charge = self._charges.get(provider_payment_id)
            if charge is None or charge.status is not ChargeStatus.SUCCEEDED:
                raise ValueError(f"{provider_payment_id} is not a succeeded charge")
            refunded = self._refunded.get(provider_payment_id, 0)
            if refunded + amount_vnd > charge.amount_vnd:
                raise ValueError(
                    f"refunding {amount_vnd:,} VND would exceed the {charge.amount_vnd:,} VND"
                    f" charged ({refunded:,} VND already refunded)"
                )
            self._refunded[provider_payment_id] = refunded + amount_vnd
            refund = CardRefund(
                provider_refund_id="re_fake_" + _digest(idempotency_key),
                provider_payment_id=provider_payment_id,
                amount_vnd=amount_vnd,
                status="succeeded",
            )
            self._replays[idempotency_key] = _Replay(request, refund)
            return refund

    def _replay(self, key: str, request: tuple[object, ...]) -> CardCharge | CardRefund | None:
        """Return the stored answer for a key, refusing the key's reuse for another request."""
        replay = self._replays.get(key)
        if replay is None:
            return None
        if replay.request != request:
            raise ValueError(f"idempotency key {key!r} was used for another request")
        return replay.result


def _digest(key: str) -> str:
    """Derive a stable id suffix from an idempotency key."""
    return hashlib.sha256(key.encode()).hexdigest()[:24]

"""Card sales through the HTTP API against localstripe: decline, payment, refund, webhooks."""

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from payments.gateways.stripe_gateway import StripeGateway
from payments.models import EventKind, LedgerEntry, PaymentEvent
from tests.market.test_app import assert_error
from tests.settings import TEST_SECRETS
from tests.shop import Shop, checkout


@pytest.fixture
def stripe_gateway(app: Flask, localstripe: str) -> Iterator[StripeGateway]:
    """Point the app's card gateway at localstripe for one test."""
    gateway = StripeGateway("sk_test_ocop_market", api_base=localstripe)
    previous = app.extensions["card_gateway"]
    app.extensions["card_gateway"] = gateway
    yield gateway
    app.extensions["card_gateway"] = previous


def stripe_refunds(localstripe: str, payment_intent: str) -> list[dict[str, Any]]:
    response = requests.get(
        f"{localstripe}/v1/refunds",
        params={"payment_intent": payment_intent},
        auth=("sk_test_ocop_market", ""),
        timeout=5,
    )
    return [
        refund for refund in response.json()["data"] if refund["payment_intent"] == payment_intent
    ]


def ledger(session: Session) -> list[tuple[str, int]]:
    rows = session.execute(
        select(LedgerEntry.method, LedgerEntry.amount_vnd).order_by(LedgerEntry.id)
    )
    return [(method.value, amount) for method, amount in rows]


def test_a_card_sale_declined_then_paid_then_partly_refunded(
    client: FlaskClient,
    session: Session,
    shop: Shop,
    stripe_gateway: StripeGateway,
    localstripe: str,
) -> None:
    payment = checkout(client, shop, "card").get_json()["payment"]
    assert payment["qr_payload"] is None and payment["status"] == "pending"
    pay = f"/api/v1/payments/{payment['id']}/card"

    declined = client.post(pay, json={"payment_method": "pm_card_chargeCustomerFail"}).get_json()
    assert declined["outcome"] == "declined" and declined["decline_code"]
    assert declined["payment"]["status"] == "pending"

    paid = client.post(pay, json={"payment_method": "pm_card_visa"}).get_json()
    assert paid["outcome"] == "succeeded"
    assert paid["payment"]["status"] == "paid" and paid["payment"]["received_vnd"] == 270_000
    assert ledger(session) == [("card", 270_000)]
    assert (
        assert_error(client.post(pay, json={"payment_method": "pm_card_visa"}), 409)["reason"]
        == "payment_not_open"
    )

    refunds = f"/api/v1/payments/{payment['id']}/refunds"
    too_much = client.post(refunds, json={"amount_vnd": 270_001}, headers=shop.headers)
    assert assert_error(too_much, 422)["reason"] == "refund_too_large"
    refunded = client.post(refunds, json={"amount_vnd": 70_000}, headers=shop.headers).get_json()
    assert refunded["status"] == "partially_refunded" and refunded["refunded_vnd"] == 70_000
    assert ledger(session) == [("card", 270_000), ("card", -70_000)]

    [charged] = provider_payment_events(session)
    [stripe_refund] = stripe_refunds(localstripe, charged)
    assert stripe_refund["amount"] == 70_000  # whole dong, never x100


def provider_payment_events(session: Session) -> list[str]:
    """Return the gateway's ids of the card charges that paid."""
    return [
        event.details["provider_payment_id"]
        for event in session.scalars(
            select(PaymentEvent).where(PaymentEvent.kind == EventKind.MONEY_RECEIVED)
        )
    ]


def test_cards_are_refused_when_no_gateway_is_set_up(client: FlaskClient, shop: Shop) -> None:
    payment = checkout(client, shop, "card").get_json()["payment"]
    response = client.post(
        f"/api/v1/payments/{payment['id']}/card", json={"payment_method": "pm_card_visa"}
    )
    assert assert_error(response, 409)["reason"] == "card_payments_unavailable"


def test_an_unknown_card_is_a_gateway_error_and_charges_nothing(
    client: FlaskClient, session: Session, shop: Shop, stripe_gateway: StripeGateway
) -> None:
    payment = checkout(client, shop, "card").get_json()["payment"]
    response = client.post(
        f"/api/v1/payments/{payment['id']}/card", json={"payment_method": "pm_does_not_exist"}
    )
    assert_error(response, 502)
    assert ledger(session) == []


def signed(
    event: dict[str, Any], secret: str = "whsec_test", at: int | None = None
) -> dict[str, Any]:
    body = json.dumps(event).encode()
    stamp = at if at is not None else int(time.time())
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "data": body,
        "content_type": "application/json",
        "headers": {"Stripe-Signature": f"t={stamp},v1={digest}"},
    }


def succeeded_event(
    reference: str, amount: int, pi: str = "pi_webhook_1", event_id: str = "evt_1"
) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "api_version": "2026-10-28.endive",
        "livemode": False,
        "data": {
            "object": {
                "id": pi,
                "object": "payment_intent",
                "amount": amount,
                "amount_received": amount,
                "currency": "vnd",
                "status": "succeeded",
                "metadata": {"reference": reference},
            }
        },
    }


def test_a_stripe_event_delivered_twice_counts_once(
    client: FlaskClient, session: Session, shop: Shop
) -> None:
    payment = checkout(client, shop, "card").get_json()["payment"]
    event = succeeded_event(payment["reference"], 270_000)
    first = client.post("/api/v1/webhooks/stripe", **signed(event)).get_json()
    again = client.post("/api/v1/webhooks/stripe", **signed(event)).get_json()
    assert (first["status"], again["status"]) == ("recorded", "duplicate")
    assert ledger(session) == [("card", 270_000)]
    assert client.get(f"/api/v1/payments/{payment['id']}").get_json()["status"] == "paid"


def test_the_webhook_after_our_own_charge_changes_nothing(
    client: FlaskClient, session: Session, shop: Shop, stripe_gateway: StripeGateway
) -> None:
    payment = checkout(client, shop, "card").get_json()["payment"]
    client.post(f"/api/v1/payments/{payment['id']}/card", json={"payment_method": "pm_card_visa"})
    [pi] = provider_payment_events(session)
    event = succeeded_event(payment["reference"], 270_000, pi=pi, event_id="evt_after")
    assert (
        client.post("/api/v1/webhooks/stripe", **signed(event)).get_json()["status"] == "duplicate"
    )
    assert ledger(session) == [("card", 270_000)]


def test_stripe_webhooks_refuse_bad_signatures_and_ask_for_retries_when_early(
    client: FlaskClient, session: Session, shop: Shop
) -> None:
    payment = checkout(client, shop, "card").get_json()["payment"]
    event = succeeded_event(payment["reference"], 270_000)
    assert_error(client.post("/api/v1/webhooks/stripe", **signed(event, secret="whsec_guess")), 400)
    stale = signed(event, at=int(time.time()) - 3600)
    assert_error(client.post("/api/v1/webhooks/stripe", **stale), 400)
    unsigned = client.post("/api/v1/webhooks/stripe", json=event)
    assert_error(unsigned, 400)
    early = succeeded_event("OCZZZZZZZZ", 270_000, pi="pi_early", event_id="evt_early")
    assert (
        assert_error(client.post("/api/v1/webhooks/stripe", **signed(early)), 409)["reason"]
        == "payment_not_yet_known"
    )
    rotated = signed(event, secret=TEST_SECRETS["STRIPE_WEBHOOK_SECRETS"][0])
    assert client.post("/api/v1/webhooks/stripe", **rotated).status_code == 200

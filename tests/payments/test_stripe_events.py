"""Stripe webhooks: signatures checked over the raw body, events read into payment facts."""

import hashlib
import hmac
import json
import queue
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import stripe

from payments.gateways.stripe_gateway import StripeGateway
from payments.stripe_events import InvalidEvent, InvalidSignature, parse_stripe_event

SECRET = "whsec_current"
NOW = 1_767_225_600  # 2026-01-01 00:00:00 UTC


def event_body(event_type: str, obj: dict[str, Any], event_id: str = "evt_1") -> bytes:
    """Return an event as Stripe sends it, pretty-printed so a re-dump would differ."""
    event = {"id": event_id, "object": "event", "type": event_type, "created": NOW - 5}
    event["data"] = {"object": obj}
    return json.dumps(event, indent=2).encode()


def sign(body: bytes, secret: str = SECRET, timestamp: int = NOW) -> str:
    """Return the Stripe-Signature header Stripe would send for the body."""
    return stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp)


SUCCEEDED = event_body(
    "payment_intent.succeeded",
    {
        "id": "pi_1",
        "object": "payment_intent",
        "amount": 50_000,
        "amount_received": 50_000,
        "currency": "vnd",
        "status": "succeeded",
        "last_payment_error": None,
    },
)


def test_a_signed_payment_intent_succeeded_is_read() -> None:
    event = parse_stripe_event(SUCCEEDED, sign(SUCCEEDED), [SECRET], now=NOW)

    assert (event.event_id, event.type) == ("evt_1", "payment_intent.succeeded")
    assert event.created == datetime(2025, 12, 31, 23, 59, 55, tzinfo=UTC)
    assert (event.provider_payment_id, event.amount_vnd, event.status) == (
        "pi_1",
        50_000,
        "succeeded",
    )
    assert (event.decline_code, event.message, event.refund_id) == (None, None, None)
    assert event.raw["data"]["object"]["currency"] == "vnd"


@pytest.mark.parametrize(
    ("body", "header"),
    [
        pytest.param(SUCCEEDED, sign(SUCCEEDED, secret="whsec_other"), id="wrong secret"),
        pytest.param(SUCCEEDED.replace(b"50000", b"5000"), sign(SUCCEEDED), id="altered body"),
        pytest.param(
            json.dumps(json.loads(SUCCEEDED)).encode(), sign(SUCCEEDED), id="re-dumped body"
        ),
        pytest.param(SUCCEEDED, None, id="missing header"),
        pytest.param(SUCCEEDED, "", id="empty header"),
        pytest.param(SUCCEEDED, "garbage", id="garbage header"),
        pytest.param(SUCCEEDED, "t=soon,v1=abc", id="malformed timestamp"),
        pytest.param(SUCCEEDED, sign(SUCCEEDED).replace("v1=", "v0="), id="other scheme only"),
        pytest.param(b"\xff" + SUCCEEDED, sign(SUCCEEDED), id="not utf-8"),
    ],
)
def test_a_bad_signature_is_refused(body: bytes, header: str | None) -> None:
    with pytest.raises(InvalidSignature):
        parse_stripe_event(body, header, [SECRET], now=NOW)


def test_a_signature_older_than_the_tolerance_is_refused() -> None:
    header = sign(SUCCEEDED, timestamp=NOW - 301)

    with pytest.raises(InvalidSignature, match="ago"):
        parse_stripe_event(SUCCEEDED, header, [SECRET], now=NOW)
    assert parse_stripe_event(SUCCEEDED, header, [SECRET], tolerance=400, now=NOW).event_id
    assert parse_stripe_event(SUCCEEDED, sign(SUCCEEDED, timestamp=NOW - 299), [SECRET], now=NOW)


def test_the_tolerance_defaults_to_the_clock() -> None:
    with pytest.raises(InvalidSignature):
        parse_stripe_event(SUCCEEDED, sign(SUCCEEDED, timestamp=NOW), [SECRET])
    assert parse_stripe_event(SUCCEEDED, sign(SUCCEEDED, timestamp=int(time.time())), [SECRET])


def test_during_rotation_any_current_secret_verifies() -> None:
    def v1(secret: str) -> str:
        signed = b"%d.%s" % (NOW, SUCCEEDED)
        return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()

    both = f"t={NOW},v1={v1('whsec_old')},v1={v1('whsec_new')}"
    old_only = f"t={NOW},v1={v1('whsec_old')}"

    assert parse_stripe_event(SUCCEEDED, both, ["whsec_new"], now=NOW).event_id == "evt_1"
    assert parse_stripe_event(SUCCEEDED, old_only, ["whsec_new", "whsec_old"], now=NOW).event_id
    with pytest.raises(InvalidSignature):
        parse_stripe_event(SUCCEEDED, old_only, ["whsec_new"], now=NOW)


def test_no_configured_secret_is_a_configuration_error_not_a_bad_request() -> None:
    with pytest.raises(ValueError) as raised:
        parse_stripe_event(SUCCEEDED, sign(SUCCEEDED), [], now=NOW)
    assert not isinstance(raised.value, InvalidSignature)


def test_a_failed_payment_carries_its_decline() -> None:
    body = event_body(
        "payment_intent.payment_failed",
        {
            "id": "pi_2",
            "object": "payment_intent",
            "amount": 75_000,
            "amount_received": 0,
            "status": "requires_payment_method",
            "last_payment_error": {
                "code": "card_declined",
                "decline_code": "insufficient_funds",
                "message": "Your card has insufficient funds.",
            },
        },
    )

    event = parse_stripe_event(body, sign(body), [SECRET], now=NOW)

    assert (event.provider_payment_id, event.amount_vnd) == ("pi_2", 75_000)
    assert (event.decline_code, event.message) == (
        "insufficient_funds",
        "Your card has insufficient funds.",
    )


def test_charge_refunded_reads_the_total_refunded_of_its_payment_intent() -> None:
    body = event_body(
        "charge.refunded",
        {
            "id": "ch_1",
            "object": "charge",
            "amount": 120_000,
            "amount_refunded": 45_000,
            "payment_intent": "pi_1",
            "status": "succeeded",
            "refunds": {"object": "list", "data": [{"id": "re_2"}, {"id": "re_1"}]},
        },
    )

    event = parse_stripe_event(body, sign(body), [SECRET], now=NOW)

    assert (event.type, event.provider_payment_id) == ("charge.refunded", "pi_1")
    assert (event.amount_vnd, event.refund_id) == (45_000, "re_2")


def test_a_refund_event_reads_the_refund() -> None:
    body = event_body(
        "refund.failed",
        {
            "id": "re_3",
            "object": "refund",
            "amount": 10_000,
            "payment_intent": "pi_1",
            "status": "failed",
            "failure_reason": "expired_or_canceled_card",
        },
    )

    event = parse_stripe_event(body, sign(body), [SECRET], now=NOW)

    assert (event.refund_id, event.provider_payment_id, event.amount_vnd) == (
        "re_3",
        "pi_1",
        10_000,
    )
    assert (event.status, event.decline_code) == ("failed", "expired_or_canceled_card")


def test_an_unknown_event_type_is_read_with_its_type() -> None:
    body = event_body("customer.created", {"id": "cus_1", "object": "customer"})

    event = parse_stripe_event(body, sign(body), [SECRET], now=NOW)

    assert (event.type, event.provider_payment_id, event.amount_vnd) == (
        "customer.created",
        None,
        None,
    )


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"id": "evt_1"}', event_body("x", {"object": "refund", "amount": "9"})],
    ids=["text", "list", "no type", "text amount"],
)
def test_a_signed_body_that_is_no_event_is_refused(body: bytes) -> None:
    with pytest.raises(InvalidEvent):
        parse_stripe_event(body, sign(body), [SECRET], now=NOW)


# localstripe signs and posts its own events.


class Receiver(BaseHTTPRequestHandler):
    """Keep each POSTed body and its signature header, and answer 200."""

    received: "queue.Queue[tuple[bytes, str | None]]"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.put((body, self.headers.get("Stripe-Signature")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook_receiver() -> Iterator[tuple[str, "queue.Queue[tuple[bytes, str | None]]"]]:
    received: queue.Queue[tuple[bytes, str | None]] = queue.Queue()
    handler = type("TestReceiver", (Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/stripe/webhook", received
    server.shutdown()
    server.server_close()
    thread.join()


def configure_webhook(base: str, url: str, secret: str, events: list[str]) -> None:
    data = json.dumps({"url": url, "secret": secret, "events": events}).encode()
    request = urllib.request.Request(
        f"{base}/_config/webhooks/ocop-test",
        data=data,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def test_localstripe_signed_webhooks_are_accepted(
    localstripe: str, webhook_receiver: tuple[str, "queue.Queue[tuple[bytes, str | None]]"]
) -> None:
    url, received = webhook_receiver
    secrets = ["whsec_other", "whsec_localstripe"]
    configure_webhook(localstripe, url, "whsec_localstripe", ["payment_intent.succeeded"])
    try:
        charge = StripeGateway("sk_test_ocop", api_base=localstripe).charge(
            amount_vnd=64_000, payment_method="pm_card_visa", reference="S", idempotency_key="k"
        )
        # localstripe posts about 1 s after each event, so charges of earlier tests may arrive
        # first: every delivery must verify, and ours must come within 5 s.
        deadline = time.monotonic() + 5
        while True:
            body, header = received.get(timeout=max(deadline - time.monotonic(), 0.01))
            event = parse_stripe_event(body, header, secrets)
            if event.provider_payment_id == charge.provider_payment_id:
                break
    finally:
        # Deleting localstripe's data keeps its webhooks: mute this one for the tests after.
        configure_webhook(localstripe, url, "whsec_localstripe", ["ocop.test.muted"])

    assert (event.type, event.amount_vnd) == ("payment_intent.succeeded", 64_000)
    with pytest.raises(InvalidSignature):
        parse_stripe_event(body, header, ["whsec_other"])

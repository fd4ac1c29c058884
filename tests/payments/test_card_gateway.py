"""The card gateways: Stripe against localstripe, the fake alone, one contract for both."""

import socket
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import stripe

from payments.gateways.card import (
    MAX_CARD_AMOUNT_VND,
    MIN_CARD_AMOUNT_VND,
    CardGateway,
    CardGatewayError,
    ChargeStatus,
)
from payments.gateways.factory import card_gateway_from_settings
from payments.gateways.fake import FakeCardGateway
from payments.gateways.stripe_gateway import StripeGateway

API_KEY = "sk_test_ocop"


class RecordingClient(stripe.RequestsClient):
    """Stripe's default HTTP client, keeping the method, path and headers of each request."""

    def __init__(self) -> None:
        super().__init__(timeout=10)
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        **kwargs: Any,
    ) -> Any:
        path = url.split("://", 1)[1].split("/", 1)[1].split("?", 1)[0]
        self.sent.append((method.upper(), "/" + path, dict(headers or {})))
        return super().request(method, url, headers, post_data, **kwargs)


@pytest.fixture
def http_client() -> Iterator[RecordingClient]:
    client = RecordingClient()
    yield client
    client.close()


@pytest.fixture
def stripe_gateway(localstripe: str, http_client: RecordingClient) -> StripeGateway:
    return StripeGateway(API_KEY, api_base=localstripe, http_client=http_client)


@pytest.fixture
def stripe_api(localstripe: str, http_client: RecordingClient) -> stripe.StripeClient:
    """A plain Stripe client on localstripe, to look at what the gateway left there."""
    return stripe.StripeClient(
        API_KEY, base_addresses={"api": localstripe}, http_client=http_client
    )


@pytest.fixture(params=["stripe", "fake"])
def gateway(request: pytest.FixtureRequest) -> CardGateway:
    if request.param == "fake":
        return FakeCardGateway()
    return request.getfixturevalue("stripe_gateway")


# The contract both gateways keep.


def test_a_test_card_is_charged(gateway: CardGateway) -> None:
    charge = gateway.charge(
        amount_vnd=50_000, payment_method="pm_card_visa", reference="SALE-1", idempotency_key="k1"
    )

    assert charge.status is ChargeStatus.SUCCEEDED
    assert charge.amount_vnd == 50_000
    assert charge.provider_payment_id.startswith("pi_")
    assert charge.decline_code is None


def test_a_declining_card_is_a_declined_charge_not_an_error(gateway: CardGateway) -> None:
    charge = gateway.charge(
        amount_vnd=50_000,
        payment_method="pm_card_chargeCustomerFail",
        reference="SALE-1",
        idempotency_key="k1",
    )

    assert charge.status is ChargeStatus.DECLINED
    assert charge.decline_code == "card_declined"
    assert charge.message
    assert charge.provider_payment_id.startswith("pi_")


@pytest.mark.parametrize("parts", [[120_000], [20_000, 100_000]], ids=["full", "partial"])
def test_refunds_give_back_part_or_all_of_a_charge(gateway: CardGateway, parts: list[int]) -> None:
    charge = gateway.charge(
        amount_vnd=120_000, payment_method="pm_card_visa", reference="SALE-1", idempotency_key="c"
    )

    refunds = [
        gateway.refund(
            provider_payment_id=charge.provider_payment_id, amount_vnd=part, idempotency_key=f"r{i}"
        )
        for i, part in enumerate(parts)
    ]

    assert [refund.amount_vnd for refund in refunds] == parts
    assert {refund.provider_payment_id for refund in refunds} == {charge.provider_payment_id}
    assert {refund.status for refund in refunds} == {"succeeded"}
    assert len({refund.provider_refund_id for refund in refunds}) == len(parts)


@pytest.mark.parametrize(
    "amount", [0, MIN_CARD_AMOUNT_VND - 1, MAX_CARD_AMOUNT_VND + 1, 50_000.0, True]
)
def test_amounts_a_card_cannot_carry_are_refused_before_any_request(
    amount: Any, http_client: RecordingClient
) -> None:
    gateways: list[CardGateway] = [
        FakeCardGateway(),
        StripeGateway(API_KEY, api_base="http://127.0.0.1:9", http_client=http_client),
    ]
    for gateway in gateways:
        with pytest.raises(ValueError, match="amount"):
            gateway.charge(
                amount_vnd=amount, payment_method="pm_card_visa", reference="S", idempotency_key="k"
            )
    assert http_client.sent == []


def test_the_bounds_themselves_are_chargeable(gateway: CardGateway) -> None:
    for i, amount in enumerate([MIN_CARD_AMOUNT_VND, MAX_CARD_AMOUNT_VND]):
        charge = gateway.charge(
            amount_vnd=amount, payment_method="pm_card_visa", reference="S", idempotency_key=f"{i}"
        )
        assert (charge.status, charge.amount_vnd) == (ChargeStatus.SUCCEEDED, amount)


# Stripe through localstripe.


def test_stripe_is_sent_whole_dong_in_vnd(
    stripe_gateway: StripeGateway, stripe_api: stripe.StripeClient
) -> None:
    charge = stripe_gateway.charge(
        amount_vnd=87_500, payment_method="pm_card_visa", reference="SALE-42", idempotency_key="k"
    )

    intent = stripe_api.v1.payment_intents.retrieve(charge.provider_payment_id)
    assert (intent.amount, intent.currency, intent.status) == (87_500, "vnd", "succeeded")
    assert intent.metadata["reference"] == "SALE-42"


def test_a_stripe_decline_names_the_payment_intent_it_left(
    stripe_gateway: StripeGateway, stripe_api: stripe.StripeClient
) -> None:
    charge = stripe_gateway.charge(
        amount_vnd=50_000,
        payment_method="pm_card_chargeCustomerFail",
        reference="SALE-1",
        idempotency_key="k",
    )

    intent = stripe_api.v1.payment_intents.retrieve(charge.provider_payment_id)
    assert intent.status == "requires_payment_method"
    assert intent.last_payment_error is not None
    assert intent.last_payment_error.code == "card_declined"


def test_stripe_refunds_add_up_on_the_charge(
    stripe_gateway: StripeGateway, stripe_api: stripe.StripeClient
) -> None:
    charge = stripe_gateway.charge(
        amount_vnd=90_000, payment_method="pm_card_visa", reference="SALE-1", idempotency_key="c"
    )
    for key, part in [("r1", 30_000), ("r2", 15_000)]:
        stripe_gateway.refund(
            provider_payment_id=charge.provider_payment_id, amount_vnd=part, idempotency_key=key
        )

    intent = stripe_api.v1.payment_intents.retrieve(charge.provider_payment_id)
    latest_charge = intent.latest_charge
    assert isinstance(latest_charge, stripe.Charge)
    assert (latest_charge.amount_refunded, latest_charge.refunded) == (45_000, False)


def test_every_request_carries_the_idempotency_key_we_chose(
    stripe_gateway: StripeGateway, http_client: RecordingClient
) -> None:
    declined = stripe_gateway.charge(
        amount_vnd=50_000,
        payment_method="pm_card_chargeCustomerFail",
        reference="SALE-7",
        idempotency_key="sale-7:attempt-1",
    )
    paid = stripe_gateway.charge(
        amount_vnd=50_000,
        payment_method="pm_card_visa",
        reference="SALE-7",
        idempotency_key="sale-7:attempt-2",
    )
    stripe_gateway.refund(
        provider_payment_id=paid.provider_payment_id,
        amount_vnd=50_000,
        idempotency_key="sale-7:refund-1",
    )

    writes = [
        (path, headers.get("Idempotency-Key"))
        for method, path, headers in http_client.sent
        if method == "POST"
    ]
    assert writes == [
        ("/v1/payment_intents", "sale-7:attempt-1"),
        ("/v1/payment_intents", "sale-7:attempt-2"),
        ("/v1/refunds", "sale-7:refund-1"),
    ]
    assert declined.provider_payment_id != paid.provider_payment_id


def test_an_unreachable_stripe_is_a_gateway_error() -> None:
    # A bound socket that does not listen refuses connections, and no one else can take its port.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        api_base = f"http://127.0.0.1:{closed.getsockname()[1]}"
        gateway = StripeGateway(API_KEY, api_base=api_base, max_network_retries=0)

        with pytest.raises(CardGatewayError, match="APIConnectionError"):
            gateway.charge(
                amount_vnd=50_000, payment_method="pm_card_visa", reference="S", idempotency_key="k"
            )
        with pytest.raises(CardGatewayError, match="APIConnectionError"):
            gateway.refund(provider_payment_id="pi_1", amount_vnd=50_000, idempotency_key="r")


def test_an_unknown_payment_method_is_a_gateway_error(stripe_gateway: StripeGateway) -> None:
    with pytest.raises(CardGatewayError, match="404"):
        stripe_gateway.charge(
            amount_vnd=50_000, payment_method="pm_nope", reference="S", idempotency_key="k"
        )


# The fake's own promises.


def test_the_fake_answers_a_known_key_with_its_first_answer() -> None:
    gateway = FakeCardGateway()
    first = gateway.charge(
        amount_vnd=50_000, payment_method="pm_card_visa", reference="S", idempotency_key="k"
    )
    again = gateway.charge(
        amount_vnd=50_000, payment_method="pm_card_visa", reference="S", idempotency_key="k"
    )
    refund = gateway.refund(
        provider_payment_id=first.provider_payment_id, amount_vnd=50_000, idempotency_key="r"
    )
    refund_again = gateway.refund(
        provider_payment_id=first.provider_payment_id, amount_vnd=50_000, idempotency_key="r"
    )

    assert again == first
    assert refund_again == refund
    assert (
        FakeCardGateway().charge(
            amount_vnd=50_000, payment_method="pm_card_visa", reference="S", idempotency_key="k"
        )
        == first
    ), "ids derive from the key alone"


def test_the_fake_refuses_a_key_reused_for_another_request() -> None:
    gateway = FakeCardGateway()
    gateway.charge(
        amount_vnd=50_000, payment_method="pm_card_visa", reference="S", idempotency_key="k"
    )

    with pytest.raises(ValueError, match="idempotency key"):
        gateway.charge(
            amount_vnd=60_000, payment_method="pm_card_visa", reference="S", idempotency_key="k"
        )


def test_the_fake_never_refunds_more_than_was_charged() -> None:
    gateway = FakeCardGateway()
    paid = gateway.charge(
        amount_vnd=50_000, payment_method="pm_card_visa", reference="S", idempotency_key="c"
    )
    declined = gateway.charge(
        amount_vnd=50_000,
        payment_method="pm_card_visa_chargeDeclined",
        reference="S",
        idempotency_key="d",
    )
    gateway.refund(
        provider_payment_id=paid.provider_payment_id, amount_vnd=30_000, idempotency_key="r1"
    )

    with pytest.raises(ValueError, match="exceed"):
        gateway.refund(
            provider_payment_id=paid.provider_payment_id, amount_vnd=20_001, idempotency_key="r2"
        )
    with pytest.raises(ValueError, match="not a succeeded charge"):
        gateway.refund(
            provider_payment_id=declined.provider_payment_id, amount_vnd=1, idempotency_key="r3"
        )
    last = gateway.refund(
        provider_payment_id=paid.provider_payment_id, amount_vnd=20_000, idempotency_key="r4"
    )
    assert last.amount_vnd == 20_000


# Choosing by configuration.


def test_the_settings_choose_the_gateway() -> None:
    fake = card_gateway_from_settings({"CARD_GATEWAY": "fake"})
    real = card_gateway_from_settings(
        {
            "CARD_GATEWAY": "stripe",
            "STRIPE_API_KEY": API_KEY,
            "STRIPE_API_BASE": "http://127.0.0.1:1",
        }
    )

    assert (fake.name, real.name) == ("fake", "stripe")


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({}, "CARD_GATEWAY"),
        ({"CARD_GATEWAY": "paypal"}, "CARD_GATEWAY"),
        ({"CARD_GATEWAY": "stripe"}, "STRIPE_API_KEY"),
        ({"CARD_GATEWAY": "stripe", "STRIPE_API_KEY": "pk_test_public"}, "STRIPE_API_KEY"),
        (
            {"CARD_GATEWAY": "stripe", "STRIPE_API_KEY": API_KEY, "STRIPE_API_BASE": "localhost"},
            "STRIPE_API_BASE",
        ),
    ],
)
def test_a_misconfigured_gateway_names_the_setting(settings: dict[str, str], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        card_gateway_from_settings(settings)

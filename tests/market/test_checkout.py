"""A sale from checkout to ledger, for each way of paying, and everything that goes wrong."""

import io
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
import zxingcpp
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from catalog.models import Product
from catalog.services import revoke_certification
from market.core.clock import VIETNAM
from market.core.db import utcnow
from market.markets.models import Stall
from market.sales import services
from market.sales.models import Order
from market.sales.services import LineRequest, expire_unpaid, place_order
from market.vendors.models import Listing
from payments import vietqr
from payments.models import BankNotification, LedgerEntry, PaymentEvent, PaymentMethod
from tests.factories.markets import ListingFactory
from tests.market.test_app import assert_error
from tests.market.test_markets import vendor_headers
from tests.market.test_races import ON_POSTGRESQL
from tests.payments import banks
from tests.shop import Shop, checkout


def ledger(session: Session) -> list[LedgerEntry]:
    return list(session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)))


def test_a_qr_sale_from_checkout_to_ledger(
    client: FlaskClient, session: Session, shop: Shop
) -> None:
    order = checkout(client, shop).get_json()
    payment = order["payment"]
    assert order["total_vnd"] == 270_000
    assert payment["status"] == "pending" and payment["method"] == "vietqr"
    assert [line["is_ocop"] for line in order["lines"]] == [False, True]

    code = vietqr.decode(payment["qr_payload"])
    assert (code.account, code.amount, code.purpose) == (
        banks.ACCOUNT,
        270_000,
        payment["reference"],
    )
    image = client.get(f"/api/v1/payments/{payment['id']}/qr.png").data
    assert zxingcpp.read_barcodes(Image.open(io.BytesIO(image)))[0].text == payment["qr_payload"]

    memo = f"MBVCB.3278907687.{payment['reference']}.CT tu 0123456789 NGUYEN VAN A"
    notified = banks.simbank(client, memo, 270_000)
    assert notified.get_json() == {
        "status": "matched",
        "payment_id": payment["id"],
        "success": True,
    }

    paid = client.get(f"/api/v1/payments/{payment['id']}").get_json()
    assert paid["status"] == "paid" and paid["received_vnd"] == 270_000
    [row] = ledger(session)
    assert (row.amount_vnd, row.method, row.province_code, row.is_ocop) == (
        270_000,
        "vietqr",
        "04",
        True,
    )
    assert str(row.local_date) == "2026-11-20"
    session.refresh(shop.honey)
    assert shop.honey.stock == 2


@pytest.mark.parametrize("method", ["vietqr", "card"])
def test_a_checkout_answers_with_the_order_as_it_is_read_back(
    client: FlaskClient, shop: Shop, method: str
) -> None:
    lines = [{"listing_id": shop.honey.id, "quantity": 2}]
    answered = checkout(client, shop, method, lines=lines).get_json()
    assert client.get(f"/api/v1/orders/{answered['id']}").get_json() == answered


@pytest.mark.parametrize("send", [banks.sepay, banks.casso])
def test_public_notification_formats_pay_too(
    client: FlaskClient, session: Session, shop: Shop, send
) -> None:  # type: ignore[no-untyped-def]
    payment = checkout(client, shop).get_json()["payment"]
    response = send(client, f"thanh toan {payment['reference'].lower()} cam on", 270_000)
    assert response.get_json()["status"] == "matched"
    assert client.get(f"/api/v1/payments/{payment['id']}").get_json()["status"] == "paid"


def test_the_same_notification_twice_counts_once(
    client: FlaskClient, session: Session, shop: Shop
) -> None:
    payment = checkout(client, shop).get_json()["payment"]
    first = banks.sepay(client, payment["reference"], 270_000, transaction_id=777)
    again = banks.sepay(client, payment["reference"], 270_000, transaction_id=777)
    assert (first.get_json()["status"], again.get_json()["status"]) == ("matched", "duplicate")
    assert [row.amount_vnd for row in ledger(session)] == [270_000]
    assert client.get(f"/api/v1/payments/{payment['id']}").get_json()["received_vnd"] == 270_000


@pytest.mark.parametrize(
    ("send", "signature"), [(banks.simbank, "X-OCOP-Signature"), (banks.casso, "X-Casso-Signature")]
)
def test_a_replayed_signed_notification_changes_nothing(
    client: FlaskClient, session: Session, shop: Shop, send, signature: str
) -> None:  # type: ignore[no-untyped-def]
    payment = checkout(client, shop).get_json()["payment"]
    sent: list[tuple[str, dict[str, Any]]] = []

    class Recording:
        """A client that keeps what it sent, as an eavesdropper on the bank's call would."""

        def post(self, path: str, **request: Any) -> Any:
            sent.append((path, request))
            return client.post(path, **request)

    first = send(Recording(), payment["reference"], 270_000)
    path, request = sent[0]
    assert signature in request["headers"]
    replay = client.post(path, **request)  # the very same bytes and signature, again
    assert (first.get_json()["status"], replay.get_json()["status"]) == ("matched", "duplicate")
    assert session.scalar(select(func.count()).select_from(BankNotification)) == 1
    assert [row.amount_vnd for row in ledger(session)] == [270_000]


def test_under_and_overpayments_are_recorded_and_flagged(
    client: FlaskClient, session: Session, shop: Shop
) -> None:
    payment = checkout(client, shop).get_json()["payment"]
    banks.simbank(client, payment["reference"], 200_000)
    under = client.get(f"/api/v1/payments/{payment['id']}").get_json()
    assert under["status"] == "underpaid" and "70,000" in under["attention"]
    banks.simbank(client, payment["reference"], 100_000)
    over = client.get(f"/api/v1/payments/{payment['id']}").get_json()
    assert over["status"] == "overpaid" and "30,000" in over["attention"]
    assert sum(row.amount_vnd for row in ledger(session)) == 300_000


def test_a_late_payment_after_expiry_is_kept_and_flagged(
    client: FlaskClient, session: Session, shop: Shop
) -> None:
    payment = checkout(client, shop).get_json()["payment"]
    assert expire_unpaid(session, utcnow() + timedelta(minutes=16)) == 1
    session.refresh(shop.honey)
    assert shop.honey.stock == 3  # released
    assert client.get(f"/api/v1/payments/{payment['id']}").get_json()["status"] == "expired"
    assert expire_unpaid(session, utcnow() + timedelta(minutes=30)) == 0

    banks.simbank(client, payment["reference"], 270_000)
    late = client.get(f"/api/v1/payments/{payment['id']}").get_json()
    assert late["status"] == "paid" and "window closed" in late["attention"]
    [row] = ledger(session)
    assert row.is_late


def test_unknown_references_and_wrong_accounts_are_kept_not_counted(
    client: FlaskClient, session: Session, shop: Shop
) -> None:
    payment = checkout(client, shop).get_json()["payment"]
    unknown = banks.simbank(client, "chuyen tien an sang OC00000000", 50_000)
    assert unknown.get_json()["status"] == "unmatched"
    wrong = banks.simbank(client, payment["reference"], 270_000, account="9999999999")
    assert wrong.get_json()["status"] == "wrong_account"
    assert ledger(session) == []
    assert session.scalar(select(func.count()).select_from(BankNotification)) == 2
    assert client.get(f"/api/v1/payments/{payment['id']}").get_json()["status"] == "pending"


def test_outgoing_transfers_are_ignored(client: FlaskClient, session: Session, shop: Shop) -> None:
    payment = checkout(client, shop).get_json()["payment"]
    out = banks.sepay(client, payment["reference"], 270_000, transfer_type="out")
    assert out.get_json()["status"] == "outgoing"
    assert ledger(session) == []


def test_webhooks_refuse_unsigned_wrongly_signed_and_stale_calls(
    client: FlaskClient, session: Session, shop: Shop
) -> None:
    reference = checkout(client, shop).get_json()["payment"]["reference"]
    assert_error(banks.simbank(client, reference, 270_000, secret="guess"), 400)
    stale = banks.simbank(client, reference, 270_000, timestamp=1_700_000_000)
    assert assert_error(stale, 400)["reason"] == "stale_signature"
    assert_error(banks.casso(client, reference, 270_000, key="guess"), 400)
    assert_error(banks.casso(client, reference, 270_000, stamp_ms=1_700_000_000_000), 400)
    assert_error(banks.sepay(client, reference, 270_000, api_key="guess"), 401)
    unsigned = client.post("/api/v1/webhooks/bank/simbank", json={"memo": reference})
    assert_error(unsigned, 400)
    assert_error(client.post("/api/v1/webhooks/bank/paypal", json={}), 404)
    assert session.scalar(select(func.count()).select_from(BankNotification)) == 0
    assert ledger(session) == []


def test_idempotency_key_returns_the_same_order_and_refuses_another_body(
    client: FlaskClient, session: Session, shop: Shop
) -> None:
    key = {"Idempotency-Key": "checkout-7f3a9c21"}
    first = checkout(client, shop, headers=key).get_json()
    again = checkout(client, shop, headers=key).get_json()
    assert again["id"] == first["id"] and again["payment"]["id"] == first["payment"]["id"]
    session.refresh(shop.honey)
    assert shop.honey.stock == 2  # reserved once
    other = checkout(
        client, shop, headers=key, lines=[{"listing_id": shop.juice.id, "quantity": 1}]
    )
    assert assert_error(other, 409)["errors"]["headers"] == {
        "Idempotency-Key": [
            "This Idempotency-Key was used for another order; use a new key for a new order."
        ]
    }


def test_a_retried_key_answers_as_before_though_its_stall_closed_or_the_body_names_none(
    client: FlaskClient, session: Session, shop: Shop
) -> None:
    key = {"Idempotency-Key": "checkout-5b1e07aa"}
    first = checkout(client, shop, headers=key).get_json()
    session.get_one(Stall, shop.stall_id).closed_at = utcnow()
    session.flush()
    assert checkout(client, shop, headers=key).get_json()["id"] == first["id"]
    elsewhere = client.post(
        "/api/v1/orders",
        json={"stall_id": 987_654, "lines": [{"listing_id": 1, "quantity": 1}], "method": "vietqr"},
        headers=key,
    )
    assert assert_error(elsewhere, 409)["reason"] == "idempotency_key_reused"
    assert session.scalar(select(func.count()).select_from(Order)) == 1


def test_an_order_beyond_the_stock_takes_nothing(
    client: FlaskClient, session: Session, shop: Shop
) -> None:
    lines = [
        {"listing_id": shop.juice.id, "quantity": 1},
        {"listing_id": shop.honey.id, "quantity": 4},
    ]
    body = assert_error(checkout(client, shop, lines=lines), 409)
    assert body["reason"] == "out_of_stock" and "lines.1.quantity" in body["errors"]["json"]
    session.refresh(shop.juice)
    assert shop.juice.stock == 50
    assert session.scalar(select(func.count()).select_from(Order)) == 0


def test_a_checkout_in_a_session_leaves_its_listings_current(session: Session, shop: Shop) -> None:
    place_order(
        session,
        stall_id=shop.stall_id,
        lines=[LineRequest(shop.juice.id, 2), LineRequest(shop.honey.id, 1)],
        method=PaymentMethod.VIETQR,
        actor=None,
    )
    assert (shop.juice.stock, shop.honey.stock) == (48, 2)


def _reprice_juice(session: Session, shop: Shop) -> None:
    shop.juice.price_vnd = 12_000


def _archive_juice(session: Session, shop: Shop) -> None:
    shop.juice.archived_at = utcnow()


def _close_stall(session: Session, shop: Shop) -> None:
    session.get_one(Stall, shop.stall_id).closed_at = utcnow()


def _revoke_honey(session: Session, shop: Shop) -> None:
    product = session.get_one(Product, shop.honey.product_id)
    revoke_certification(session, product.current_certification_id, "fake score sheet")


def _move_payout(session: Session, shop: Shop) -> None:
    session.get_one(Stall, shop.stall_id).vendor.account_number = "0022009999"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_reprice_juice, {"total_vnd": 274_000}),
        (_revoke_honey, {"is_ocop": [False, False]}),
        (_move_payout, {"account": "0022009999"}),
        (_archive_juice, {"error": "lines.0.listing_id"}),
        (_close_stall, {"error": "stall_id"}),
    ],
)
def test_a_checkout_sells_the_stall_as_it_is_now_not_as_it_was_at_the_last(
    client: FlaskClient, session: Session, shop: Shop, change: Any, expected: dict[str, Any]
) -> None:
    assert checkout(client, shop).status_code == 201  # read by checkout, maybe remembered
    change(session, shop)
    session.flush()
    response = checkout(client, shop)
    orders = session.scalar(select(func.count()).select_from(Order))
    if "error" in expected:
        assert expected["error"] in assert_error(response, 422)["errors"]["json"]
        assert orders == 1
        return
    order = response.get_json()
    assert orders == 2
    if "total_vnd" in expected:
        assert order["total_vnd"] == order["payment"]["amount_vnd"] == expected["total_vnd"]
    if "is_ocop" in expected:
        assert [line["is_ocop"] for line in order["lines"]] == expected["is_ocop"]
    if "account" in expected:
        assert vietqr.decode(order["payment"]["qr_payload"]).account == expected["account"]


@pytest.mark.skipif(not ON_POSTGRESQL, reason="SQLite writes one transaction at a time")
def test_a_price_changed_between_reading_and_writing_asks_to_check_out_again(
    client: FlaskClient, session: Session, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = services._stall_rows

    def read_then_reprice(*args: Any) -> Any:
        rows = read(*args)
        session.execute(update(Listing).where(Listing.id == shop.juice.id).values(price_vnd=12_000))
        return rows

    monkeypatch.setattr(services, "_stall_rows", read_then_reprice)
    body = assert_error(checkout(client, shop, headers={"Idempotency-Key": "checkout-1d2c"}), 409)
    assert body["reason"] == "stall_changed"
    assert session.scalar(select(func.count()).select_from(Order)) == 0
    session.refresh(shop.honey)
    assert shop.honey.stock == 3


def test_a_checkout_in_a_session_sells_with_its_unsaved_changes(
    session: Session, shop: Shop
) -> None:
    def sell_juice() -> Order:
        return place_order(
            session,
            stall_id=shop.stall_id,
            lines=[LineRequest(shop.juice.id, 1)],
            method=PaymentMethod.VIETQR,
            actor=None,
        )

    sell_juice()  # the stall's rows as read now (on PostgreSQL, remembered)
    shop.juice.price_vnd, shop.juice.stock = 12_000, 100  # a restock, not flushed
    assert sell_juice().total_vnd == 12_000
    assert shop.juice.stock == 99


def test_bad_orders_name_the_field_and_save_nothing(
    client: FlaskClient, session: Session, shop: Shop
) -> None:
    juice = shop.juice.id
    cases = [
        ({"lines": []}, "lines"),
        ({"lines": [{"listing_id": juice, "quantity": 0}]}, "lines"),
        ({"lines": [{"listing_id": juice, "quantity": -1}]}, "lines"),
        ({"lines": [{"listing_id": juice, "quantity": 1.5}]}, "lines"),
        ({"lines": [{"listing_id": juice, "quantity": "2"}]}, "lines"),
        ({"method": "bitcoin"}, "method"),
        ({"stall_id": "one"}, "stall_id"),
    ]
    for change, field in cases:
        body = {
            "stall_id": shop.stall_id,
            "lines": [{"listing_id": juice, "quantity": 1}],
            "method": "vietqr",
            **change,
        }
        response = client.post("/api/v1/orders", json=body)
        assert field in assert_error(response, 422)["errors"]["json"], change
    other_stall = ListingFactory()
    foreign = checkout(client, shop, lines=[{"listing_id": other_stall.id, "quantity": 1}])
    assert "lines.0.listing_id" in assert_error(foreign, 422)["errors"]["json"]
    twice = [{"listing_id": juice, "quantity": 1}, {"listing_id": juice, "quantity": 2}]
    assert_error(checkout(client, shop, lines=twice), 422)
    small_card = checkout(client, shop, "card", lines=[{"listing_id": juice, "quantity": 1}])
    assert "method" in assert_error(small_card, 422)["errors"]["json"]
    stall = session.get_one(Stall, shop.stall_id)
    buffalo = ListingFactory(stall=stall, title="Trâu giống", price_vnd=120_000_000, stock=1)
    large_card = checkout(client, shop, "card", lines=[{"listing_id": buffalo.id, "quantity": 1}])
    assert assert_error(large_card, 422)["reason"] == "amount_out_of_card_range"
    assert session.scalar(select(func.count()).select_from(Order)) == 0


def test_cash_is_recorded_by_the_stalls_vendor_and_settles_at_once(
    client: FlaskClient, session: Session, shop: Shop
) -> None:
    assert_error(checkout(client, shop, "cash"), 401)
    stranger, _ = vendor_headers(session)
    assert_error(checkout(client, shop, "cash", headers=stranger), 403)
    order = checkout(client, shop, "cash", headers=shop.headers).get_json()
    assert order["payment"]["status"] == "paid"
    [row] = ledger(session)
    assert (row.method, row.amount_vnd) == ("cash", 270_000)


def test_refunds_never_exceed_what_was_paid_and_count_once(
    client: FlaskClient, session: Session, shop: Shop
) -> None:
    payment = checkout(client, shop, "cash", headers=shop.headers).get_json()["payment"]
    path = f"/api/v1/payments/{payment['id']}/refunds"
    too_much = client.post(path, json={"amount_vnd": 270_001}, headers=shop.headers)
    assert assert_error(too_much, 422)["reason"] == "refund_too_large"
    for amount in (0, -1, 1.5, "1000", None):
        bad = client.post(path, json={"amount_vnd": amount}, headers=shop.headers)
        assert "amount_vnd" in assert_error(bad, 422)["errors"]["json"], amount
    key = {**shop.headers, "Idempotency-Key": "refund-0001-honey"}
    partial = client.post(path, json={"amount_vnd": 250_000}, headers=key).get_json()
    retried = client.post(path, json={"amount_vnd": 250_000}, headers=key).get_json()
    assert partial["status"] == retried["status"] == "partially_refunded"
    assert retried["refunded_vnd"] == 250_000
    rest = client.post(path, json={"amount_vnd": 20_000}, headers=shop.headers).get_json()
    assert rest["status"] == "refunded"
    assert [row.amount_vnd for row in ledger(session)] == [270_000, -250_000, -20_000]
    stranger, _ = vendor_headers(session)
    assert_error(client.post(path, json={"amount_vnd": 1}, headers=stranger), 403)


def test_a_vendor_cancels_an_unpaid_order_and_the_stock_returns(
    client: FlaskClient, session: Session, shop: Shop
) -> None:
    order = checkout(client, shop).get_json()
    cancelled = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=shop.headers)
    assert cancelled.get_json()["payment"]["status"] == "cancelled"
    session.refresh(shop.honey)
    assert shop.honey.stock == 3
    again = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=shop.headers)
    assert assert_error(again, 409)["reason"] == "payment_not_open"


def test_events_are_the_truth_behind_the_totals(
    client: FlaskClient, session: Session, shop: Shop
) -> None:
    payment = checkout(client, shop).get_json()["payment"]
    banks.simbank(client, payment["reference"], 200_000)
    banks.simbank(client, payment["reference"], 70_000)
    kinds = session.execute(
        select(PaymentEvent.kind, PaymentEvent.amount_vnd).order_by(PaymentEvent.id)
    ).all()
    assert [(kind.value, amount) for kind, amount in kinds] == [
        ("created", 0),
        ("money_received", 200_000),
        ("money_received", 70_000),
    ]
    assert client.get(f"/api/v1/payments/{payment['id']}").get_json()["status"] == "paid"


def test_a_vendor_screen_waits_for_the_status_to_change(client: FlaskClient, shop: Shop) -> None:
    payment = checkout(client, shop).get_json()["payment"]
    banks.simbank(client, payment["reference"], 270_000)
    answered = client.get(
        f"/api/v1/payments/{payment['id']}", query_string={"status": "pending", "wait": 30}
    ).get_json()
    assert answered["status"] == "paid"
    assert_error(client.get(f"/api/v1/payments/{payment['id']}", query_string={"wait": 31}), 422)
    assert_error(client.get("/api/v1/payments/pay_nope"), 404)


@pytest.mark.parametrize(
    ("day", "revoked", "ocop"),
    [
        (date(2026, 12, 5), False, True),
        (date(2028, 7, 20), False, True),  # expiring within 90 days: still certified
        (date(2028, 8, 2), False, False),  # its three years ended on 2028-08-01
        (date(2026, 12, 5), True, False),
    ],
    ids=["active", "expiring", "expired", "revoked"],
)
def test_a_line_counts_as_ocop_while_its_products_certificate_is_live(
    session: Session, shop: Shop, day: date, revoked: bool, ocop: bool
) -> None:
    product = session.get_one(Product, shop.honey.product_id)
    if revoked:
        revoke_certification(session, product.current_certification_id, "fake score sheet")
    order = place_order(
        session,
        stall_id=shop.stall_id,
        lines=[LineRequest(shop.honey.id, 1), LineRequest(shop.juice.id, 1)],
        method=PaymentMethod.VIETQR,
        actor=None,
        now=datetime.combine(day, time(9), tzinfo=VIETNAM),
    )
    assert [line.is_ocop for line in order.lines] == [ocop, False]

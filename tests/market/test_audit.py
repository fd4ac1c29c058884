"""The audit log: money and administrative changes name who made them; admins read them."""

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from market.accounts.services import create_user, issue_token
from market.cli import cli
from market.core.clock import vietnam_today
from market.core.principals import Role
from tests.market.test_app import assert_error
from tests.market.test_markets import KIM_DONG, vendor_headers
from tests.shop import Shop, checkout

AUDIT = "/api/v1/audit-events"


@pytest.fixture
def admin(auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    return auth(Role.ADMIN)


def events(client: FlaskClient, admin: dict[str, str], **filters: Any) -> list[dict[str, Any]]:
    response = client.get(AUDIT, query_string=filters, headers=admin)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_a_refund_writes_one_event_naming_who_how_much_and_a_retry_none(
    client: FlaskClient, session: Session, shop: Shop, admin: dict[str, str]
) -> None:
    payment = checkout(client, shop, "cash", headers=shop.headers).get_json()["payment"]
    path = f"/api/v1/payments/{payment['id']}/refunds"
    key = {**shop.headers, "Idempotency-Key": "refund-audit-0001"}
    for _ in range(2):  # the retry refunds nothing more, so it logs nothing more
        assert client.post(path, json={"amount_vnd": 20_000}, headers=key).status_code == 201
    [event] = events(client, admin, subject_type="payment", subject_id=payment["id"])
    me = client.get("/api/v1/me", headers=shop.headers).get_json()
    assert (event["actor_user_id"], event["actor_role"]) == (me["id"], "vendor")
    assert event["action"] == "payment.refund"
    assert event["details"] == {
        "amount_vnd": 20_000,
        "method": "cash",
        "status": "partially_refunded",
        "refunded_vnd": 20_000,
    }


def test_a_refused_refund_writes_no_event(
    client: FlaskClient, shop: Shop, admin: dict[str, str]
) -> None:
    payment = checkout(client, shop, "cash", headers=shop.headers).get_json()["payment"]
    too_much = client.post(
        f"/api/v1/payments/{payment['id']}/refunds",
        json={"amount_vnd": 270_001},
        headers=shop.headers,
    )
    assert_error(too_much, 422)
    assert events(client, admin, action="payment.refund", subject_id=payment["id"]) == []


def test_a_cancelled_order_is_logged(
    client: FlaskClient, shop: Shop, admin: dict[str, str]
) -> None:
    order = checkout(client, shop).get_json()
    cancelled = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=shop.headers)
    assert cancelled.status_code == 200
    [event] = events(client, admin, subject_type="order", subject_id=order["id"])
    assert event["action"] == "order.cancel"
    assert event["details"] == {"payment": order["payment"]["id"]}


def test_a_bank_account_change_is_logged_masked(
    client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    headers, vendor = vendor_headers(session)
    old_number = vendor.account_number
    changed = client.patch(
        f"/api/v1/vendors/{vendor.id}",
        json={"account_number": "0071000123456"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.get_json()
    [event] = events(client, admin, subject_type="vendor", subject_id=str(vendor.id))
    assert event["action"] == "vendor.bank_account_change"
    assert event["details"]["new"]["account_number"] == "*********3456"
    assert (
        event["details"]["old"]["account_number"] == "*" * (len(old_number) - 4) + old_number[-4:]
    )
    # The log never holds a whole account number.
    assert "0071000123456" not in json.dumps(event) and old_number not in json.dumps(event)


def test_a_name_change_is_logged_without_the_bank_account(
    client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    headers, vendor = vendor_headers(session)
    client.patch(f"/api/v1/vendors/{vendor.id}", json={"display_name": "Cô Ba"}, headers=headers)
    [event] = events(client, admin, subject_type="vendor", subject_id=str(vendor.id))
    assert (event["action"], event["details"]) == ("vendor.update", {"fields": ["display_name"]})


def test_admin_writes_are_logged_under_the_admin_and_tokens_stay_out(
    client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    created = client.post("/api/v1/markets", json=KIM_DONG, headers=admin)
    assert created.status_code == 201, created.get_json()
    account = client.post("/api/v1/users", json={"name": "Lan", "role": "official"}, headers=admin)
    token = account.get_json()["token"]["token"]
    me = client.get("/api/v1/me", headers=admin).get_json()
    mine = events(client, admin, actor_user_id=me["id"])
    assert [event["action"] for event in mine] == ["token.issue", "account.create", "market.create"]
    assert all(event["actor_role"] == "admin" for event in mine)
    assert token not in json.dumps(mine) and token[:11] not in json.dumps(mine)


def test_events_filter_by_local_days(
    client: FlaskClient, shop: Shop, admin: dict[str, str]
) -> None:
    order = checkout(client, shop).get_json()
    client.post(f"/api/v1/orders/{order['id']}/cancel", headers=shop.headers)
    today = vietnam_today()
    assert events(client, admin, action="order.cancel", **{"from": today, "to": today})
    tomorrow = today + timedelta(days=1)
    assert events(client, admin, action="order.cancel", **{"from": tomorrow}) == []
    backwards = client.get(AUDIT, query_string={"from": tomorrow, "to": today}, headers=admin)
    assert "to" in assert_error(backwards, 422)["errors"]["query"]


@pytest.mark.parametrize("role", [Role.VENDOR, Role.OFFICIAL])
def test_only_administrators_read_the_log(
    client: FlaskClient, auth: Callable[..., dict[str, str]], role: Role
) -> None:
    assert_error(client.get(AUDIT, headers=auth(role)), 403)
    assert_error(client.get(AUDIT), 401)


def test_role_and_disable_changes_from_the_command_line_are_logged(
    app: Flask, client: FlaskClient, session: Session, admin: dict[str, str]
) -> None:
    user = create_user(session, "Chị Mai", Role.VENDOR)
    token = {"Authorization": f"Bearer {issue_token(session, user).token}"}
    runner = app.test_cli_runner()
    assert runner.invoke(cli, args=["users", "role", str(user.id), "official"]).exit_code == 0
    assert runner.invoke(cli, args=["users", "disable", str(user.id)]).exit_code == 0
    assert_error(client.get("/api/v1/me", headers=token), 401)
    unknown = runner.invoke(cli, args=["users", "disable", "999999"])
    assert unknown.exit_code == 1 and "There is no account" in unknown.output
    logged = events(client, admin, subject_type="user", subject_id=str(user.id))
    assert [(event["action"], event["details"]) for event in logged] == [
        ("account.disable", {}),
        ("account.role_change", {"old": "vendor", "new": "official"}),
        ("account.create", {"role": "vendor"}),
    ]
    assert {event["actor_role"] for event in logged} == {"system"}

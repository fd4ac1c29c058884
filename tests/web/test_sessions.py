"""Sessions: where sign-in may send you, disabled accounts, sign-out, and error pages in HTML."""

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from market.accounts.models import User
from market.core.db import utcnow
from tests.settings import TEST_SECRETS
from tests.web.conftest import VENDOR_A, Vendors
from tests.web.pages import csrf_token, post_form, text


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(
    client: FlaskClient, vendors: Vendors
) -> None:
    path = f"/vendor/stalls/{vendors.a.stall_id}/today"
    sent = client.get(path)
    assert sent.headers["Location"] == f"/sign-in?next={path}?"
    login = {"login": VENDOR_A, "password": "mật khẩu dài 123"}
    back = post_form(client, f"/sign-in?next={path}", login)
    assert back.headers["Location"] == path
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        elsewhere = post_form(client, f"/sign-in?next={target}", login)
        assert elsewhere.headers["Location"] == "/vendor", target


def test_signing_out_ends_the_session(client: FlaskClient, vendors: Vendors) -> None:
    post_form(client, "/sign-in", {"login": VENDOR_A, "password": "mật khẩu dài 123"})
    out = client.post("/sign-out", data={"csrf_token": csrf_token(client, "/vendor")})
    assert out.status_code == 302
    assert "Bạn đã đăng xuất." in text(client.get("/"))
    assert client.get("/vendor").status_code == 302


def test_a_disabled_account_loses_its_session(
    client: FlaskClient, session: Session, vendors: Vendors
) -> None:
    post_form(client, "/sign-in", {"login": VENDOR_A, "password": "mật khẩu dài 123"})
    assert client.get("/vendor").status_code == 200
    user = session.query(User).filter_by(login=VENDOR_A).one()
    user.disabled_at = utcnow()
    session.flush()
    assert client.get("/vendor").status_code == 302


def test_a_database_outage_is_a_small_html_page(make_app: Callable[..., Flask]) -> None:
    app = make_app({"DATABASE_URL": "sqlite:////nonexistent/dir/db.sqlite3", **TEST_SECRETS})
    broken = app.test_client().get("/products?q=mat")
    assert broken.status_code == 503 and broken.mimetype == "text/html"
    assert "Hệ thống gặp lỗi; chưa có gì được lưu." in text(broken)
    assert "Traceback" not in text(broken) and "sqlite" not in text(broken).lower()

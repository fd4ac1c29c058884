"""Accounts and tokens: who may do what, and tokens that are shown once and stored hashed."""

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.accounts.models import ApiToken, User
from market.accounts.services import authenticate_password, set_password
from market.core.db import utcnow
from market.core.errors import DomainError
from market.core.principals import Principal, Role
from tests.factories.accounts import UserFactory
from tests.market.test_app import assert_error


def test_admin_creates_an_account_whose_token_works_and_is_stored_hashed(
    client: FlaskClient,
    auth,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    response = client.post(
        "/api/v1/users", json={"name": "Hà Văn Sơn", "role": "vendor"}, headers=auth(Role.ADMIN)
    )
    assert response.status_code == 201
    body = response.get_json()
    token = body["token"]["token"]
    assert body["user"]["role"] == "vendor"

    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.get_json()["name"] == "Hà Văn Sơn"
    stored = session.scalars(select(ApiToken.token_hash)).all()
    assert token not in stored
    assert all(len(value) == 64 for value in stored)


def test_writes_need_a_token(client: FlaskClient) -> None:
    response = client.post("/api/v1/users", json={"name": "x", "role": "vendor"})
    body = assert_error(response, 401)
    assert "Authorization" in body["errors"]["headers"]


def test_a_malformed_or_unknown_token_is_refused(client: FlaskClient) -> None:
    for header in ("Basic abc", "Bearer ", "Bearer ocop_not-a-real-token"):
        assert_error(client.get("/api/v1/me", headers={"Authorization": header}), 401)


def test_a_bad_token_is_refused_even_on_a_public_read(client: FlaskClient) -> None:
    # Reads are open, but a caller who sends a wrong token should learn it, not be served silently.
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer nope"})
    assert_error(response, 401)


def test_wrong_role_is_403_and_writes_nothing(
    client: FlaskClient,
    auth,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    for role in (Role.VENDOR, Role.OFFICIAL):
        headers = auth(role)
        before = session.scalar(select(func.count()).select_from(User))
        response = client.post(
            "/api/v1/users", json={"name": "x", "role": "admin"}, headers=headers
        )
        body = assert_error(response, 403)
        assert "admin" in body["message"]
        assert session.scalar(select(func.count()).select_from(User)) == before


def test_invalid_account_names_the_field_and_saves_nothing(
    client: FlaskClient,
    auth,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    headers = auth(Role.ADMIN)
    before = session.scalar(select(func.count()).select_from(User))
    for payload, field in (
        ({"role": "vendor"}, "name"),
        ({"name": "x", "role": "shopkeeper"}, "role"),
        ({"name": "", "role": "vendor"}, "name"),
        ({"name": 5, "role": "vendor"}, "name"),
    ):
        body = assert_error(client.post("/api/v1/users", json=payload, headers=headers), 422)
        assert field in body["errors"]["json"]
        assert f"json.{field}" in body["message"]
    assert session.scalar(select(func.count()).select_from(User)) == before


def test_a_revoked_token_stops_working_at_once(client: FlaskClient, auth) -> None:  # type: ignore[no-untyped-def]
    headers = auth(Role.VENDOR)
    second = client.post("/api/v1/tokens", json={"label": "tablet"}, headers=headers).get_json()
    second_headers = {"Authorization": f"Bearer {second['token']}"}
    assert client.get("/api/v1/me", headers=second_headers).status_code == 200

    revoked = client.delete(f"/api/v1/tokens/{second['id']}", headers=headers)
    assert revoked.status_code == 200
    assert revoked.get_json()["revoked_at"]
    assert_error(client.get("/api/v1/me", headers=second_headers), 401)
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_nobody_revokes_another_accounts_token_except_an_admin(
    client: FlaskClient,
    auth,  # type: ignore[no-untyped-def]
) -> None:
    owner = auth(Role.VENDOR)
    token = client.post("/api/v1/tokens", json={}, headers=owner).get_json()
    assert_error(client.delete(f"/api/v1/tokens/{token['id']}", headers=auth(Role.VENDOR)), 404)
    assert (
        client.delete(f"/api/v1/tokens/{token['id']}", headers=auth(Role.ADMIN)).status_code == 200
    )


def test_a_disabled_account_cannot_use_its_tokens(client: FlaskClient, session: Session) -> None:
    from market.accounts.services import issue_token
    from market.core.db import utcnow

    user = UserFactory(disabled_at=utcnow())
    token = issue_token(session, user).token
    assert_error(client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}), 401)


def test_a_password_signs_in_by_its_login_and_is_stored_as_a_scrypt_hash(
    session: Session,
) -> None:
    user = UserFactory(role=Role.VENDOR)
    set_password(session, user, " 0912345678 ", "mật khẩu dài")

    assert user.password_hash.startswith("scrypt:")
    assert "mật khẩu" not in user.password_hash
    principal = authenticate_password(session, "0912345678", "mật khẩu dài")
    assert principal == Principal(user_id=user.id, role=Role.VENDOR)
    assert authenticate_password(session, "0912345678", "mat khau dai") is None
    assert authenticate_password(session, "0999999999", "mật khẩu dài") is None


def test_a_disabled_account_cannot_sign_in_with_its_password(session: Session) -> None:
    user = UserFactory(role=Role.OFFICIAL)
    set_password(session, user, "so-cong-thuong", "12345678")
    user.disabled_at = utcnow()

    assert authenticate_password(session, "so-cong-thuong", "12345678") is None


def test_a_short_password_or_a_taken_login_is_refused_naming_the_field(session: Session) -> None:
    first, second = UserFactory(), UserFactory()
    with pytest.raises(DomainError) as short:
        set_password(session, first, "hoa", "1234567")
    assert short.value.field == "password"
    assert first.password_hash is None

    set_password(session, first, "hoa", "12345678")
    with pytest.raises(DomainError) as taken:
        set_password(session, second, "HOA", "87654321")
    assert taken.value.field == "login"

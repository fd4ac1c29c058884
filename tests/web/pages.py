"""Helpers for page tests: sign in through the form, read a form's CSRF token."""

import re

from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from market.accounts.models import User
from market.accounts.services import create_user, set_password
from market.core.principals import Role

PASSWORD = "mật khẩu dài 123"
_TOKEN = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token(client: FlaskClient, path: str) -> str:
    """Open `path` and return the CSRF token of its form."""
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    found = _TOKEN.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1) or found.group(2)


def post_form(client: FlaskClient, path: str, data: dict[str, str], **kw: object) -> TestResponse:
    """Post `data` to the form of `path`, with the token the page gave."""
    return client.post(path, data={"csrf_token": csrf_token(client, path), **data}, **kw)


def give_login(session: Session, user: User, login: str) -> str:
    """Let `user` sign in as `login`; return the login."""
    set_password(session, user, login, PASSWORD)
    return login


def account(session: Session, role: Role, login: str) -> User:
    """Create an account of `role` that signs in as `login`."""
    user = create_user(session, f"{role.value} {login}", role)
    give_login(session, user, login)
    return user


def sign_in(client: FlaskClient, login: str, password: str = PASSWORD) -> TestResponse:
    """Sign in through the form, as a person would."""
    return post_form(client, "/sign-in", {"login": login, "password": password})


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)

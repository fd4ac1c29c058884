"""Create accounts, issue and check tokens. Services flush; the caller commits."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from market.accounts.models import ApiToken, User
from market.core.audit import record_audit
from market.core.db import flush_unique, get_or_404, utcnow
from market.core.errors import DomainError, NotFound
from market.core.principals import Principal, Role

TOKEN_PREFIX = "ocop_"
MIN_PASSWORD_LENGTH = 8
# Checked when the login is unknown, so a wrong login costs as long as a wrong password.
_UNKNOWN_LOGIN_HASH = generate_password_hash("not a password of anyone")


@dataclass(frozen=True)
class IssuedToken:
    """A new token as its owner sees it once: the stored row's fields plus the token itself."""

    id: int
    prefix: str
    label: str
    created_at: datetime
    token: str
    revoked_at: None = None


def hash_token(token: str) -> str:
    """Return the stored form of a token; tokens carry 256 random bits, so SHA-256 suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(session: Session, name: str, role: Role) -> User:
    """Create an account."""
    user = User(name=name.strip(), role=Role(role))
    session.add(user)
    session.flush()
    record_audit(session, None, "account.create", "user", user.id, role=user.role)
    return user


def issue_token(session: Session, user: User, label: str = "") -> IssuedToken:
    """Create a token for `user`; the token itself is never retrievable again."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user=user, token_hash=hash_token(token), prefix=token[: len(TOKEN_PREFIX) + 6], label=label
    )
    session.add(row)
    session.flush()
    # The token's id and label identify it; its hash and prefix stay out of the log.
    record_audit(session, None, "token.issue", "token", row.id, user_id=user.id, label=label)
    return IssuedToken(row.id, row.prefix, row.label, row.created_at, token)


def authenticate_token(session: Session, token: str) -> Principal | None:
    """Return the principal of a live token of an enabled account, else None."""
    row = session.execute(
        select(User.id, User.role)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(
            ApiToken.token_hash == hash_token(token),
            ApiToken.revoked_at.is_(None),
            User.disabled_at.is_(None),
        )
    ).one_or_none()
    return Principal(user_id=row.id, role=Role(row.role)) if row else None


def get_user(session: Session, user_id: int) -> User:
    """Return an account or raise NotFound."""
    return get_or_404(session, User, user_id, "account", "id")


def revoke_token(session: Session, principal: Principal, token_id: int) -> ApiToken:
    """Revoke one of the caller's tokens (an administrator may revoke anyone's)."""
    token = session.get(ApiToken, token_id)
    if token is None or (principal.role != Role.ADMIN and token.user_id != principal.user_id):
        raise NotFound(f"You have no token {token_id}.", field="token_id", location="path")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        record_audit(session, principal, "token.revoke", "token", token.id, user_id=token.user_id)
    return token


def change_role(session: Session, user_id: int, role: Role) -> User:
    """Give an account another role; its tokens carry the new role from their next request."""
    user = get_user(session, user_id)
    old = user.role
    if old != role:
        user.role = Role(role)
        session.flush()
        record_audit(session, None, "account.role_change", "user", user.id, old=old, new=role)
    return user


def set_disabled(session: Session, user_id: int, disabled: bool) -> User:
    """Disable an account (its tokens and password stop working at once) or enable it again."""
    user = get_user(session, user_id)
    if disabled == (user.disabled_at is not None):
        return user
    user.disabled_at = utcnow() if disabled else None
    session.flush()
    action = "account.disable" if disabled else "account.enable"
    record_audit(session, None, action, "user", user.id)
    return user


def set_password(session: Session, user: User, login: str, password: str) -> None:
    """Let `user` sign in to the web pages as `login` (e.g. a phone number) with `password`."""
    login = login.strip().lower()
    if not login:
        raise DomainError("Choose a login, e.g. your phone number.", field="login")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            f"The password needs at least {MIN_PASSWORD_LENGTH} characters.", field="password"
        )
    user.login = login
    # Werkzeug's default is scrypt, a memory-hard key-derivation function.
    user.password_hash = generate_password_hash(password)
    flush_unique(session, f"The login {login!r} is taken; choose another.", field="login")
    record_audit(session, None, "account.set_password", "user", user.id)


def authenticate_password(session: Session, login: str, password: str) -> Principal | None:
    """Return the principal whose login and password these are, if the account is enabled."""
    user = session.scalars(select(User).where(User.login == login.strip().lower())).one_or_none()
    if user is None or user.password_hash is None:
        check_password_hash(_UNKNOWN_LOGIN_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or user.disabled_at is not None:
        return None
    return Principal(user_id=user.id, role=user.role)

"""Who is signed in to the pages: a principal kept in Flask's signed session cookie."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, redirect, request, session, url_for
from sqlalchemy import select

from market.accounts.models import User
from market.core.access import ACCESS_ATTRIBUTE, ANYONE
from market.core.audit import act_as
from market.core.errors import Forbidden
from market.core.extensions import db
from market.core.principals import Principal, Role

View = TypeVar("View", bound=Callable[..., Any])


def sign_in(principal: Principal) -> None:
    """Start a fresh session for `principal`, keeping only the chosen language."""
    language = session.get("lang")
    session.clear()
    session["user_id"] = principal.user_id
    session["role"] = principal.role.value
    if language:
        session["lang"] = language


def sign_out() -> None:
    """Forget who is signed in, keeping the chosen language."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def page_principal() -> Principal | None:
    """Return the signed-in account if it still exists, is enabled and has the same role."""
    if "page_principal" not in g:
        g.page_principal = None
        user_id, role = session.get("user_id"), session.get("role")
        if isinstance(user_id, int) and role in tuple(Role):
            row = db.session.execute(
                select(User.role).where(User.id == user_id, User.disabled_at.is_(None))
            ).one_or_none()
            if row is not None and row.role == role:
                g.page_principal = Principal(user_id, Role(role))
                act_as(db.session, g.page_principal)
    return g.page_principal


def require_page_principal(*roles: Role) -> Principal:
    """Return the signed-in account, refusing one whose role is not among `roles`."""
    principal = page_principal()
    if principal is None or (roles and principal.role not in roles):
        raise Forbidden("This page needs another role.")
    return principal


def page_access(*roles: Role | str) -> Callable[[View], View]:
    """Declare who may open a page; anonymous callers of a closed page are sent to sign in."""
    public = ANYONE in roles
    needed = tuple(Role(role) for role in roles if role != ANYONE)

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not public:
                if page_principal() is None:
                    return redirect(url_for("web.sign_in", next=request.full_path))
                require_page_principal(*needed)
            return view(*args, **kwargs)

        setattr(wrapper, ACCESS_ATTRIBUTE, roles)
        return wrapper  # type: ignore[return-value]

    return decorator

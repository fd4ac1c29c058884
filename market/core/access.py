"""Who may call what: roles, the bearer-token principal, and `allow`, declared on every write."""

from collections.abc import Callable
from functools import wraps
from typing import Any, Final, TypeVar

from flask import Flask, current_app, g, request
from flask_smorest import Blueprint

from market.core.audit import act_as
from market.core.errors import Forbidden, Unauthorized
from market.core.extensions import db
from market.core.principals import Principal, Role

ANYONE: Final = "anyone"
"""Declares an endpoint open to every caller, e.g. checkout or a signature-checked webhook."""

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ACCESS_ATTRIBUTE = "__ocop_access__"


Authenticator = Callable[[str], Principal | None]
View = TypeVar("View", bound=Callable[..., Any])


def set_authenticator(app: Flask, authenticate: Authenticator) -> None:
    """Register how a bearer token becomes a principal (the accounts package provides it)."""
    app.extensions["authenticate"] = authenticate


def current_principal() -> Principal | None:
    """Return the caller named by the `Authorization: Bearer` header, or None when there is none."""
    if "principal" not in g:
        g.principal = _authenticate(request.headers.get("Authorization"))
        if g.principal is not None:
            act_as(db.session, g.principal)
    return g.principal


def _authenticate(header: str | None) -> Principal | None:
    # Other schemes (a bank service's "Apikey ...") belong to the endpoint that expects them.
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    if not token.strip():
        raise Unauthorized(
            "The Authorization header must be 'Bearer <token>'.",
            field="Authorization",
            location="headers",
        )
    principal = current_app.extensions["authenticate"](token.strip())
    if principal is None:
        raise Unauthorized(
            "This token is unknown or revoked; ask an administrator for a new one.",
            field="Authorization",
            location="headers",
        )
    return principal


def require_principal(*roles: Role) -> Principal:
    """Return the caller, refusing anonymous callers and callers whose role is not in `roles`."""
    principal = current_principal()
    if principal is None:
        raise Unauthorized(
            "Sign in: send 'Authorization: Bearer <token>'.",
            field="Authorization",
            location="headers",
        )
    if roles and principal.role not in roles:
        allowed = ", ".join(role.value for role in roles)
        raise Forbidden(f"This needs one of the roles: {allowed}; your token is {principal.role}.")
    return principal


def allow(*roles: Role | str) -> Callable[[View], View]:
    """Declare, and enforce before the view runs, which roles may call it (`ANYONE` for all)."""
    if not roles:
        raise ValueError("allow() needs at least one role, or ANYONE")
    public = ANYONE in roles
    needed = tuple(Role(role) for role in roles if role != ANYONE)

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if public:
                current_principal()  # a bad token is refused even where none is needed
            else:
                require_principal(*needed)
            return view(*args, **kwargs)

        setattr(wrapper, ACCESS_ATTRIBUTE, roles)
        if public:
            return wrapper  # type: ignore[return-value]
        allowed = ", ".join(role.value for role in needed)
        return Blueprint.doc(  # type: ignore[no-any-return]
            security=[{"bearerAuth": []}],
            description=f"Roles allowed: {allowed}.",
            responses={"401": "DEFAULT_ERROR", "403": "DEFAULT_ERROR"},
        )(wrapper)

    return decorator


def undeclared_write_endpoints(app: Flask) -> list[str]:
    """List `METHOD endpoint` for every write route whose view does not declare who may call it."""
    missing = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        view_class = getattr(view, "view_class", None)
        for method in sorted((rule.methods or set()) & WRITE_METHODS):
            handler = getattr(view_class, method.lower(), None) if view_class else view
            if not hasattr(handler, ACCESS_ATTRIBUTE):
                missing.append(f"{method} {rule.rule}")
    return missing

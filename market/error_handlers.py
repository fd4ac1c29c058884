"""One JSON error shape for every error: {code, status, message, errors}, plus a stable reason.

A browser that asks for a page outside the API gets the web pages' small HTML error page instead.
"""

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, jsonify, request
from marshmallow import Schema
from marshmallow import fields as ma_fields
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from market.core.errors import DomainError
from market.web.blueprint import http_error as web_error_page

log = logging.getLogger(__name__)


class ErrorSchema(Schema):
    """The one error shape, as the OpenAPI document describes every error response."""

    code = ma_fields.Integer(required=True, metadata={"description": "The HTTP status code"})
    status = ma_fields.String(required=True, metadata={"description": "The HTTP status phrase"})
    message = ma_fields.String(
        required=True, metadata={"description": "What went wrong, for people"}
    )
    reason = ma_fields.String(
        required=True, metadata={"description": "A stable reason for programs, e.g. not_found"}
    )
    errors = ma_fields.Dict(
        metadata={"description": "Problems by location, then field: {json: {amount_vnd: [...]}}"}
    )


HINTS = {
    404: "No such resource; GET /api/openapi.json lists every route.",
    405: "This route does not accept that method; see the Allow header.",
    413: "The request body is too large.",
}


def error_response(
    status: int,
    message: str,
    *,
    errors: dict[str, Any] | None = None,
    reason: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Build an error response in the one shape every client can rely on."""
    body: dict[str, Any] = {
        "code": status,
        "status": HTTPStatus(status).phrase,
        "message": message,
        "reason": reason or HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_"),
    }
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _summarise(errors: dict[str, Any]) -> str:
    """Name the first fields at fault, so the message alone tells the user what to fix."""
    parts = []
    for location, fields in errors.items():
        if isinstance(fields, dict):
            parts += [f"{location}.{name}: {_first(problem)}" for name, problem in fields.items()]
        else:
            parts.append(f"{location}: {_first(fields)}")
    return "Invalid request: " + "; ".join(parts[:3]) + (" …" if len(parts) > 3 else "")


def _first(problem: Any) -> str:
    if isinstance(problem, list) and problem:
        return _first(problem[0])
    if isinstance(problem, dict) and problem:
        key, value = next(iter(problem.items()))
        return f"{key}: {_first(value)}"
    return str(problem)


def handle_http_exception(error: HTTPException) -> Response | tuple[str, int, Any]:
    if _browser_outside_api():
        return web_error_page(error)  # a mistyped address in a browser gets a page, not JSON
    data = getattr(error, "data", None) or {}
    errors = data.get("messages")
    status = error.code or 500
    message = data.get("message") or (_summarise(errors) if errors else None)
    headers = dict(data.get("headers") or {})
    if error.response is None:
        headers.update(
            (k, v) for k, v in error.get_headers() if k.lower() in {"allow", "retry-after"}
        )
    return error_response(
        status,
        message or HINTS.get(status) or error.description or "",
        errors=errors,
        headers=headers,
    )


def _browser_outside_api() -> bool:
    """Tell a browser asking for a page from an API client (which gets the JSON shape)."""
    if request.path.startswith("/api"):
        return False
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def handle_domain_error(error: DomainError) -> Response:
    errors = {error.location: {error.field: error.problems}} if error.field else None
    return error_response(error.status, error.message, errors=errors, reason=error.reason)


def handle_database_unavailable(error: OperationalError) -> Response:
    log.error("database unavailable: %s", error.orig)
    return error_response(
        503,
        "The database is unavailable; nothing was saved. Try again shortly.",
        reason="database_unavailable",
        headers={"Retry-After": "5"},
    )


def handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error", exc_info=error)
    return error_response(500, "Something went wrong on our side; nothing was saved.")


def register_error_handlers(app: Flask) -> None:
    """Make every error, from routing to the database, answer in the one JSON shape."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(Exception, handle_unexpected)

"""The pages' blueprint: language, template helpers, and error pages in HTML."""

import logging
from datetime import date, datetime
from http import HTTPStatus
from typing import Any

from flask import Blueprint, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from wtforms import Field

from market.core.clock import VIETNAM
from market.core.errors import DomainError
from market.web.auth import page_principal
from market.web.forms import SignOutForm
from market.web.i18n import language, translate

log = logging.getLogger(__name__)

blp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/web",
)

ERROR_TITLES = {
    403: "You may not open this page",
    404: "Page not found",
}


def vnd(amount: int | None) -> str:
    """Write an amount of dong as Vietnamese do: 250.000 ₫."""
    if amount is None:
        return ""
    return f"{amount:,}".replace(",", ".") + " ₫"


def local_time(moment: datetime | None, pattern: str = "%H:%M %d/%m/%Y") -> str:
    """Write a stored UTC moment in Vietnam's local time."""
    return moment.astimezone(VIETNAM).strftime(pattern) if moment else ""


def day(value: date | None) -> str:
    """Write a date as dd/mm/yyyy."""
    return value.strftime("%d/%m/%Y") if value else ""


def with_language(code: str) -> str:
    """Return this page's address in another language."""
    args: dict[str, Any] = request.args.to_dict(flat=False)
    args["lang"] = [code]
    return url_for(request.endpoint or "web.home", **(request.view_args or {}), **args)


@blp.app_template_global()
def t(text: Any) -> str:
    """Translate a text of the pages (see i18n)."""
    return translate(str(text))


@blp.app_template_global()
def control(field: Field, **attributes: Any) -> Markup:
    """Render a form control tied to its hint and errors, for screen readers."""
    described = [f"{field.id}-error"] if field.errors else []
    if field.description:
        described.append(f"{field.id}-hint")
    if field.errors:
        attributes["aria-invalid"] = "true"
    if described:
        attributes["aria-describedby"] = " ".join(described)
    return Markup(field(**attributes))


@blp.context_processor
def page_helpers() -> dict[str, Any]:
    principal = page_principal()
    return {
        "lang": language(),
        "principal": principal,
        "sign_out_form": SignOutForm() if principal else None,
        "vnd": vnd,
        "local_time": local_time,
        "day": day,
        "with_language": with_language,
    }


def error_page(status: int, message: str | None = None) -> tuple[str, int]:
    """Render a small HTML error page, never a stack trace."""
    title = ERROR_TITLES.get(status) or HTTPStatus(status).phrase
    if status >= 500:
        title = "Something went wrong"
    # The helpers are passed here too: a mistyped address is answered outside this blueprint.
    page = render_template(
        "web/error.html", **page_helpers(), status=status, title=title, message=message
    )
    return page, status


@blp.errorhandler(DomainError)
def domain_error(error: DomainError) -> tuple[str, int]:
    return error_page(int(error.status), error.message)


@blp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[str, int, list[tuple[str, str]]]:
    # Keep the error's own headers (a 429's Retry-After, a 405's Allow), but not its content type.
    headers = [(name, value) for name, value in error.get_headers() if name != "Content-Type"]
    message = error.description if error.code == 429 else None
    return (*error_page(error.code or 500, message), headers)


@blp.errorhandler(OperationalError)
def database_unavailable(error: OperationalError) -> tuple[str, int]:
    log.error("database unavailable: %s", error.orig)
    return error_page(503, "Something went wrong on our side; nothing was saved.")


@blp.errorhandler(Exception)
def unexpected(error: Exception) -> tuple[str, int]:
    log.exception("unhandled error in a page", exc_info=error)
    return error_page(500, "Something went wrong on our side; nothing was saved.")

"""Liveness and readiness probes for process managers and load balancers."""

from flask import Blueprint, Response, current_app
from sqlalchemy.exc import SQLAlchemyError

from market import migrate
from market.core.extensions import db
from market.error_handlers import error_response

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz() -> dict[str, str]:
    """Answer while the process is up."""
    return {"status": "ok"}


@blp.get("/readyz")
def readyz() -> Response | dict[str, str]:
    """Answer 200 only when the database is reachable and migrated to the head revision."""
    try:
        with db.engine.connect().execution_options(sqlite_begin="DEFERRED") as connection:
            current = migrate.current_revisions(connection)
    except SQLAlchemyError as error:
        current_app.logger.warning("readiness: database unreachable: %s", error)
        return error_response(
            503,
            "The database is unreachable.",
            reason="database_unavailable",
            headers={"Retry-After": "5"},
        )
    heads = current_app.extensions["migration_heads"]
    if current != heads:
        return error_response(
            503,
            f"The database is at {sorted(current)}, not {sorted(heads)}: "
            "run 'ocop-market db upgrade'.",
            reason="migrations_pending",
        )
    return {"status": "ready", "revision": ",".join(sorted(current))}

"""The application factory."""

from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin, resolver
from flask import Flask, Response, send_from_directory
from flask_smorest import Api
from marshmallow import Schema
from swagger_ui_bundle import swagger_ui_path
from werkzeug.middleware.proxy_fix import ProxyFix

from catalog.views import blp as catalog_blp
from market import health, migrate
from market.accounts.services import authenticate_token
from market.accounts.views import blp as accounts_blp
from market.audit.views import blp as audit_blp
from market.config import load_config
from market.core.access import set_authenticator, undeclared_write_endpoints
from market.core.extensions import db
from market.core.headers import init_security_headers
from market.core.limits import init_limits
from market.error_handlers import ErrorSchema, register_error_handlers
from market.markets.views import blp as markets_blp
from market.places.views import blp as places_blp
from market.reports.views import blp as reports_blp
from market.sales.views import blp as sales_blp
from market.vendors.views import blp as vendors_blp
from market.web import blp as web_blp
from payments.changes import attach_board
from payments.gateways.factory import card_gateway_from_settings
from payments.views import blp as payments_blp

API_BLUEPRINTS = (
    accounts_blp,
    places_blp,
    catalog_blp,
    markets_blp,
    vendors_blp,
    sales_blp,
    payments_blp,
    reports_blp,
    audit_blp,
)
SWAGGER_ASSETS = "/api/docs/assets/"


class _Api(Api):
    """flask-smorest's Api, documenting our error shape (with `reason`) instead of its own."""

    ERROR_SCHEMA = ErrorSchema


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create the OCOP Market app: defaults, then the environment, then `config` overrides."""
    app = Flask(__name__)
    app.config.from_mapping(load_config(app.instance_path, config))
    app.config["OPENAPI_SWAGGER_UI_URL"] = SWAGGER_ASSETS
    app.extensions["migration_heads"] = migrate.head_revisions()

    db.init_app(app)
    # Wake this process's waiting payment screens on changes from every process (REDIS_URL).
    attach_board(app.extensions["database"].engine, app.config["REDIS_URL"])
    app.extensions["card_gateway"] = (
        card_gateway_from_settings(app.config) if app.config["CARD_GATEWAY"] else None
    )
    # One Api per app: flask-smorest keeps the spec on the Api, so a shared one would mix apps.
    api = _Api(
        app,
        spec_kwargs={
            "info": {"description": "Cashless payments at OCOP markets."},
            "marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=_schema_name),
        },
    )
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for blueprint in API_BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.register_blueprint(health.blp)
    app.register_blueprint(web_blp)
    app.add_url_rule(f"{SWAGGER_ASSETS}<path:filename>", "swagger_assets", _swagger_asset)

    register_error_handlers(app)
    set_authenticator(app, lambda token: authenticate_token(db.session, token))
    app.after_request(_commit_or_roll_back)

    missing = undeclared_write_endpoints(app)
    if missing:
        raise RuntimeError(f"write endpoints without an access rule: {', '.join(missing)}")
    init_limits(app)
    init_security_headers(app)
    if app.config["PROXY_HOPS"]:
        # Believe exactly this many proxies' X-Forwarded-For and -Proto: the client address keys
        # the rate limits and the scheme decides HSTS, so trusting more lets a caller forge them.
        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    return app


def _schema_name(schema: type[Schema] | Schema) -> str:
    """Name OpenAPI schemas after their class; a PATCH body (partial) gets a name of its own."""
    if isinstance(schema, Schema):
        return resolver(type(schema)) + ("Patch" if schema.partial else "")
    return resolver(schema)


def _commit_or_roll_back(response: Response) -> Response:
    """Commit the request's work once, at the edge, only when the request succeeded."""
    session = db.open_session()
    if session is None:
        return response
    if response.status_code < 400:
        session.commit()
    else:
        session.rollback()
    return response


def _swagger_asset(filename: str) -> Response:
    """Serve Swagger UI from the installed package: the docs work offline, with no CDN."""
    return send_from_directory(swagger_ui_path, filename, max_age=86400)

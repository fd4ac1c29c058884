"""Configuration: defaults, then environment variables, then the overrides a caller passes."""

import os
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    "SECRET_KEY": None,
    "DATABASE_URL": None,
    "DATABASE_ECHO": False,
    "API_TITLE": "OCOP Market API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "JSON_SORT_KEYS": False,
    # Bank-notification webhooks: each format is refused until its secret is configured.
    "SEPAY_API_KEY": None,
    "CASSO_WEBHOOK_KEY": None,
    "SIMBANK_WEBHOOK_SECRET": None,
    # Cards: "stripe" (STRIPE_API_KEY, and STRIPE_API_BASE for a Stripe-compatible test server)
    # or "fake" (the simulator's); unset, card payments are refused.
    "CARD_GATEWAY": None,
    "STRIPE_API_KEY": None,
    "STRIPE_API_BASE": None,
    "STRIPE_WEBHOOK_SECRETS": [],
}

# Environment variables read as settings, and how each is parsed.
ENVIRONMENT: dict[str, Any] = {
    "SECRET_KEY": str,
    "DATABASE_URL": str,
    "DATABASE_ECHO": lambda value: value.lower() in {"1", "true", "yes"},
    "SEPAY_API_KEY": str,
    "CASSO_WEBHOOK_KEY": str,
    "SIMBANK_WEBHOOK_SECRET": str,
    "CARD_GATEWAY": str,
    "STRIPE_API_KEY": str,
    "STRIPE_API_BASE": str,
    # Several secrets, comma-separated, while a rotated one is phased out.
    "STRIPE_WEBHOOK_SECRETS": lambda value: [part.strip() for part in value.split(",") if part],
}


def load_config(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge defaults, environment and overrides into one settings mapping."""
    config = dict(DEFAULTS)
    for name, parse in ENVIRONMENT.items():
        if name in os.environ:
            config[name] = parse(os.environ[name])
    config.update(overrides or {})
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = default_database_url(instance_path)
    if not config["SECRET_KEY"]:
        # A per-process key is safe for the demo: nothing signed with it outlives the process.
        config["SECRET_KEY"] = os.urandom(32).hex()
    return config


def default_database_url(instance_path: str) -> str:
    """Return the embedded SQLite database in the instance folder."""
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(instance_path) / 'ocop-market.sqlite3'}"

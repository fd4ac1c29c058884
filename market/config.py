"""Configuration: defaults, then environment variables, then the overrides a caller passes."""

import os
import secrets
import time
from pathlib import Path
from typing import Any

MIN_SECRET_KEY_LENGTH = 32
SECRET_KEY_FILE = "secret_key"


class ConfigurationError(RuntimeError):
    """A setting the app cannot safely start with; the message says how to fix it."""


DEFAULTS: dict[str, Any] = {
    # Signs sessions; unset, a random key is kept in the instance folder (`secret_key`, 0600).
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
    # A second guard beside the CSRF tokens: the session cookie never rides a cross-site POST.
    "SESSION_COOKIE_SAMESITE": "Lax",
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
    # Redis that wakes, in every server process, the screens waiting for a payment the moment
    # its status changes (payments/changes.py); unset, a process wakes only its own and the
    # others look again every second. E.g. redis://127.0.0.1:6379/0.
    "REDIS_URL": None,
    # Proxies in front of the app whose X-Forwarded-For/-Proto to trust (nginx: 1); 0 trusts none,
    # so rate limits key on the connecting address and nobody can pick theirs with a header.
    "PROXY_HOPS": 0,
    # Abuse limits per client address (market/core/limits.py), in the `limits` library's notation.
    # Unset: on, except in a test app (TESTING), whose hundreds of tests share one address.
    "RATELIMIT_ENABLED": None,
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_KEY_PREFIX": "ocop",
    "RATELIMIT_CHECKOUT": "60/minute",
    "RATELIMIT_SEARCH": "300/minute",
    "RATELIMIT_WEBHOOKS": "1200/minute",
    "RATELIMIT_TOKENS": "10/minute;100/hour",
    "RATELIMIT_SIGN_IN": "10/minute;100/hour",
}


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


# Environment variables read as settings, and how each is parsed.
ENVIRONMENT: dict[str, Any] = {
    "SECRET_KEY": str,
    "DATABASE_URL": str,
    "DATABASE_ECHO": _flag,
    "SEPAY_API_KEY": str,
    "CASSO_WEBHOOK_KEY": str,
    "SIMBANK_WEBHOOK_SECRET": str,
    "CARD_GATEWAY": str,
    "STRIPE_API_KEY": str,
    "STRIPE_API_BASE": str,
    # Several secrets, comma-separated, while a rotated one is phased out.
    "STRIPE_WEBHOOK_SECRETS": lambda value: [part.strip() for part in value.split(",") if part],
    "REDIS_URL": str,
    "PROXY_HOPS": int,
    "RATELIMIT_ENABLED": _flag,
    "RATELIMIT_STORAGE_URI": str,
    "RATELIMIT_KEY_PREFIX": str,
    "RATELIMIT_CHECKOUT": str,
    "RATELIMIT_SEARCH": str,
    "RATELIMIT_WEBHOOKS": str,
    "RATELIMIT_TOKENS": str,
    "RATELIMIT_SIGN_IN": str,
}


def load_config(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge defaults, environment and overrides into one settings mapping."""
    config = dict(DEFAULTS)
    for name, parse in ENVIRONMENT.items():
        if name in os.environ:
            config[name] = parse(os.environ[name])
    config.update(overrides or {})
    if config["RATELIMIT_ENABLED"] is None:
        config["RATELIMIT_ENABLED"] = not config.get("TESTING", False)
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = default_database_url(instance_path)
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = instance_secret_key(instance_path)
    elif len(config["SECRET_KEY"]) < MIN_SECRET_KEY_LENGTH and not config.get("TESTING"):
        # Only a test app (TESTING, never read from the environment) may sign with a toy key.
        raise ConfigurationError(
            f"SECRET_KEY is {len(config['SECRET_KEY'])} characters long; use at least "
            f"{MIN_SECRET_KEY_LENGTH} (python -c 'import secrets; print(secrets.token_hex(32))'), "
            "or unset it to keep a generated key in the instance folder."
        )
    return config


def instance_secret_key(instance_path: str) -> str:
    """Return the key kept in the instance folder, creating it on first use.

    Signed sessions must survive restarts and be shared by every gunicorn worker, so a random
    per-process key will not do. Workers starting together race to create the file with O_EXCL:
    one writes it, the others read what it wrote.
    """
    path = Path(instance_path) / SECRET_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret_key(path)
    key = secrets.token_hex(32)
    with os.fdopen(descriptor, "w") as file:
        file.write(key)
        file.flush()
        os.fsync(file.fileno())
    return key


def _read_secret_key(path: Path) -> str:
    """Read a key file, waiting briefly for a worker that created it but is still writing it."""
    for _ in range(50):
        key = path.read_text().strip()
        if key:
            break
        time.sleep(0.02)
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(
            f"{path} holds no usable key; delete it to have a new one made (sessions signed with "
            "the old key end), or set SECRET_KEY."
        )
    return key


def default_database_url(instance_path: str) -> str:
    """Return the embedded SQLite database in the instance folder."""
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(instance_path) / 'ocop-market.sqlite3'}"

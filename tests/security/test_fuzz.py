"""Schemathesis fuzzes every operation of our own OpenAPI document with every role's token.

Each operation is called in-process (WSGI) with generated valid and invalid requests, as an
anonymous caller, vendor A (who owns the seeded stall, so its ids are often hit), an official and
an administrator. Every response must: not be a 5xx; use a status code the document lists; match
the documented body schema and content type; refuse schema-violating requests; and, when it is an
error, have the one error shape ({code, status, message, reason, errors?}, code = the status).

The default run tries OCOP_FUZZ_EXAMPLES=5 examples per operation and role (about a minute on
SQLite); run longer on demand:

    OCOP_FUZZ_EXAMPLES=500 .venv/bin/python -m pytest tests/security/test_fuzz.py

The examples run are counted and printed at the end of the session (tests/security/conftest.py).
"""

import os
from collections.abc import Callable

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from market.app import create_app
from market.core.principals import Role
from tests.security.conftest import FUZZ_COUNTS
from tests.shop import Shop

EXAMPLES = int(os.environ.get("OCOP_FUZZ_EXAMPLES", "5"))
ERROR_KEYS = {"code", "status", "message", "reason"}

# The document does not depend on the database, so an app with an empty one serves it.
_spec_app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "fuzz"})
# Drawing charts and PDF reports takes seconds a call: no coverage phase (its systematic edge
# cases run to hundreds per operation), and a fifth of the random examples.
DRAWN = r"/reports/(charts|document)"
NO_COVERAGE = schemathesis.config.SchemathesisConfig.from_dict(
    {"phases": {"coverage": {"enabled": False}}}
)
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", _spec_app).exclude(path_regex=DRAWN)
drawings = schemathesis.openapi.from_wsgi(
    "/api/openapi.json", _spec_app, config=NO_COVERAGE
).include(path_regex=DRAWN)
_spec_app.extensions["database"].engine.dispose()
ROLES = [None, Role.VENDOR, Role.OFFICIAL, Role.ADMIN]


def one_error_shape(ctx: object, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Every 4xx and 5xx answers {code, status, message, reason, errors?} with code = status."""
    if response.status_code < 400:
        return
    body = response.json()
    assert isinstance(body, dict), f"error body is not an object: {body!r}"
    assert ERROR_KEYS <= body.keys() <= ERROR_KEYS | {"errors"}, sorted(body)
    assert body["code"] == response.status_code, (body["code"], response.status_code)
    assert body["message"], "an error must say what went wrong"


def settings_for(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def call_and_validate(case: schemathesis.Case, headers: dict[str, str], app: Flask) -> None:
    FUZZ_COUNTS[case.operation.label] += 1
    case.call_and_validate(
        headers=headers,
        app=app,
        additional_checks=[one_error_shape],
        # Rules beyond the schema answer 422 to schema-valid data by design: a commune or a bank
        # BIN that does not exist, a product group code, a whole number written 1.0 (strict).
        excluded_checks=[positive_data_acceptance],
    )


@pytest.fixture
def role_headers(
    role: Role | None, shop: Shop, auth: Callable[..., dict[str, str]]
) -> dict[str, str]:
    """Vendor A owns the seeded stall, so its ids are often the ones generated (1, 2...)."""
    if role is None:
        return {}
    return shop.headers if role is Role.VENDOR else auth(role)


@schema.parametrize()
@pytest.mark.parametrize("role", ROLES)
@settings_for(EXAMPLES)
def test_every_operation_with_every_role(
    case: schemathesis.Case, app: Flask, role_headers: dict[str, str]
) -> None:
    call_and_validate(case, role_headers, app)


@drawings.parametrize()
@pytest.mark.parametrize("role", ROLES)
@settings_for(max(1, EXAMPLES // 5))
def test_every_drawing_with_every_role(
    case: schemathesis.Case, app: Flask, role_headers: dict[str, str]
) -> None:
    call_and_validate(case, role_headers, app)

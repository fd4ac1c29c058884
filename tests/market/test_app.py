"""The app as a client meets it: configuration, probes, API docs and the one error shape."""

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask.views import MethodView

from market.core.access import ANYONE, allow, undeclared_write_endpoints
from market.core.principals import Role

ERROR_KEYS = {"code", "status", "message", "reason"}


def assert_error(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status
    assert response.is_json
    body = response.get_json()
    assert ERROR_KEYS <= body.keys()
    assert body["code"] == status
    assert body["message"]
    return body


def test_configuration_comes_from_defaults_then_environment_then_overrides(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, make_app: Callable[..., Flask]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite3'}")
    monkeypatch.setenv("SECRET_KEY", "from-environment")
    app = make_app({"SECRET_KEY": "from-override"})
    assert app.config["DATABASE_URL"].endswith("env.sqlite3")
    assert app.config["SECRET_KEY"] == "from-override"


def test_default_database_is_sqlite_in_the_instance_folder(
    monkeypatch: pytest.MonkeyPatch, make_app: Callable[..., Flask]
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = make_app()
    assert app.config["DATABASE_URL"] == f"sqlite:///{Path(app.instance_path)}/ocop-market.sqlite3"


def test_sqlite_runs_with_wal_and_foreign_keys(
    tmp_path: Path, make_app: Callable[..., Flask]
) -> None:
    app = make_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})
    with app.app_context():
        from market.core.extensions import db

        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_healthz_and_readyz_answer_on_a_migrated_database(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["status"] == "ready"


def test_readyz_refuses_a_database_that_is_not_migrated(
    tmp_path: Path, make_app: Callable[..., Flask]
) -> None:
    app = make_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"})
    body = assert_error(app.test_client().get("/readyz"), 503)
    assert body["reason"] == "migrations_pending"
    assert "ocop-market db upgrade" in body["message"]


def test_a_database_that_is_down_gives_503_not_500(make_app: Callable[..., Flask]) -> None:
    app = make_app({"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:9/none"})
    client = app.test_client()
    assert assert_error(client.get("/readyz"), 503)["reason"] == "database_unavailable"
    response = client.get("/api/v1/provinces")
    assert assert_error(response, 503)["reason"] == "database_unavailable"
    assert response.headers["Retry-After"]


def test_openapi_document_and_offline_docs_are_served(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").get_json()
    assert spec["info"]["title"] == "OCOP Market API"
    assert "/api/v1/communes" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert b"/api/docs/assets/swagger-ui-bundle.js" in docs.data
    asset = client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200
    asset.close()


def test_unknown_route_is_json_404(client: FlaskClient) -> None:
    assert_error(client.get("/api/v1/nothing-here"), 404)


def test_wrong_method_is_json_405_with_allow(client: FlaskClient) -> None:
    response = client.delete("/api/v1/provinces")
    assert_error(response, 405)
    assert "GET" in response.headers["Allow"]


def test_malformed_json_is_400_naming_the_body(client: FlaskClient, auth) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/users", data="{bad", content_type="application/json", headers=auth(Role.ADMIN)
    )
    assert assert_error(response, 400)["errors"] == {"json": ["Invalid JSON body."]}


def test_oversized_body_is_413(client: FlaskClient, auth) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/users",
        data="x" * (2 * 1024 * 1024),
        content_type="application/json",
        headers=auth(Role.ADMIN),
    )
    assert_error(response, 413)


def test_an_unexpected_exception_is_a_json_500_without_details(
    tmp_path: Path, make_app: Callable[..., Flask]
) -> None:
    app = make_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    body = assert_error(app.test_client().get("/boom"), 500)
    assert "secret" not in body["message"]


def test_every_write_endpoint_of_the_app_declares_its_roles(app: Flask) -> None:
    assert undeclared_write_endpoints(app) == []


def test_an_undeclared_write_endpoint_is_found() -> None:
    app = Flask(__name__)

    class Declared(MethodView):
        @allow(Role.ADMIN)
        def post(self) -> str:
            return ""

        def delete(self) -> str:
            return ""

    app.add_url_rule("/declared", view_func=Declared.as_view("declared"))
    app.add_url_rule("/open", "open", allow(ANYONE)(lambda: ""), methods=["POST"])
    app.add_url_rule("/bare", "bare", lambda: "", methods=["PUT"])
    app.add_url_rule("/read", "read", lambda: "")
    assert undeclared_write_endpoints(app) == ["DELETE /declared", "PUT /bare"]

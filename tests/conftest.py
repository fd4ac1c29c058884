"""Test harness: a database migrated once per run, one rolled-back transaction per test.

The database is SQLite in a temporary file, or the PostgreSQL named by OCOP_TEST_DATABASE_URL.
Slow tests run only with OCOP_RUN_SLOW=1 (CI sets it).
"""

import ipaddress
import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

from market import migrate
from market.accounts.services import create_user, issue_token
from market.app import create_app
from market.core.db import create_db_engine
from market.core.extensions import db
from market.core.principals import Role
from market.places.services import load_places
from tests import factories
from tests.settings import TEST_SECRETS
from tests.shop import shop  # noqa: F401  (a fixture)

TEST_DATABASE_URL = os.environ.get("OCOP_TEST_DATABASE_URL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("OCOP_RUN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set OCOP_RUN_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def loopback_only() -> Iterator[None]:
    """Refuse network connections beyond this machine, so no test depends on the internet."""
    original = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
                raise ConnectionRefusedError(f"tests may only connect to loopback, not {host}")
        return original(sock, address)

    socket.socket.connect = connect  # type: ignore[method-assign]
    yield
    socket.socket.connect = original  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return TEST_DATABASE_URL or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """Migrate an empty database with Alembic once, and load the reference places into it."""
    engine = create_db_engine(database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    with sessionmaker(engine).begin() as session:
        load_places(session)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def app(engine: Engine, database_url: str) -> Iterator[Flask]:
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, **TEST_SECRETS})
    yield app
    app.extensions["database"].engine.dispose()


@pytest.fixture
def make_app() -> Iterator[Callable[..., Flask]]:
    """Create apps with their own settings, and close their database pools afterwards."""
    made: list[Flask] = []

    def make(config: dict[str, Any] | None = None) -> Flask:
        made.append(create_app({"TESTING": True, **(config or {})}))
        return made[-1]

    yield make
    for app in made:
        app.extensions["database"].engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def session(app: Flask, connection: Connection) -> Iterator[Session]:
    """A session inside the test's transaction; the app's request sessions join it too."""
    factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    original = app.extensions["database"].sessionmaker
    db.bind_sessions(app, factory)
    session = factory()
    factories.bind(session)
    yield session
    factories.bind(None)
    session.close()
    db.bind_sessions(app, original)


@pytest.fixture
def client(app: Flask, session: Session) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def auth(session: Session) -> Callable[..., dict[str, str]]:
    """Return headers carrying a fresh token of a new account with the given role."""

    def headers(role: Role, name: str | None = None) -> dict[str, str]:
        user = create_user(session, name or f"{role.value} user", role)
        return {"Authorization": f"Bearer {issue_token(session, user).token}"}

    return headers

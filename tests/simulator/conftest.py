"""Simulator fixtures: a small Kim Đồng, and a real server in a thread for live mode."""

import re
import threading
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import make_server

from market.accounts.services import create_user, issue_token
from market.core.extensions import db
from market.core.principals import Role
from tests.settings import TEST_SECRETS


@pytest.fixture(scope="session")
def small_scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write Kim Đồng with 2 stalls of each category and 6 producers: 10 stalls, ~170 sales."""
    text = (
        resources.files("market.simulator")
        .joinpath("scenarios", "cao-bang-kim-dong.toml")
        .read_text("utf-8")
    )
    text = re.sub(r"^count = \d+$", "count = 2", text, flags=re.MULTILINE)
    text = re.sub(r"^producers = \d+$", "producers = 6", text, flags=re.MULTILINE)
    text = re.sub(r"^qr_boards = \d+$", "qr_boards = 2", text, flags=re.MULTILINE)
    path = tmp_path_factory.mktemp("scenarios") / "small-kim-dong.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def live_server(
    make_app: Callable[..., Flask], database_url: str, connection: Connection
) -> Iterator[str]:
    """Serve the app over HTTP on a free loopback port, in a thread, until the test ends.

    Its requests join the test's transaction, so what a live run writes is rolled back with the
    test. The server answers one request at a time: it and the test share one connection.
    """
    app = make_app({"DATABASE_URL": database_url, "CARD_GATEWAY": "fake", **TEST_SECRETS})
    db.bind_sessions(
        app,
        sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        ),
    )
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def admin_token(session: Session) -> str:
    """Return the token of a new administrator, as the live command creates one."""
    user = create_user(session, "Simulator (test)", Role.ADMIN)
    return issue_token(session, user).token

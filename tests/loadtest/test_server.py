"""The server a load test starts: serve's own defaults unless told, and Redis only when asked."""

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from loadtest.run import RunOptions, Server

URL = make_url("postgresql+psycopg://postgres@127.0.0.1:5432/ocop_load_x")


def test_the_server_runs_serves_default_threads_and_no_redis_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://elsewhere:6379/0")  # the caller's, not the run's
    server = Server(URL, "secret", RunOptions(output=tmp_path), tmp_path / "server.log")
    assert "--threads" not in server.command
    assert "REDIS_URL" not in server.env


def test_the_server_gets_the_threads_and_redis_it_is_given(tmp_path: Path) -> None:
    options = RunOptions(output=tmp_path, threads=200, redis_url="redis://127.0.0.1:6379/0")
    server = Server(URL, "secret", options, tmp_path / "server.log")
    assert server.command[server.command.index("--threads") + 1] == "200"
    assert server.env["REDIS_URL"] == "redis://127.0.0.1:6379/0"
    assert "+ Redis" in server.describe()

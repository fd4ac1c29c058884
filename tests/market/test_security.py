"""Security headers on every response, and secrets that come only from configuration."""

import multiprocessing
import re
import stat
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from market.config import (
    MIN_SECRET_KEY_LENGTH,
    SECRET_KEY_FILE,
    ConfigurationError,
    instance_secret_key,
    load_config,
)
from market.core.principals import Role

PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def test_every_response_carries_the_security_headers(client: FlaskClient) -> None:
    for response in (
        client.get("/api/v1/provinces"),
        client.get("/no/such/page"),  # errors too
        client.post("/api/v1/orders", json={}),
        client.get("/"),
    ):
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
        assert headers["Content-Security-Policy"] == PAGE_POLICY
        assert "Strict-Transport-Security" not in headers  # plain HTTP: a browser would ignore it


def test_https_responses_ask_browsers_to_stay_on_https(client: FlaskClient) -> None:
    response = client.get("/api/v1/provinces", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_authenticated_responses_are_not_stored_by_caches(
    client: FlaskClient, auth: Callable[..., dict[str, str]]
) -> None:
    signed_in = client.get("/api/v1/me", headers=auth(Role.VENDOR))
    assert signed_in.status_code == 200
    assert signed_in.headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/api/v1/provinces").headers.get("Cache-Control", "")


def test_swagger_ui_loads_only_what_its_policy_allows(client: FlaskClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    html = page.get_data(as_text=True)
    # Its scripts and styles come from this server (no CDN), besides one inline configuration.
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert sources and all(source.startswith("/api/docs/assets/") for source in sources)
    assert len(re.findall(r"<script>", html)) == 1 and "script-src 'self' 'unsafe-inline'" in policy
    for source in sources:
        with client.get(source) as asset:
            assert asset.status_code == 200
            assert asset.headers["X-Content-Type-Options"] == "nosniff"


def test_without_a_secret_key_one_is_kept_private_in_the_instance_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_config(str(tmp_path))["SECRET_KEY"]
    key_file = tmp_path / SECRET_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) >= MIN_SECRET_KEY_LENGTH
    # A restart signs with the same key, so signed-in pages stay signed in.
    assert load_config(str(tmp_path))["SECRET_KEY"] == first


def test_workers_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        keys = set(pool.map(instance_secret_key, [str(tmp_path)] * 8))
    assert keys == {(tmp_path / SECRET_KEY_FILE).read_text()}


@pytest.mark.parametrize("key", ["secret", "x" * (MIN_SECRET_KEY_LENGTH - 1)])
def test_a_short_secret_key_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key: str
) -> None:
    monkeypatch.setenv("SECRET_KEY", key)
    with pytest.raises(ConfigurationError, match=f"SECRET_KEY is {len(key)} characters long"):
        load_config(str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "k" * MIN_SECRET_KEY_LENGTH)
    assert load_config(str(tmp_path))["SECRET_KEY"] == "k" * MIN_SECRET_KEY_LENGTH
    assert not (tmp_path / SECRET_KEY_FILE).exists()


def test_an_emptied_key_file_is_refused_not_trusted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    (tmp_path / SECRET_KEY_FILE).write_text("")
    with pytest.raises(ConfigurationError, match="holds no usable key"):
        load_config(str(tmp_path))

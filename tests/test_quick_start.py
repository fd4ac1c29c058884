"""README's first command, `ocop-market demo`, serving on 127.0.0.1 as a new user would see it."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


@pytest.mark.slow
def test_demo_migrates_loads_and_serves_the_api_and_docs(tmp_path: Path) -> None:
    port = free_port()
    # The console script installed beside this interpreter, as README's command runs it.
    command = shutil.which("ocop-market", path=str(Path(sys.executable).parent))
    assert command, "the ocop-market console script is not installed"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}
    server = subprocess.Popen(
        [command, "demo", "--port", str(port), "--simulate-days", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if get(f"{base}/readyz")[0] == 200:
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        assert get(f"{base}/healthz") == (200, b'{"status":"ok"}\n')
        assert b"swagger-ui" in get(f"{base}/api/docs")[1]
        assert b"Th\\u1ee5c Ph\\u00e1n" in get(f"{base}/api/v1/communes/01273")[1]
        point = json.loads(get(f"{base}/api/v1/markets?q=ocop+thuc+phan")[1])["items"][0]
        listings = json.loads(get(f"{base}/api/v1/listings?market={point['id']}")[1])
        assert {item["title"] for item in listings["items"]} >= {"Nước mía"}
        (street,) = json.loads(get(f"{base}/api/v1/markets?q=kim+dong")[1])["items"]
        assert street["simulated"] is True
        stalls = json.loads(get(f"{base}/api/v1/markets/{street['id']}/stalls")[1])
        assert stalls["total"] == 70
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert "demo accounts" in output
    assert "official" in output and "ocop_" in output

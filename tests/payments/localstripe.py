"""Run localstripe on 127.0.0.1 with its store in memory, as a child process of the tests.

The `localstripe` command binds every interface and pickles its store to /tmp/localstripe.pickle
on every write. Run as `python -m tests.payments.localstripe` from the repository root, this module
instead serves localstripe's aiohttp app on a free loopback port, announces that port on its first
line of output, and never touches the disk. `start_localstripe` does that and waits for an answer.
It also lets localstripe accept the one parameter name that differs between its API version and
the one stripe 16 pins (see `serve`).
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
READY_PREFIX = "localstripe listening on port "


@dataclass
class LocalStripe:
    """A running localstripe child process and its base address."""

    process: subprocess.Popen[str]
    url: str

    def reset(self) -> None:
        """Empty localstripe's store."""
        request = urllib.request.Request(f"{self.url}/_config/data", method="DELETE")
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()

    def stop(self) -> None:
        """Stop the child process."""
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def start_localstripe(timeout: float = 15.0) -> LocalStripe:
    """Start localstripe in a child process and return once it answers HTTP requests."""
    if importlib.util.find_spec("localstripe") is None:
        raise RuntimeError(
            "localstripe, a dev dependency, is not installed (pip install localstripe==1.15.10)"
        )
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.payments.localstripe"],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    first_line = process.stdout.readline()
    if not first_line.startswith(READY_PREFIX):
        process.kill()
        _, stderr = process.communicate(timeout=5)
        raise RuntimeError(f"localstripe did not start: {first_line!r}\n{stderr}")
    server = LocalStripe(process, f"http://127.0.0.1:{int(first_line[len(READY_PREFIX) :])}")
    deadline = time.monotonic() + timeout
    while True:
        try:
            server.reset()
            return server
        except (urllib.error.URLError, ConnectionError) as error:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"localstripe does not answer at {server.url}") from error
            time.sleep(0.05)


def serve() -> None:
    """Serve localstripe on a free 127.0.0.1 port with an in-memory store (runs in the child)."""
    from aiohttp import web
    from localstripe import resources, server

    # The store pickles itself on every write and the server loads it back at start:
    # keep it in memory so runs neither share state nor pay for the disk.
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]

    # localstripe speaks an API version older than the one stripe 16 pins, which replaced
    # `payment_method_types` on PaymentIntent creation with `allowed_payment_method_types`.
    create_intent = resources.PaymentIntent.__init__

    def accept_allowed_types(self: Any, *args: Any, **kwargs: Any) -> None:
        if "allowed_payment_method_types" in kwargs:
            kwargs["payment_method_types"] = kwargs.pop("allowed_payment_method_types")
        create_intent(self, *args, **kwargs)

    resources.PaymentIntent.__init__ = accept_allowed_types  # type: ignore[method-assign]

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    print(f"{READY_PREFIX}{sock.getsockname()[1]}", flush=True)
    # Stdout is a pipe nobody drains after the first line: print nothing more there.
    web.run_app(server.app, sock=sock, print=None, access_log=None)


if __name__ == "__main__":
    serve()

"""Fixtures for the card gateway tests: a localstripe server for the whole run, emptied per test."""

from collections.abc import Iterator

import pytest

from tests.payments.localstripe import LocalStripe, start_localstripe


@pytest.fixture(scope="session")
def localstripe_server() -> Iterator[LocalStripe]:
    """Run localstripe on loopback for the session; fail, never skip, when it cannot start."""
    try:
        server = start_localstripe()
    except RuntimeError as error:
        pytest.fail(f"cannot start localstripe (a dev dependency): {error}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def localstripe_url(localstripe_server: LocalStripe) -> str:
    """Return the base address of the session's localstripe."""
    return localstripe_server.url


@pytest.fixture
def localstripe(localstripe_server: LocalStripe) -> str:
    """Empty localstripe's store and return its base address."""
    localstripe_server.reset()
    return localstripe_server.url

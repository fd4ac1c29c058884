"""Shared helpers for catalog tests."""

from collections.abc import Callable

import pytest

from market.core.access import Role


@pytest.fixture
def admin(auth: Callable[..., dict[str, str]]) -> dict[str, str]:
    """Headers of an administrator."""
    return auth(Role.ADMIN)

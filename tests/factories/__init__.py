"""factory_boy factories, one module per domain, writing through the current test's session."""

from sqlalchemy.orm import Session

_current: list[Session | None] = [None]


def bind(session: Session | None) -> None:
    """Make the factories write into `session` (the conftest binds each test's session)."""
    _current[0] = session


def current_session() -> Session:
    session = _current[0]
    if session is None:
        raise RuntimeError("factories used outside a test with the `session` fixture")
    return session

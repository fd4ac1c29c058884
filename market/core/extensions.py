"""Flask extensions, created unbound and bound to an app by `init_app`."""

from dataclasses import dataclass

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from market.core.db import create_db_engine


@dataclass
class DatabaseState:
    engine: Engine
    sessionmaker: sessionmaker[Session]


class Database:
    """Binds an engine to the app and hands each app context one session, closed at teardown."""

    def init_app(self, app: Flask) -> None:
        engine = create_db_engine(app.config["DATABASE_URL"], echo=app.config["DATABASE_ECHO"])
        app.extensions["database"] = DatabaseState(
            engine, sessionmaker(engine, expire_on_commit=False)
        )
        app.teardown_appcontext(self._close_session)

    @property
    def state(self) -> DatabaseState:
        return current_app.extensions["database"]

    @property
    def engine(self) -> Engine:
        return self.state.engine

    @property
    def session(self) -> Session:
        """Return the session of the current app context, opening it on first use."""
        if "db_session" not in g:
            g.db_session = self.state.sessionmaker()
        return g.db_session

    def open_session(self) -> Session | None:
        """Return the current app context's session if one was opened, without opening one."""
        return g.get("db_session")

    def bind_sessions(self, app: Flask, factory: sessionmaker[Session]) -> None:
        """Make the app's sessions come from `factory` (tests: one rolled-back connection)."""
        app.extensions["database"].sessionmaker = factory

    @staticmethod
    def _close_session(exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


db = Database()

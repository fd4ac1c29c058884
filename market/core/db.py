"""Declarative base, column types and engine set-up shared by every package; no Flask here."""

import json
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    DateTime,
    Engine,
    Enum,
    MetaData,
    Select,
    Table,
    bindparam,
    cast,
    create_engine,
    event,
    func,
    inspect,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.sql import FromClause
from sqlalchemy.types import TypeDecorator

from market.core.errors import Conflict, NotFound

Row = TypeVar("Row")

RECYCLE_SECONDS = 1800

# Stable constraint names keep Alembic autogenerate and SQLite batch migrations deterministic.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every mapped model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return _aware(value).astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _aware(value: datetime) -> datetime:
    """Refuse a naive datetime: the database would read it in a zone of its own choosing."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime (UTC) to the database")
    return value


def enum_column(enum: type[StrEnum], name: str) -> Enum:
    """Store a StrEnum by value as a checked string, portable across SQLite and PostgreSQL."""
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda members: [member.value for member in members],
    )


def get_or_404(
    session: Session, model: type[Row], key: Any, noun: str, field: str, hint: str = "", **kw: Any
) -> Row:
    """Return the row of `model` with primary key `key`, or raise NotFound naming the path field."""
    row = session.get(model, key, **kw)
    if row is None:
        raise NotFound(f"There is no {noun} {key}.{hint}", field=field, location="path")
    return row


def flush_unique(session: Session, message: str, field: str) -> None:
    """Flush in a savepoint; a unique violation becomes a Conflict on `field`, race-safe."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:
        raise Conflict(message, field=field) from error


def dialect_of(session: Session) -> str:
    """Return the name of the session's database dialect: "postgresql" or "sqlite"."""
    return session.get_bind().dialect.name


def table_of(model: type[Base]) -> Table:
    """Return the Table a model is mapped to (SQLAlchemy types `__table__` as any FromClause)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def insert_for(dialect: str) -> Callable[[Table], Any]:
    """Return the dialect's INSERT, the one that knows ON CONFLICT."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def rows_of_json(
    table: Table, names: Sequence[str], param: str, given: Mapping[str, Any] | None = None
) -> Select[Any]:
    """SELECT rows of `table`'s columns `names` from `param`, a JSON array of objects (PostgreSQL).

    PostgreSQL reads each object as a row of `table` (json_populate_recordset), so every value
    takes its column's type; `as_json` makes the parameter. Columns in `given` take its
    expression instead, such as the id that an INSERT earlier in the same statement returned:
    one statement can then write rows that refer to each other, with a parameter per table.
    """
    given = given or {}
    rows = (
        func.json_populate_recordset(
            literal_column(f"NULL::{table.name}"), cast(bindparam(param), JSON)
        )
        .table_valued(*table.c.keys())
        .alias(f"{param}_rows")
    )
    source: FromClause = rows
    for written in {expression.table for expression in given.values()}:
        source = source.join(written, true())  # one row written before: no condition needed
    return select(*[given[name] if name in given else rows.c[name] for name in names]).select_from(
        source
    )


def insert_json(
    table: Table,
    param: str | None = None,
    given: Mapping[str, Any] | None = None,
    only_if: Any = None,
) -> Any:
    """Return PostgreSQL's INSERT into `table` of the rows of a JSON parameter (`rows_of_json`).

    The parameter is named after the table unless `param` names it; the id is left to the
    table. `only_if` is a condition for writing any row at all, such as that an INSERT earlier
    in the same statement wrote one.
    """
    names = [name for name in table.c.keys() if name != "id"]
    rows = rows_of_json(table, names, param or table.name, given)
    if only_if is not None:
        rows = rows.where(only_if)
    return postgresql.insert(table).from_select(names, rows)


def as_json(rows: Sequence[Mapping[str, Any]]) -> str:
    """Return `rows` as the JSON parameter of `rows_of_json`."""
    return json.dumps(rows, default=_json_value, separators=(",", ":"))


def _json_value(value: Any) -> str:
    if isinstance(value, datetime):
        return _aware(value).isoformat()  # with its offset: PostgreSQL reads the same moment
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} has no JSON form for the database")


def attach_inserted(session: Session, model: type[Row], values: Mapping[str, Any]) -> Row:
    """Put an object whose row a Core INSERT just wrote into `session`, as if loaded from it.

    `values` holds every column, the primary key included; relationships left unset load
    lazily. SQLAlchemy documents this (make_transient_to_detached) for making a persistent
    object without SQL: here it spares checkout and the bank webhook a flush per object. The
    object is filled as SQLAlchemy's loader fills one, not through its constructor: a third
    of the cost.
    """
    mapper = inspect(model)
    if stray := mapper.column_attrs.keys() ^ values.keys():  # unset ones would cost a SELECT
        raise ValueError(f"{model.__name__} columns unset or unknown: {', '.join(sorted(stray))}")
    row = mapper.class_manager.new_instance()
    instance_state(row).dict.update(values)
    make_transient_to_detached(row)
    session.add(row)
    return row


class DriverStatement:
    """A PostgreSQL statement SQLAlchemy compiles once, run on the driver's cursor each time.

    For the few hottest statements: per execution, SQLAlchemy's parameter processing and
    result set-up cost more than PostgreSQL takes to run them (a one-row SELECT: 0.16 ms of
    CPU through the session, 0.07 on the cursor). Parameters reach psycopg as they are, so
    they must be values it takes, with no expanding IN (use `= ANY`); rows come back as named
    tuples of values that the columns' types have read, as SQLAlchemy's. The session flushes
    first, as it does before its own statements; errors are wrapped as SQLAlchemy wraps them,
    and a lost connection retires the pool's older ones as SQLAlchemy does.
    """

    def __init__(self, statement: Select[Any]) -> None:
        self._statement = statement
        self._row: Any = namedtuple("Row", statement.selected_columns.keys())  # type: ignore[misc]
        self._sql: str | None = None
        self._literals: dict[str, Any] = {}  # the values the statement itself binds
        self._readers: list[Callable[[Any], Any] | None] = []

    def rows(self, session: Session, parameters: Mapping[str, Any]) -> list[Any]:
        """Run the statement in the session's transaction and return all its rows."""
        if session.autoflush:  # the statement must see the session's unsaved changes
            session.flush()
        connection = session.connection()
        if self._sql is None:
            self._compile(connection.dialect)
        parameters = {**self._literals, **parameters}
        driver = connection.connection.driver_connection  # psycopg's own connection
        assert driver is not None, "a connection in use holds its driver's"
        cursor = None
        try:
            cursor = driver.cursor()
            cursor.execute(self._sql, parameters)
            return [self._read(row) for row in cursor.fetchall()]
        except connection.dialect.loaded_dbapi.Error as error:
            lost = connection.dialect.is_disconnect(error, connection.connection, cursor)
            if lost:  # the database restarted, say: none of the pool's connections is good
                connection.invalidate(error)
                connection.engine.dispose()  # in-flight ones close when checked in
            raise DBAPIError.instance(
                self._sql,
                parameters,
                error,
                connection.dialect.loaded_dbapi.Error,
                connection_invalidated=lost,
                dialect=connection.dialect,
            ) from error
        finally:
            if cursor is not None:
                cursor.close()

    def _compile(self, dialect: Dialect) -> None:
        compiled = self._statement.compile(dialect=dialect)
        self._literals = {
            name: bind.effective_value
            for bind, name in compiled.bind_names.items()
            if not bind.required
        }
        self._readers = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in self._statement.selected_columns
        ]
        self._sql = str(compiled)  # last: once it is set, other threads use the rest

    def _read(self, row: tuple[Any, ...]) -> Any:
        return self._row._make(
            value if read is None or value is None else read(value)
            for read, value in zip(self._readers, row, strict=True)
        )


def attach_loaded(session: Session, model: type[Row], values: Mapping[str, Any]) -> Row:
    """Return the object of a row just read, as the ORM loads one with populate_existing.

    The session's own object for that row takes the values; otherwise a new one is attached.
    """
    mapper = inspect(model)
    primary_key = tuple(values[column.key] for column in mapper.primary_key)
    held = session.identity_map.get(mapper.identity_key_from_primary_key(primary_key))
    if held is None:
        return attach_inserted(session, model, values)
    for name, value in values.items():
        set_committed_value(held, name, value)
    return held


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def create_db_engine(url: str, echo: bool = False, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and real transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # No pre-ping: it costs a round trip per request. After a database restart only the
        # requests that meet a dead connection fail (SQLAlchemy then replaces the pool's older
        # ones); recycling bounds a connection's age for servers and firewalls that drop idle ones.
        return create_engine(parsed, echo=echo, pool_recycle=RECYCLE_SECONDS, **kwargs)
    engine = create_engine(
        parsed, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
    )
    in_memory = parsed.database in (None, "", ":memory:")

    @event.listens_for(engine, "connect")
    def configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
        # pysqlite's own transaction handling breaks SAVEPOINT; SQLAlchemy documents taking it over.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin_sqlite(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front, so concurrent writers wait (busy_timeout)
        # instead of failing when a read lock cannot be upgraded. A connection that only reads
        # can ask for execution_options(sqlite_begin="DEFERRED").
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine

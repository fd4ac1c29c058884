"""Write many payments at once: the simulator's fast mode, under the rules of payments.intents.

A `BulkLedger` keeps a chunk's intents in memory and moves them with the same state machine
(`intents.check_transition` and `apply_event`) and the same ledger and roll-up rules as
`intents.record`; `flush` then writes the chunk in its caller's transaction: intents, events,
ledger rows and bank notifications with PostgreSQL COPY (executemany on SQLite), intents opened
in an earlier chunk with one UPDATE, and the roll-ups as one aggregated upsert per key.

Ids come from the tables' own sequences, drawn ahead in blocks, so the rows can refer to each
other before they are written; ledger rows and notifications, which nothing refers to, take
theirs from the column default. Public
ids and references derive from the run's key and the sale's number, so a run writes the same
ones whatever else the database holds. SQLite has one writer at a time: there, ids follow the
largest in the table, and the bulk writer must be that writer.
"""

import hashlib
import heapq
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any, cast

import psycopg
from sqlalchemy import JSON, Boolean, Date, Table, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from market.core.clock import vietnam_date
from market.core.db import UTCDateTime, dialect_of, table_of
from market.core.ids import public_id
from payments.bank_formats import BankTransfer, find_reference
from payments.cards import check_chargeable
from payments.errors import GatewayUnavailable
from payments.gateways.card import CardGateway, CardGatewayError, ChargeStatus
from payments.intents import (
    BODY_BITS,
    CLOSED_WITHOUT_MONEY,
    DEFAULT_TTL,
    Sale,
    apply_event,
    check_method_amount,
    check_transition,
    qr_payload,
    spell_reference,
)
from payments.models import (
    BankNotification,
    EventKind,
    LedgerEntry,
    LedgerKind,
    MatchStatus,
    PaymentEvent,
    PaymentIntent,
    PaymentMethod,
    PaymentStatus,
)
from payments.rollups import Place, Totals, write_totals

ID_BLOCK = 10_000  # ids drawn from a sequence at a time
BODY_MASK = (1 << BODY_BITS) - 1
BUCKET_SALES = 1 << 16  # a run's references change bucket every 65,536 sales

INTENT_COLUMNS = (
    "id",
    "public_id",
    "order_id",
    "method",
    "status",
    "amount_vnd",
    "received_vnd",
    "refunded_vnd",
    "reference",
    "payee_bin",
    "payee_account",
    "qr_payload",
    "expires_at",
    "attention",
    "vendor_id",
    "stall_id",
    "market_id",
    "commune_code",
    "province_code",
    "is_ocop",
    "created_at",
    "updated_at",
)
EVENT_COLUMNS = (
    "id",
    "intent_id",
    "kind",
    "amount_vnd",
    "source",
    "dedupe_key",
    "details",
    "occurred_at",
    "recorded_at",
)
LEDGER_COLUMNS = (
    "event_id",
    "intent_id",
    "kind",
    "method",
    "amount_vnd",
    "vendor_id",
    "stall_id",
    "market_id",
    "commune_code",
    "province_code",
    "is_ocop",
    "is_late",
    "occurred_at",
    "local_date",
)
NOTIFICATION_COLUMNS = (
    "provider",
    "transaction_id",
    "account_number",
    "amount_vnd",
    "memo",
    "occurred_at",
    "match",
    "intent_id",
    "received_at",
)
_intents, _events = table_of(PaymentIntent), table_of(PaymentEvent)
_ledger, _notifications = table_of(LedgerEntry), table_of(BankNotification)
# An intent opened in an earlier chunk and moved in this one.
UPDATE_INTENT = (
    update(_intents)
    .where(_intents.c.id == bindparam("intent_id"))
    .values(
        status=bindparam("status"),
        received_vnd=bindparam("received_vnd"),
        attention=bindparam("attention"),
        updated_at=bindparam("updated_at"),
    )
)


def _check_columns(table: Table, columns: Sequence[str], defaulted: Sequence[str] = ()) -> None:
    """Fail at import if a table gains a column this writer does not fill."""
    missing = set(table.c.keys()) - set(columns) - set(defaulted)
    assert not missing, f"payments.bulk does not write {table.name}.{', '.join(sorted(missing))}"


_check_columns(_intents, INTENT_COLUMNS)
_check_columns(_events, EVENT_COLUMNS)
_check_columns(_ledger, LEDGER_COLUMNS, ("id",))
_check_columns(_notifications, NOTIFICATION_COLUMNS, ("id",))


def write_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert `rows` (tuples in `columns` order): COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    if dialect_of(session) == "postgresql":
        connection = cast(psycopg.Connection[Any], session.connection().connection.dbapi_connection)
        names = ", ".join(columns)
        # Binary: measured against text, a third of Python's time per row and half the server's.
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(_postgresql_types(table, tuple(columns)))
            for row in rows:
                copy.write_row(row)
    else:
        # SQLAlchemy's bind processing would cost more than SQLite's insert: convert once here.
        converters = _sqlite_converters(table, tuple(columns))
        marks = ", ".join("?" * len(columns))
        raw = session.connection().connection.dbapi_connection
        assert raw is not None
        raw.cursor().executemany(
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})",
            [
                [
                    value if convert is None or value is None else convert(value)
                    for convert, value in zip(converters, row, strict=True)
                ]
                for row in rows
            ],
        )


@cache
def _postgresql_types(table: Table, columns: tuple[str, ...]) -> list[str]:
    """Return the PostgreSQL type names of `columns` (varchar(32) as varchar), for binary COPY."""
    dialect = postgresql.dialect()
    return [
        re.sub(r"\(.*\)", "", table.c[name].type.compile(dialect=dialect)).lower()
        for name in columns
    ]


def _sqlite_time(moment: datetime) -> str:
    """Return a moment as SQLAlchemy stores UTCDateTime on SQLite: naive UTC text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


@cache
def _sqlite_converters(table: Table, columns: tuple[str, ...]) -> list[Callable[[Any], Any] | None]:
    """Return per column what turns a Python value into what SQLAlchemy stores on SQLite."""
    converters: list[Callable[[Any], Any] | None] = []
    for name in columns:
        kind = table.c[name].type
        if isinstance(kind, UTCDateTime):
            converters.append(_sqlite_time)
        elif isinstance(kind, Date):
            converters.append(date.isoformat)
        elif isinstance(kind, JSON):
            converters.append(json.dumps)
        elif isinstance(kind, Boolean):
            converters.append(int)
        else:
            converters.append(None)
    return converters


class IdPool:
    """Ids of one table drawn from its sequence ahead of the rows that will carry them."""

    def __init__(self, session: Session, table: Table, block: int = ID_BLOCK) -> None:
        self.session, self.table, self.block = session, table, block
        self._ids: list[int] = []
        self._last = 0
        self._sequence: str | None = None

    def take(self) -> int:
        """Return an id no other row has or will get."""
        if not self._ids:
            self._ids = self._draw()[::-1]
        return self._ids.pop()

    def _draw(self) -> list[int]:
        if dialect_of(self.session) == "postgresql":
            if self._sequence is None:  # found once: per id, finding it cost 6 times nextval
                self._sequence = self.session.execute(
                    text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": self.table.name}
                ).scalar_one()
            statement = text(
                "SELECT array_agg(nextval(CAST(:sequence AS regclass))) FROM generate_series(1, :n)"
            )
            params = {"sequence": self._sequence, "n": self.block}
            return sorted(self.session.execute(statement, params).scalar_one())
        # SQLite gives a new row the largest id plus one: follow it, and our own last draw.
        largest = self.session.execute(select(func.max(self.table.c.id))).scalar() or 0
        first = max(largest, self._last) + 1
        self._last = first + self.block - 1
        return list(range(first, self._last + 1))


class References:
    """Payment references and public ids for a run's sales, by sale number.

    A reference's body is a keyed permutation of the sale's number in its 30 bits, so one run
    never repeats one below 2^30 sales; its bucket moves on every BUCKET_SALES sales, so that
    consecutive sales' references land together in the unique index, as a day's do online.
    Those another run already wrote are redrawn, a block at a time.
    """

    def __init__(self, session: Session, run: str, block: int = ID_BLOCK) -> None:
        self.session, self.run, self.block = session, run, block
        key = hashlib.blake2b(run.encode(), digest_size=16).digest()
        self._add = int.from_bytes(key[:4]) & BODY_MASK
        self._multiply = (int.from_bytes(key[4:8]) | 1) & BODY_MASK
        self._again = (int.from_bytes(key[8:12]) | 1) & BODY_MASK
        self._first_bucket = int.from_bytes(key[12:14])
        self._drawn: dict[int, str] = {}

    def reference(self, number: int) -> str:
        """Return the reference of the run's sale `number`."""
        if number not in self._drawn:
            self._draw_block(number)
        return self._drawn.pop(number)

    def public_ids(self, number: int, now: datetime) -> tuple[str, str]:
        """Return the opaque public ids of a sale's order and payment (ord_…, pay_…)."""
        digest = hashlib.blake2b(f"{self.run}/{number}".encode(), digest_size=24).digest()
        return public_id("ord_", now, digest[:12]), public_id("pay_", now, digest[12:])

    def _draw_block(self, number: int) -> None:
        numbers = range(number, number + self.block)
        drawn = {n: self._permuted(n) for n in numbers}
        taken = self._taken(drawn.values())
        for n in numbers:
            attempt = 0
            while drawn[n] in taken:  # written by another run: draw from its hash instead
                attempt += 1
                digest = hashlib.blake2b(f"{self.run}/{n}/{attempt}".encode(), digest_size=4)
                drawn[n] = spell_reference(self._bucket(n), int.from_bytes(digest.digest()))
                taken = taken | self._taken([drawn[n]])
        self._drawn.update(drawn)

    def _bucket(self, number: int) -> int:
        return self._first_bucket + number // BUCKET_SALES

    def _permuted(self, number: int) -> str:
        value = (number * self._multiply + self._add) & BODY_MASK
        value ^= value >> 15
        value = (value * self._again) & BODY_MASK
        value ^= value >> 15
        return spell_reference(self._bucket(number), value)

    def _taken(self, references: Iterable[str]) -> set[str]:
        wanted = list(references)
        query: Any
        if dialect_of(self.session) == "postgresql":  # one array, not thousands of parameters
            query = text("SELECT reference FROM payment_intents WHERE reference = ANY(:wanted)")
        else:
            query = select(_intents.c.reference).where(_intents.c.reference.in_(wanted))
        return set(self.session.execute(query, {"wanted": wanted}).scalars())


@cache
def _place(
    stall_id: int, vendor_id: int, market_id: int, commune_code: str, province_code: str
) -> Place:
    """Return the one Place of a stall: building one costs more than finding it."""
    return Place(stall_id, vendor_id, market_id, commune_code, province_code)


class BulkIntent:
    """An intent as the bulk writer holds it; `apply_event` moves it like a PaymentIntent."""

    __slots__ = (
        "id",
        "public_id",
        "order_id",
        "method",
        "status",
        "amount_vnd",
        "received_vnd",
        "refunded_vnd",
        "reference",
        "payee_bin",
        "payee_account",
        "qr_payload",
        "expires_at",
        "attention",
        "place",
        "is_ocop",
        "created_at",
        "updated_at",
        "written",
    )

    def __init__(
        self,
        id: int,
        public_id: str,
        sale: Sale,
        method: PaymentMethod,
        reference: str,
        expires_at: datetime | None,
        now: datetime,
    ) -> None:
        self.id, self.public_id, self.order_id = id, public_id, sale.order_id
        self.method, self.status = method, PaymentStatus.PENDING
        self.amount_vnd, self.received_vnd, self.refunded_vnd = sale.amount_vnd, 0, 0
        self.reference = reference
        self.payee_bin, self.payee_account = sale.payee_bin, sale.payee_account
        self.qr_payload = qr_payload(sale, method, reference)
        self.expires_at: datetime | None = expires_at
        self.attention: str | None = None
        self.place = _place(
            sale.stall_id, sale.vendor_id, sale.market_id, sale.commune_code, sale.province_code
        )
        self.is_ocop = sale.is_ocop
        self.created_at = self.updated_at = now
        self.written = False  # inserted by an earlier flush: later changes are UPDATEs

    def row(self) -> tuple[Any, ...]:
        place = self.place
        return (
            self.id,
            self.public_id,
            self.order_id,
            self.method.value,
            self.status.value,
            self.amount_vnd,
            self.received_vnd,
            self.refunded_vnd,
            self.reference,
            self.payee_bin,
            self.payee_account,
            self.qr_payload,
            self.expires_at,
            self.attention,
            place.vendor_id,
            place.stall_id,
            place.market_id,
            place.commune_code,
            place.province_code,
            self.is_ocop,
            self.created_at,
            self.updated_at,
        )


class BulkLedger:
    """Open, pay, decline and expire many intents in memory; write them a chunk at a time.

    Timestamps are the simulated moments: an event is recorded when it occurs, a notification
    received when the transfer happens, so the same run writes the same rows.
    """

    def __init__(self, session: Session, run: str) -> None:
        self.session = session
        self._created = {method: {"method": method.value} for method in PaymentMethod}
        self.references = References(session, run)
        self._intent_ids = IdPool(session, _intents)
        self._event_ids = IdPool(session, _events)
        self._opened: list[BulkIntent] = []  # opened in this chunk
        self._moved: dict[int, BulkIntent] = {}  # opened earlier, changed in this chunk
        self._events: list[tuple[Any, ...]] = []
        self._ledger: list[tuple[Any, ...]] = []
        self._notifications: list[tuple[Any, ...]] = []
        self._totals = Totals()
        self._waiting: list[tuple[datetime, int, BulkIntent]] = []  # pending, by expiry

    def open_intent(
        self,
        sale: Sale,
        method: PaymentMethod,
        number: int,
        public_id: str,
        now: datetime,
        ttl: timedelta = DEFAULT_TTL,
    ) -> BulkIntent:
        """Open the intent that collects the run's sale `number`, as intents.open_intent does."""
        check_method_amount(method, sale.amount_vnd)
        refs = self.references
        intent = BulkIntent(
            self._intent_ids.take(),
            public_id,
            sale,
            method,
            refs.reference(number),
            None if method == PaymentMethod.CASH else now + ttl,
            now,
        )
        self._opened.append(intent)
        self._events.append(
            (
                self._event_ids.take(),
                intent.id,
                EventKind.CREATED.value,
                0,
                "checkout",
                None,
                self._created[method],
                now,
                now,
            )
        )
        if intent.expires_at is not None:
            heapq.heappush(self._waiting, (intent.expires_at, intent.id, intent))
        if method == PaymentMethod.VIETQR:
            self._totals.add(intent.place, vietnam_date(now), method, {"qr_issued": 1})
        return intent

    def record(
        self,
        intent: BulkIntent,
        kind: EventKind,
        amount_vnd: int,
        source: str,
        dedupe_key: str | None,
        occurred_at: datetime,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Record an event on `intent`, with its ledger row and roll-ups, as intents.record does.

        A refused transition raises and changes nothing. Dedupe keys are the run's own, new
        by construction; the database's unique index still refuses a repeat, failing the chunk.
        """
        check_transition(intent, kind, amount_vnd)
        late = intent.status in CLOSED_WITHOUT_MONEY
        ledger_kind = apply_event(intent, kind, amount_vnd)
        intent.updated_at = occurred_at
        if intent.written:
            self._moved[intent.id] = intent
        event_id = self._event_ids.take()
        self._events.append(
            (
                event_id,
                intent.id,
                kind.value,
                amount_vnd,
                source,
                dedupe_key,
                details or {},
                occurred_at,
                occurred_at,
            )
        )
        if ledger_kind is None:
            if kind == EventKind.EXPIRED and intent.method == PaymentMethod.VIETQR:
                local = vietnam_date(intent.created_at)
                self._totals.add(intent.place, local, intent.method, {"qr_expired": 1})
            return
        local_date = vietnam_date(occurred_at)
        place, payment = intent.place, ledger_kind == LedgerKind.PAYMENT
        self._ledger.append(
            (
                event_id,
                intent.id,
                ledger_kind.value,
                intent.method.value,
                amount_vnd if payment else -amount_vnd,
                place.vendor_id,
                place.stall_id,
                place.market_id,
                place.commune_code,
                place.province_code,
                intent.is_ocop,
                late,
                occurred_at,
                local_date,
            )
        )
        ocop = intent.is_ocop
        if payment:
            counts = {
                "payments": 1,
                "paid_vnd": amount_vnd,
                "late_payments": int(late),
                "ocop_payments": int(ocop),
                "ocop_paid_vnd": amount_vnd if ocop else 0,
            }
        else:
            counts = {
                "refunds": 1,
                "refunded_vnd": amount_vnd,
                "ocop_refunded_vnd": amount_vnd if ocop else 0,
            }
        self._totals.add(place, local_date, intent.method, counts)

    def settle_transfer(self, transfer: BankTransfer, intent: BulkIntent) -> MatchStatus:
        """Store a bank notification and count it towards `intent` if it pays it, like
        transfers.settle_transfer; return how it matched."""
        if not transfer.incoming:
            match = MatchStatus.OUTGOING
        elif find_reference(transfer) != intent.reference:
            match = MatchStatus.UNMATCHED
        elif transfer.account_number != intent.payee_account:
            match = MatchStatus.WRONG_ACCOUNT
        else:
            match = MatchStatus.MATCHED
        self._notifications.append(
            (
                transfer.provider,
                transfer.transaction_id,
                transfer.account_number,
                transfer.amount_vnd,
                transfer.memo[:500],
                transfer.occurred_at,
                match.value,
                intent.id if match in (MatchStatus.MATCHED, MatchStatus.WRONG_ACCOUNT) else None,
                transfer.occurred_at,
            )
        )
        if match == MatchStatus.MATCHED:
            self.record(
                intent,
                EventKind.MONEY_RECEIVED,
                transfer.amount_vnd,
                f"bank:{transfer.provider}",
                f"{transfer.provider}:{transfer.transaction_id}",
                transfer.occurred_at,
                {"memo": transfer.memo[:200]},
            )
        return match

    def attempt_card(
        self, gateway: CardGateway, intent: BulkIntent, payment_method: str, now: datetime
    ) -> ChargeStatus:
        """Charge a card for a pending card intent, as cards.attempt_card does (first attempt)."""
        check_chargeable(intent)
        try:
            charge = gateway.charge(
                amount_vnd=intent.amount_vnd,
                payment_method=payment_method,
                reference=intent.reference,
                idempotency_key=f"{intent.public_id}:attempt:1",
            )
        except CardGatewayError as error:
            raise GatewayUnavailable(
                "The card service did not answer properly; nothing was charged.",
                field="payment_method",
            ) from error
        details: dict[str, Any] = {"provider_payment_id": charge.provider_payment_id}
        prefix = f"{gateway.name}:{charge.provider_payment_id}"
        if charge.status == ChargeStatus.SUCCEEDED:
            self.record(
                intent,
                EventKind.MONEY_RECEIVED,
                charge.amount_vnd,
                f"card:{gateway.name}",
                f"{prefix}:succeeded",
                now,
                details,
            )
        elif charge.status == ChargeStatus.DECLINED:
            details["decline_code"] = charge.decline_code
            self.record(
                intent,
                EventKind.CARD_DECLINED,
                0,
                f"card:{gateway.name}",
                f"{prefix}:declined",
                now,
                details,
            )
        return charge.status

    def expire_due(self, now: datetime) -> list[BulkIntent]:
        """Expire every pending intent whose window has closed by `now`, as intents.expire_due."""
        expired = []
        while self._waiting and self._waiting[0][0] <= now:
            intent = heapq.heappop(self._waiting)[2]
            if intent.status == PaymentStatus.PENDING:
                expired.append(intent)
        expired.sort(key=lambda intent: intent.id)
        for intent in expired:
            self.record(intent, EventKind.EXPIRED, 0, "system", None, now)
        return expired

    def take(self) -> "LedgerChunk":
        """Return the chunk's rows to write, and start the next chunk."""
        chunk = LedgerChunk(
            [intent.row() for intent in self._opened],
            [
                {
                    "intent_id": intent.id,
                    "status": intent.status.value,
                    "received_vnd": intent.received_vnd,
                    "attention": intent.attention,
                    "updated_at": intent.updated_at,
                }
                for intent in self._moved.values()
            ],
            self._events,
            self._ledger,
            self._notifications,
            self._totals,
        )
        for intent in self._opened:
            intent.written = True
        self._opened, self._moved, self._events = [], {}, []
        self._ledger, self._notifications, self._totals = [], [], Totals()
        return chunk

    def flush(self) -> None:
        """Write the chunk's rows in the session's transaction, then forget them."""
        self.take().write(self.session)


@dataclass
class LedgerChunk:
    """A chunk's payment rows, as they stood when it was taken; any session may write them."""

    intents: list[tuple[Any, ...]]
    moved: list[dict[str, Any]]  # intents written by an earlier chunk, as they stand now
    events: list[tuple[Any, ...]]
    ledger: list[tuple[Any, ...]]
    notifications: list[tuple[Any, ...]]
    totals: Totals

    def write(self, session: Session) -> None:
        """Write the rows in the session's transaction, after the chunk's orders."""
        write_rows(session, _intents, INTENT_COLUMNS, self.intents)
        if self.moved:
            session.execute(UPDATE_INTENT, self.moved)
        write_rows(session, _events, EVENT_COLUMNS, self.events)
        write_rows(session, _ledger, LEDGER_COLUMNS, self.ledger)
        write_rows(session, _notifications, NOTIFICATION_COLUMNS, self.notifications)
        write_totals(session, self.totals)

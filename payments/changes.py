"""Wake the screens waiting for a payment as soon as a commit changes its status.

A vendor's screen long-polls `GET /payments/{id}?status=pending&wait=25`. Measured on PostgreSQL
(loadtest/README.md), the wait was the first bottleneck: each one held a gunicorn thread and read
the intent again every second, so four waiting screens took all of a default worker's threads,
and the bank's notification that would end them queued behind them. Two remedies, chosen by
measurement over a gevent worker (which would put every CPU-bound request, reports and charts,
on one event loop per worker and needs a dependency the app does not declare):

- `serve` runs many more gthread threads (its default and maximum in market/cli.py). A waiting
  thread holds no database connection while it sleeps (`await_change` ends its read first), so
  the pool only has to cover the threads that query at once.
- This board. A waiter registers its payment before it looks at the database; a session that
  commits a status change wakes the waiters of this process at once and, when `REDIS_URL` is
  set, publishes the payment's id on a Redis channel that every process's board listens to.
  The database stays the only truth: a wake-up only makes the waiter look again, so a lost or
  spurious message costs a read, never a wrong answer. Waiters still look every
  `RECHECK_SECONDS` (every second without Redis, or while its listener is down), for changes
  made where no board runs (another command, a Core UPDATE, a lost message).

The SQLite demo is one process: the in-process wake-up is all it needs, and Redis stays unset.
"""

import json
import logging
import secrets
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event, inspect
from sqlalchemy.orm import Session, object_session

from payments.models import PaymentIntent

logger = logging.getLogger(__name__)

CHANNEL = "ocop:payment-changes"
RECHECK_SECONDS = 1.0  # no Redis, or its listener is down: the long-poll's old cadence
RECHECK_WITH_REDIS_SECONDS = 5.0  # only for changes no board announced
REDIS_TIMEOUT_SECONDS = 0.5  # a slow Redis must not slow the bank's notification down
RECONNECT_SECONDS = 2.0
SESSION_KEY = "changed_payments"


class ChangeBoard:
    """The payments this process's waiters watch, woken by status changes committed anywhere."""

    def __init__(
        self,
        redis_url: str | None = None,
        channel: str = CHANNEL,
        recheck_seconds: float = RECHECK_SECONDS,
    ) -> None:
        self.redis_url = redis_url
        self.channel = channel
        self.fallback_seconds = recheck_seconds
        self.origin = secrets.token_hex(8)  # skips this board's own messages
        self._lock = threading.Lock()
        self._waiters: dict[str, set[threading.Event]] = {}
        self._listener: threading.Thread | None = None
        self._listening = threading.Event()  # subscribed and receiving
        self._closed = threading.Event()
        self._publisher: Any = None
        self._publish_again_at = 0.0  # after a failure, skip Redis for a while: no slow commits

    @property
    def recheck_seconds(self) -> float:
        """How long a waiter sleeps between looks at the database when nobody wakes it."""
        if self._listening.is_set():
            return max(self.fallback_seconds, RECHECK_WITH_REDIS_SECONDS)
        return self.fallback_seconds

    @property
    def listening(self) -> bool:
        """Whether changes committed in other processes reach this board (Redis subscribed)."""
        return self._listening.is_set()

    @contextmanager
    def watch(self, public_id: str) -> Iterator[threading.Event]:
        """Register a waiter for `public_id`; the event is set when its status may have changed."""
        self._start_listener()
        woken = threading.Event()
        with self._lock:
            self._waiters.setdefault(public_id, set()).add(woken)
        try:
            yield woken
        finally:
            with self._lock:
                waiters = self._waiters.get(public_id)
                if waiters is not None:
                    waiters.discard(woken)
                    if not waiters:
                        del self._waiters[public_id]

    def announce(self, public_ids: Iterable[str]) -> None:
        """Wake this process's waiters for `public_ids`, and every other process's through Redis."""
        ids = sorted(set(public_ids))
        if not ids:
            return
        self._wake(ids)
        if self.redis_url:
            self._publish(ids)

    def close(self) -> None:
        """Stop listening (tests; a server's boards live as long as their process)."""
        self._closed.set()
        if self._listener is not None:
            self._listener.join(timeout=5)

    def _wake(self, public_ids: Iterable[str]) -> None:
        with self._lock:
            events = [woken for key in public_ids for woken in self._waiters.get(key, ())]
        for woken in events:
            woken.set()

    def _publish(self, ids: list[str]) -> None:
        if time.monotonic() < self._publish_again_at:
            return
        message = json.dumps({"from": self.origin, "ids": ids})
        try:
            if self._publisher is None:
                self._publisher = _redis_client(self.redis_url)
            self._publisher.publish(self.channel, message)
        except Exception as error:  # waiters elsewhere see it at their next look
            self._publish_again_at = time.monotonic() + RECONNECT_SECONDS
            logger.warning("could not announce payment changes through Redis: %s", error)

    def _start_listener(self) -> None:
        if not self.redis_url or self._listener is not None:
            return
        with self._lock:
            if self._listener is None:
                self._listener = threading.Thread(
                    target=self._listen, name="payment-changes", daemon=True
                )
                self._listener.start()

    def _listen(self) -> None:
        """Subscribe and wake waiters on every message; reconnect after a failure."""
        while not self._closed.is_set():
            try:
                client = _redis_client(self.redis_url, read_timeout=None)
                with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    pubsub.subscribe(self.channel)
                    self._listening.set()
                    while not self._closed.is_set():
                        message = pubsub.get_message(timeout=1.0)
                        if message is not None:
                            self._receive(message["data"])
            except Exception as error:
                if self._listening.is_set():
                    logger.warning("payment changes: Redis listener lost: %s", error)
                self._listening.clear()
                self._closed.wait(RECONNECT_SECONDS)
        self._listening.clear()

    def _receive(self, data: bytes | str) -> None:
        try:
            message = json.loads(data)
            if message["from"] != self.origin:
                self._wake(str(key) for key in message["ids"])
        except (ValueError, KeyError, TypeError):
            logger.warning("payment changes: ignored a malformed message %r", data[:200])


def _redis_client(url: str | None, read_timeout: float | None = REDIS_TIMEOUT_SECONDS) -> Any:
    import redis  # limits[redis] brings it; only a board with a REDIS_URL needs it

    return redis.Redis.from_url(
        url or "",
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=read_timeout,
        health_check_interval=30,
    )


# One board per engine: a gunicorn worker has one app and so one engine; tests may hold several.
_boards: "weakref.WeakKeyDictionary[Engine, ChangeBoard]" = weakref.WeakKeyDictionary()
_boards_lock = threading.Lock()


def attach_board(engine: Engine, redis_url: str | None, **options: Any) -> ChangeBoard:
    """Give `engine`'s sessions a board that announces through `redis_url` (None: this process)."""
    with _boards_lock:
        previous = _boards.get(engine)
        if previous is not None and previous.redis_url == redis_url and not options:
            return previous
        board = _boards[engine] = ChangeBoard(redis_url, **options)
    if previous is not None:
        previous.close()
    return board


def board_for(session: Session) -> ChangeBoard:
    """Return the board of the engine `session` is bound to, a process-local one if none yet."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    with _boards_lock:
        board = _boards.get(engine)
        if board is None:
            board = _boards[engine] = ChangeBoard()
    return board


def note_status_change(session: Session, public_id: str) -> None:
    """Remember, until the commit, that this transaction changed a payment's status.

    Flushed changes are noted by themselves; a statement that updates an intent behind the
    ORM's back (payments.transfers on PostgreSQL) notes its own.
    """
    session.info.setdefault(SESSION_KEY, set()).add(public_id)


@event.listens_for(PaymentIntent, "after_update")
def _note_status_change(mapper: Any, connection: Connection, intent: PaymentIntent) -> None:
    """Note the payments whose status this flush changed."""
    if inspect(intent).attrs.status.history.has_changes():
        session = object_session(intent)
        if session is not None:
            note_status_change(session, intent.public_id)


@event.listens_for(Session, "after_commit")
def _announce_committed(session: Session) -> None:
    """Announce the changes once they are committed, so a woken waiter can read them."""
    changed = session.info.pop(SESSION_KEY, None)
    if changed:
        board_for(session).announce(changed)


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: Any) -> None:
    """Forget the changes of a rolled-back transaction (a savepoint's may yet be committed)."""
    if not previous_transaction.nested:
        session.info.pop(SESSION_KEY, None)

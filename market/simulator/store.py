"""Play a simulated run into the database through the services real users go through.

`Player` goes one sale at a time: every sale is a real checkout (`place_order`), every transfer
a bank notification settled by `settle_transfer`, every card payment a charge through the
configured card gateway, every expiry the same `expire_unpaid` the periodic job runs: the ledger
and the roll-ups the reports read are written by the code that writes them in production, at
the simulated times.

`BulkPlayer` plays the same events on the same clock (transfers at their moments, the expiry
check every five simulated minutes) through the bulk checkout and ledger (market.sales.bulk,
payments.bulk): the same rules, applied in memory, written a chunk of sales per transaction. It
writes what `Player` writes, with public ids and references drawn from the run.
"""

import gc
import heapq
import itertools
import os
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, text, update
from sqlalchemy.orm import Session

from catalog import services as catalog
from market.accounts.services import create_user
from market.core.clock import VIETNAM
from market.core.db import create_db_engine, dialect_of
from market.core.principals import Principal, Role
from market.markets import services as markets
from market.markets.models import Stall
from market.sales.bulk import BulkCheckout, Chunk
from market.sales.services import LineRequest, expire_unpaid, place_order
from market.simulator.behaviour import Adoption, Event, Outcome, Restock, Sale
from market.simulator.world import World
from market.vendors import services as vendors
from market.vendors.models import Listing
from payments import cards
from payments.bank_formats import BankTransfer
from payments.gateways.card import CardGateway
from payments.models import PaymentMethod
from payments.transfers import settle_transfer

EXPIRY_CHECK = timedelta(minutes=5)  # how often the simulated expiry job runs
TEST_CARD = "pm_card_visa"
# Sales per transaction in bulk. A chunk adds to each stall-day roll-up once, so larger chunks
# write fewer roll-up rows per sale: a 9,450-stall month into PostgreSQL took 694 s in chunks of
# 20,000 and 621 s in chunks of 50,000, with peaks of 578 and 716 MB in the player.
CHUNK_SALES = 50_000


@dataclass
class Stored:
    """Database ids of a world's markets, vendors, stalls and listings, by world key."""

    markets: dict[str, int] = field(default_factory=dict)
    vendors: dict[str, Principal] = field(default_factory=dict)  # who signs in as the vendor
    vendor_ids: dict[str, int] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)  # vendor key -> account number
    stalls: dict[str, int] = field(default_factory=dict)
    listings: dict[str, int] = field(default_factory=dict)


@dataclass
class Tally:
    """What a run has written so far."""

    sales: int = 0
    transfers: int = 0
    cards: int = 0
    expired: int = 0
    adoptions: int = 0


def store_world(session: Session, world: World, opened: date) -> Stored:
    """Create the world's producers, products, markets, vendors, stalls and listings.

    Markets and stalls date from local midnight of `opened`, so reports count them from the
    first simulated day; stalls start cash-only until their vendor adopts QR.
    """
    since = datetime.combine(opened, datetime.min.time(), VIETNAM)
    producers = {
        producer.key: catalog.create_producer(
            session,
            name=producer.name,
            producer_type=producer.producer_type,
            commune_code=producer.commune_code,
        ).id
        for producer in world.producers
    }
    products = {}
    for product in world.products:
        products[product.key] = catalog.create_product(
            session,
            producer_id=producers[product.producer],
            name=product.name,
            group_code=product.group_code,
            subgroup_code=product.subgroup_code,
            unit=product.unit,
            origin_commune_code=product.origin_commune_code,
            description=product.description,
        ).id
        for certification in product.certifications:
            catalog.record_certification(
                session,
                products[product.key],
                stars=certification.stars,
                score=certification.score,
                decision_number=certification.decision_number,
                decision_date=certification.decision_date,
                issuing_level=certification.issuing_level,
            )
    stored = Stored()
    for market in world.markets:
        row = markets.create_market(
            session,
            name=market.name,
            commune_code=market.commune_code,
            kind=market.kind,
            schedule=market.schedule,
            market_class=market.market_class,
            address=market.address,
        )
        row.simulated, row.created_at = True, since
        stored.markets[market.key] = row.id
    for vendor in world.vendors:
        user = create_user(session, vendor.owner_name, Role.VENDOR)
        actor = Principal(user.id, user.role)
        profile = vendors.register_vendor(
            session,
            actor,
            display_name=vendor.display_name,
            bank_bin=vendor.bank_bin,
            account_number=vendor.account_number,
            account_holder=vendor.account_holder,
            phone=vendor.phone,
        )
        stored.vendors[vendor.key] = actor
        stored.vendor_ids[vendor.key] = profile.id
        stored.accounts[vendor.key] = vendor.account_number
    for stall in world.stalls:
        placed = markets.open_stall(
            session,
            stored.vendors[stall.vendor],
            market_id=stored.markets[stall.market],
            code=stall.code,
            name=stall.name,
            category=stall.category,
            accepts_qr=False,
        )
        placed.created_at = since
        stored.stalls[stall.key] = placed.id
    for listing in world.listings:
        stored.listings[listing.key] = vendors.create_listing(
            session,
            stored.vendors[listing.vendor],
            stall_id=stored.stalls[listing.stall],
            product_id=products[listing.product] if listing.product else None,
            title=None if listing.product else listing.title,
            unit=listing.unit,
            price_vnd=listing.price_vnd,
            stock=listing.stock,
        ).id
    session.flush()
    return stored


class Player:
    """Apply a run's events in time order, with transfers and expiries at their own moments."""

    def __init__(self, session: Session, stored: Stored, gateway: CardGateway | None) -> None:
        self.session, self.stored, self.gateway = session, stored, gateway
        self.tally = Tally()
        self._due: list[tuple[datetime, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._next_expiry: datetime | None = None

    def play(
        self, events: Iterable[Event], on_event: Callable[[Event], None] | None = None
    ) -> None:
        for event in events:
            self.advance(event.at)
            if isinstance(event, Sale):
                self._sell(event)
            elif isinstance(event, Adoption):
                self._adopt(event)
            elif isinstance(event, Restock):
                self._restock(event)
            if on_event is not None:
                on_event(event)

    def advance(self, now: datetime) -> None:
        """Run the transfers and expiry checks due by `now`."""
        while self._due and self._due[0][0] <= now:
            moment, _, action = heapq.heappop(self._due)
            self._expire(moment)
            action()
        self._expire(now)

    def finish(self) -> None:
        """Deliver what is still on its way and expire what was never paid."""
        while self._due:
            self.advance(self._due[0][0])
        if self._next_expiry is not None:
            self._expire(self._next_expiry + timedelta(hours=1), force=True)

    def _expire(self, now: datetime, force: bool = False) -> None:
        if self._next_expiry is None:
            self._next_expiry = now + EXPIRY_CHECK
        elif force or now >= self._next_expiry:
            self.tally.expired += self._expire_unpaid(now)
            self._next_expiry = now + EXPIRY_CHECK

    def _expire_unpaid(self, now: datetime) -> int:
        return expire_unpaid(self.session, now)

    def _sell(self, sale: Sale) -> None:
        order = place_order(
            self.session,
            stall_id=self.stored.stalls[sale.stall],
            lines=[
                LineRequest(self.stored.listings[line.listing], line.quantity)
                for line in sale.lines
            ],
            method=sale.method,
            actor=self.stored.vendors[sale.vendor],
            now=sale.at,
        )
        self.tally.sales += 1
        payment = order.payment
        if sale.method == PaymentMethod.CARD:
            cards.attempt_card(
                self.session, self.gateway, payment.public_id, TEST_CARD, now=sale.at
            )
            self.tally.cards += 1
        elif sale.method == PaymentMethod.VIETQR and sale.outcome != Outcome.FAILED:
            assert sale.transfer_delay is not None and sale.transferred_vnd is not None
            transfer = BankTransfer(
                provider="simbank",
                transaction_id=f"SIM{payment.reference}",
                account_number=self.stored.accounts[sale.vendor],
                amount_vnd=sale.transferred_vnd,
                memo=f"{payment.reference} chuyen tien",
                occurred_at=sale.at + sale.transfer_delay,
                incoming=True,
            )
            self._schedule(transfer.occurred_at, lambda: self._transfer(transfer))

    def _transfer(self, transfer: BankTransfer) -> None:
        settle_transfer(self.session, transfer)
        self.tally.transfers += 1

    def _adopt(self, adoption: Adoption) -> None:
        """Put up the vendor's VietQR at its stalls in that market, from the adoption's day."""
        self.session.execute(
            update(Stall)
            .where(
                Stall.vendor_id == self.stored.vendor_ids[adoption.vendor],
                Stall.market_id == self.stored.markets[adoption.market],
                Stall.qr_since.is_(None),
            )
            .values(qr_since=adoption.at)
        )
        self.tally.adoptions += 1

    def _restock(self, restock: Restock) -> None:
        listing = self.session.get_one(Listing, self.stored.listings[restock.listing])
        listing.stock = restock.stock

    def _schedule(self, moment: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self._due, (moment, next(self._order), action))


def run_key(world: World, start: date) -> str:
    """Return what names a run: its scenario, seed and first day, as the exports name it."""
    return f"{world.scenario}/{world.seed}/{start.isoformat()}"


def _allow_asynchronous_commit(session: Session) -> None:
    """Let the session's transaction commit without waiting for its WAL to reach the disk.

    A fast run's commits waited for all the WAL written before them (drawing ids from a
    sequence makes even the player's read-mostly transactions wait): 100 ms a chunk. A crash
    of the machine can then lose the last commits: always a run's last chunks, never part of
    one (WAL is replayed in order), so the database stays consistent; a simulated run can be
    played again.
    """
    if dialect_of(session) == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))


def chunk_writer(engine: Engine) -> "ProcessChunkWriter | None":
    """Return a writer process for PostgreSQL where processes fork, or None: write in-process.

    SQLite has one writer at a time, so a second process would only wait for the player.
    """
    if engine.dialect.name != "postgresql" or not hasattr(os, "fork"):
        return None
    return ProcessChunkWriter(engine)


class ProcessChunkWriter:
    """Write each chunk in a child process forked for it, while the player checks out the next,
    so that checkout runs on one core and writing (COPY formatting, the database's replies) on
    another.

    The child inherits the chunk's rows: they cross no pipe. Pickled to a spawned writer, they
    cost the player 10.5 µs a sale (11 % of its time) and the writer 11 µs to read back. One
    child runs at a time and the next chunk waits for it, which keeps the chunks' transactions
    in order and bounds the memory; the first failure stops the writing and is raised to the
    player at its next chunk or at `close`.
    """

    def __init__(self, engine: Engine) -> None:
        self._url = engine.url.render_as_string(hide_password=False)
        self._child: tuple[int, int] | None = None  # its pid, and the pipe it reports on
        self._error: str | None = None

    def put(self, chunk: Chunk) -> None:
        self._wait()
        self._raise()
        report, reporting = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: write, report a failure, leave without the player's cleanup
            os.close(report)
            os._exit(_write_forked(self._url, chunk, reporting))
        os.close(reporting)
        self._child = (pid, report)

    def close(self) -> None:
        """Wait for every chunk to be written; raise the writer's error if it failed."""
        self._wait()
        self._raise()

    def _wait(self) -> None:
        if self._child is None:
            return
        pid, report = self._child
        self._child = None
        with os.fdopen(report, "rb") as pipe:  # read to the end: the child's exit closes it
            failure = pipe.read().decode(errors="replace")
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        if self._error is None and (failure or code != 0):
            self._error = failure or f"the writer process ended with code {code}"

    def _raise(self) -> None:
        if self._error is not None:
            raise RuntimeError(f"writing a chunk failed:\n{self._error}")


def _write_forked(url: str, chunk: Chunk, reporting: int) -> int:
    """In a forked child: write `chunk` on a connection of its own; return the exit code.

    The player's connections are inherited but never touched, and the child leaves with
    os._exit, so nothing of the player's is closed or flushed twice.
    """
    gc.disable()  # a short life: collecting would only copy the player's pages
    try:
        engine = create_db_engine(url)
        with Session(engine) as session, session.begin():
            _allow_asynchronous_commit(session)
            chunk.write(session)
        engine.dispose()
        return 0
    except BaseException:
        os.write(reporting, traceback.format_exc().encode())
        return 1


class BulkPlayer(Player):
    """Play a run like Player, checked out and written in chunks of `chunk` sales.

    Each chunk is written in one transaction: in `session`'s, committed by `commit`, or with a
    `writer`, by its process while the next chunk is computed. `finish` writes the last one.
    """

    def __init__(
        self,
        session: Session,
        stored: Stored,
        gateway: CardGateway,
        run: str,
        chunk: int = CHUNK_SALES,
        commit: Callable[[], None] | None = None,
        writer: "ProcessChunkWriter | None" = None,
    ) -> None:
        super().__init__(session, stored, gateway)
        self.card_gateway = gateway
        self.checkout = BulkCheckout(session, stored.stalls.values(), run)
        self.chunk = chunk
        self.commit = commit or self._commit
        self.writer = writer
        self._in_chunk = 0

    def play(
        self, events: Iterable[Event], on_event: Callable[[Event], None] | None = None
    ) -> None:
        """Play as Player does, with the cycle collector run once a chunk, by `flush`.

        Left to run when allocations say, its passes over the run's live objects took a sixth
        of the player's time (33 full passes in 600,000 sales). What a chunk builds holds no
        reference cycles, so counting references frees it; what is alive when the run starts
        (the world, the stored ids) lives through it, so the collector leaves it alone.
        """
        collecting = gc.isenabled()
        gc.freeze()
        gc.disable()
        try:
            super().play(events, on_event)
        finally:
            if collecting:
                gc.enable()
            gc.unfreeze()

    def finish(self) -> None:
        super().finish()
        self.flush()
        if self.writer is not None:
            self.writer.close()

    def flush(self) -> None:
        """Write (or hand to the writer) and commit what the chunk checked out, paid and expired."""
        chunk = self.checkout.take()
        if self.writer is None:
            chunk.write(self.session)
        else:
            self.writer.put(chunk)
        del chunk
        self.commit()  # the adoptions, and the end of the reads that drew ids
        self._in_chunk = 0
        gc.collect()  # the chunk's rows are gone: little is left to look at

    def _commit(self) -> None:
        _allow_asynchronous_commit(self.session)
        self.session.commit()

    def _expire_unpaid(self, now: datetime) -> int:
        return self.checkout.expire_unpaid(now)

    def _sell(self, sale: Sale) -> None:
        order = self.checkout.place_order(
            stall_id=self.stored.stalls[sale.stall],
            lines=[
                LineRequest(self.stored.listings[line.listing], line.quantity)
                for line in sale.lines
            ],
            method=sale.method,
            actor=self.stored.vendors[sale.vendor],
            now=sale.at,
        )
        self.tally.sales += 1
        payment = order.payment
        ledger = self.checkout.ledger
        if sale.method == PaymentMethod.CARD:
            ledger.attempt_card(self.card_gateway, payment, TEST_CARD, sale.at)
            self.tally.cards += 1
        elif sale.method == PaymentMethod.VIETQR and sale.outcome != Outcome.FAILED:
            assert sale.transfer_delay is not None and sale.transferred_vnd is not None
            transfer = BankTransfer(
                provider="simbank",
                transaction_id=f"SIM{payment.reference}",
                account_number=self.stored.accounts[sale.vendor],
                amount_vnd=sale.transferred_vnd,
                memo=f"{payment.reference} chuyen tien",
                occurred_at=sale.at + sale.transfer_delay,
                incoming=True,
            )

            def settle() -> None:
                ledger.settle_transfer(transfer, payment)
                self.tally.transfers += 1

            self._schedule(transfer.occurred_at, settle)
        self._in_chunk += 1
        if self._in_chunk >= self.chunk:
            self.flush()

    def _restock(self, restock: Restock) -> None:
        self.checkout.set_stock(self.stored.listings[restock.listing], restock.stock)

"""Export a run's ledger as CSV and Parquet, and as a PaySim-compatible CSV, from its events.

The files are written from the generated event stream, not read back from a database, so the
same scenario, seed, start and length give byte-identical files whatever the mode played. The
ledger holds what the database's ledger holds: one row per payment received (cash, card, or a
VietQR transfer at the moment it arrived), none for a QR code never paid. Rows stream out in
the order the money arrived; memory holds only the transfers still on their way and the rows
of the Parquet row group being filled.

Ids are opaque: vendors, stalls and markets carry the world's keys, and each checkout and its
payer get keys of the same alphabet and length drawn from a hash of the run, so no name tells
a role, an order or a database id. The simulator has no individual shoppers: every payer key
is used once.

paysim.csv has exactly the columns of the public PaySim1 data set (Kaggle, 6,362,620 rows;
domain.md §5), which tools written for it expect: no method column, type PAYMENT for every row,
`step` the hour of the run from 1, amounts and balances with two decimals as PaySim writes
them, and balances 0 as PaySim leaves merchants'. (PaySim's current raw log names some columns
differently and adds isUnauthorizedOverdraft, so only the data set's set is a safe target.)
ledger.csv has the same rows in the same order, with the method and the ground truth.
"""

import csv
import hashlib
import heapq
import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import IO, Any, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from market.core.clock import VIETNAM
from market.simulator.behaviour import Event, Sale
from market.simulator.world import KEY_ALPHABET, KEY_LENGTH, World

LEDGER_CSV, LEDGER_PARQUET, PAYSIM_CSV = "ledger.csv", "ledger.parquet", "paysim.csv"
DIGIT_PAIRS = [first + second for first in KEY_ALPHABET for second in KEY_ALPHABET]
PAIR_BITS = 10  # two digits of the 32-letter alphabet
KEY_BITS = 2 * KEY_LENGTH * 5  # a sale's key and its payer's, at 5 bits a digit
ROWS_PER_GROUP = 65_536  # Parquet rows written at a time: what the export holds in memory
PAYSIM_COLUMNS = (
    "step",
    "type",
    "amount",
    "nameOrig",
    "oldbalanceOrg",
    "newbalanceOrig",
    "nameDest",
    "oldbalanceDest",
    "newbalanceDest",
    "isFraud",
    "isFlaggedFraud",
)
LEDGER_SCHEMA = pa.schema(
    [
        ("step", pa.int32()),
        ("occurred_at", pa.timestamp("s", tz="UTC")),
        ("method", pa.string()),
        ("amount_vnd", pa.int64()),
        ("outcome", pa.string()),
        ("sale", pa.string()),
        ("payer", pa.string()),
        ("vendor", pa.string()),
        ("stall", pa.string()),
        ("market", pa.string()),
        ("shopper", pa.string()),
        ("total_vnd", pa.int64()),
        ("is_ocop", pa.bool_()),
        ("is_synthetic", pa.bool_()),
    ]
)


class Payment(NamedTuple):
    """One ledger row: money that reached a vendor, with the checkout it paid."""

    step: int
    occurred_at: datetime
    method: str
    amount_vnd: int
    outcome: str
    sale: str
    payer: str
    vendor: str
    stall: str
    market: str
    shopper: str
    total_vnd: int
    is_ocop: bool
    is_synthetic: bool


class Exporter:
    """Write ledger.csv, ledger.parquet and paysim.csv into a folder as a run's events pass."""

    def __init__(self, folder: Path, world: World, start: date) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.rows = 0
        self._run = f"{world.scenario}/{world.seed}/{start.isoformat()}"
        self._first_hour = datetime.combine(start, datetime.min.time(), VIETNAM).astimezone(UTC)
        self._ocop = frozenset(listing.key for listing in world.listings if listing.product)
        self._sales = itertools.count()
        self._due: list[tuple[datetime, int, Payment]] = []
        self._files: list[IO[str]] = []
        self._ledger = self._csv(LEDGER_CSV, LEDGER_SCHEMA.names)
        self._paysim = self._csv(PAYSIM_CSV, PAYSIM_COLUMNS)
        self._parquet = pq.ParquetWriter(folder / LEDGER_PARQUET, LEDGER_SCHEMA)
        self._group: list[Payment] = []

    def _csv(self, name: str, header: tuple[str, ...] | list[str]) -> Any:
        file = open(self.folder / name, "w", encoding="utf-8", newline="")
        self._files.append(file)
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(header)
        return writer

    def __enter__(self) -> "Exporter":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            self._write_due(None)
            self._flush_group()
        self._parquet.close()
        for file in self._files:
            file.close()

    def tee(self, events: Iterator[Event]) -> Iterator[Event]:
        """Yield `events` unchanged, writing each payment once every earlier one is written."""
        for event in events:
            self._write_due(event.at)
            if isinstance(event, Sale):
                self._add(event)
            yield event

    def _add(self, sale: Sale) -> None:
        number = next(self._sales)
        moment = sale.received_at
        if moment is None:
            return
        sale_key, payer = self._keys(number)
        payment = Payment(
            step=(moment - self._first_hour) // timedelta(hours=1) + 1,
            occurred_at=moment,
            method=sale.method.value,
            amount_vnd=sale.received_vnd,
            outcome=sale.outcome.value,
            sale=sale_key,
            payer=payer,
            vendor=sale.vendor,
            stall=sale.stall,
            market=sale.market,
            shopper=sale.shopper.value,
            total_vnd=sale.total_vnd,
            is_ocop=any(line.listing in self._ocop for line in sale.lines),
            is_synthetic=True,
        )
        heapq.heappush(self._due, (moment, number, payment))

    def _keys(self, number: int) -> tuple[str, str]:
        """Return a sale's key and its payer's, like the world's, the same for the same run."""
        digest = hashlib.blake2b(f"{self._run}/{number}".encode(), digest_size=KEY_BITS // 8)
        value = int.from_bytes(digest.digest())
        mask = (1 << PAIR_BITS) - 1
        text = "".join(
            DIGIT_PAIRS[value >> shift & mask] for shift in range(0, KEY_BITS, PAIR_BITS)
        )
        return text[:KEY_LENGTH], text[KEY_LENGTH:]

    def _write_due(self, now: datetime | None) -> None:
        """Write the payments that arrived by `now` (None: all of them), in arrival order."""
        while self._due and (now is None or self._due[0][0] <= now):
            self._write(heapq.heappop(self._due)[2])

    def _write(self, payment: Payment) -> None:
        when = payment.occurred_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        flags = (int(payment.is_ocop), int(payment.is_synthetic))
        self._ledger.writerow((payment.step, when, *payment[2:-2], *flags))
        amount = f"{payment.amount_vnd}.00"
        payer, vendor = payment.payer, payment.vendor
        self._paysim.writerow(
            (payment.step, "PAYMENT", amount, payer, "0.00", "0.00", vendor, "0.00", "0.00", 0, 0)
        )
        self._group.append(payment)
        self.rows += 1
        if len(self._group) == ROWS_PER_GROUP:
            self._flush_group()

    def _flush_group(self) -> None:
        if self._group:
            columns = zip(*self._group, strict=True)
            arrays = [
                pa.array(column, field.type)
                for column, field in zip(columns, LEDGER_SCHEMA, strict=True)
            ]
            self._parquet.write_batch(pa.RecordBatch.from_arrays(arrays, schema=LEDGER_SCHEMA))
            self._group = []

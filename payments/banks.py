"""Directory of Vietnamese banks by BIN, read from the packaged ``data/banks.csv``.

Pure Python: no project imports.
"""

import csv
import functools
import io
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True, slots=True)
class Bank:
    """A bank or payment institution that can receive NAPAS247 transfers."""

    bin: str
    code: str
    short_name: str
    name: str


@functools.cache
def all_banks() -> tuple[Bank, ...]:
    """Return every bank in the directory, ordered by BIN."""
    text = resources.files(__package__).joinpath("data", "banks.csv").read_text(encoding="utf-8")
    banks = (Bank(**row) for row in csv.DictReader(io.StringIO(text)))
    return tuple(sorted(banks, key=lambda bank: bank.bin))


@functools.cache
def _indexes() -> tuple[dict[str, Bank], dict[str, Bank]]:
    by_bin = {bank.bin: bank for bank in all_banks()}
    # Codes win over short names: CIMB and MAFC each have a second, SBV-issued BIN without a
    # VietQR.io code whose short name repeats the code, and apps expect VietQR.io's BIN.
    by_key = {bank.code.casefold(): bank for bank in all_banks() if bank.code}
    for bank in all_banks():
        by_key.setdefault(bank.short_name.casefold(), bank)
    return by_bin, by_key


def bank_by_bin(bin_: str) -> Bank | None:
    """Return the bank with this 6-digit BIN, or None."""
    return _indexes()[0].get(bin_.strip())


def find_bank(key: str) -> Bank | None:
    """Return the bank with this BIN, code or short name (case-insensitive), or None."""
    key = key.strip()
    by_bin, by_key = _indexes()
    return by_bin.get(key) or by_key.get(key.casefold())

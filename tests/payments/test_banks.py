import csv
from pathlib import Path

import pytest

from payments.banks import Bank, all_banks, bank_by_bin, find_bank
from payments.vietqr import decode

DATA = Path(__file__).parents[2] / "payments" / "data" / "banks.csv"


def test_directory_lists_all_71_bins_once():
    banks = all_banks()
    assert len(banks) == 71
    assert len({bank.bin for bank in banks}) == 71
    assert [bank.bin for bank in banks] == sorted(bank.bin for bank in banks)


def test_every_bank_has_a_six_digit_bin_and_names():
    for bank in all_banks():
        assert len(bank.bin) == 6 and bank.bin.isdigit(), bank
        assert bank.short_name and bank.name, bank


def test_directory_matches_the_packaged_csv():
    with DATA.open(encoding="utf-8") as file:
        rows = {row["bin"]: Bank(**row) for row in csv.DictReader(file)}
    assert {bank.bin: bank for bank in all_banks()} == rows


def test_directory_is_loaded_once():
    assert all_banks() is all_banks()


def test_bank_by_bin():
    bank = bank_by_bin("970436")
    assert bank == Bank("970436", "VCB", "Vietcombank", "Ngân hàng TMCP Ngoại thương Việt Nam")
    assert bank_by_bin("000000") is None


@pytest.mark.parametrize(
    ("key", "bin_"),
    [
        ("vcb", "970436"),
        ("VCB", "970436"),
        ("vietcombank", "970436"),
        ("ICB", "970415"),
        ("VietinBank", "970415"),
        ("mbbank", "970422"),
        (" 970405 ", "970405"),
        ("momo", "971025"),
        ("ubank", "546035"),
    ],
)
def test_find_bank_by_code_short_name_or_bin(key, bin_):
    bank = find_bank(key)
    assert bank is not None and bank.bin == bin_


@pytest.mark.parametrize(("key", "bin_"), [("CIMB", "422589"), ("mafc", "977777")])
def test_codes_win_over_short_names_of_sbv_only_bins(key, bin_):
    # 970459 and 970468 are SBV-issued BINs whose short names repeat VietQR.io's codes.
    assert find_bank(key).bin == bin_
    assert bank_by_bin({"422589": "970459", "977777": "970468"}[bin_]).code == ""


@pytest.mark.parametrize("key", ["", "nope", "CTG", "97043"])
def test_find_bank_returns_none_for_unknown_keys(key):
    assert find_bank(key) is None


def test_spec_example_bin_is_sacombank():
    qr = decode(
        "00020101021138600010A00000072701300006970403011697040311012345670208QRIBFTTC"
        "53037045802VN63044F52"
    )
    assert bank_by_bin(qr.bin).short_name == "Sacombank"

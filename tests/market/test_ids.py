"""Public ids and payment references sort by time, so new rows land together in their index."""

from datetime import UTC, datetime, timedelta

from market.core.ids import BASE32, base32, public_id
from payments.bank_formats import REFERENCE_TOKEN
from payments.intents import new_reference

MOMENT = datetime(2026, 12, 5, 7, 30, tzinfo=UTC)


def test_base32_spells_the_low_bits_most_significant_digit_first() -> None:
    assert [base32(value, 1) for value in (0, 9, 10, 31)] == ["0", "9", "A", "Z"]
    assert base32(32, 2) == "10" and base32(1024, 2) == "00"  # only the low 10 bits
    assert base32(1023, 3) == "0ZZ" and base32(2**50 - 1, 10) == "Z" * 10
    for value, digits in ((1_764_950_400_123, 10), (123_456_789, 6), (987_654, 5)):
        spelled = base32(value, digits)
        assert len(spelled) == digits
        read = 0
        for digit in spelled:
            read = read * 32 + BASE32.index(digit)
        assert read == value % 32**digits


def test_public_ids_sort_as_their_moments_and_differ_within_one() -> None:
    moments = [MOMENT + timedelta(milliseconds=step) for step in (0, 1, 999, 86_400_000)]
    ids = [public_id("ord_", moment) for moment in moments]
    assert ids == sorted(ids)
    assert all(len(id_) == 30 and id_.startswith("ord_") for id_ in ids)
    same_moment = {public_id("ord_", MOMENT) for _ in range(1000)}
    assert len(same_moment) == 1000  # the random tail keeps receipt links unguessable


def test_a_reproducible_tail_gives_the_same_id() -> None:
    tail = bytes(range(12))
    assert public_id("pay_", MOMENT, tail) == public_id("pay_", MOMENT, tail)


def test_references_of_one_day_share_their_bucket_and_banks_find_them() -> None:
    today = {new_reference(MOMENT + timedelta(hours=hour))[:4] for hour in range(0, 16)}
    tomorrow = new_reference(MOMENT + timedelta(days=1))
    assert len(today) == 1 and tomorrow[:4] not in today
    references = [new_reference(MOMENT) for _ in range(1000)]
    assert len(set(references)) == 1000
    assert all(REFERENCE_TOKEN.fullmatch(reference) for reference in references)

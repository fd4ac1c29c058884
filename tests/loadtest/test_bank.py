"""The load test's bank: transfers drawn like the simulator's, queued, signed and logged."""

import dataclasses
import random

from loadtest.bank import (
    BankLog,
    Delivery,
    Transfer,
    TransferQueue,
    draw_transfer,
    notification,
    read_logs,
    repeat_of,
    retry_of,
)
from loadtest.scenario import load_profile
from payments.bank_formats import parse_simbank

PAYMENT = {"id": "pay_1", "reference": "OC7K2Q9D4X", "amount_vnd": 45_000}


def draw(now: float = 0.0, txid: str = "T1", **rates: float) -> Transfer | None:
    """Draw how a shopper pays PAYMENT into account 0011, with the bank's rates changed."""
    plan = dataclasses.replace(load_profile().bank, **rates)
    return draw_transfer(plan, random.Random(1), txid, PAYMENT, "0011", now)


def paid(now: float = 0.0, txid: str = "T1") -> Transfer:
    transfer = draw(now, txid, failed_rate=0, partial_rate=0)
    assert transfer is not None
    return transfer


def test_a_paid_transfer_carries_the_whole_amount_after_a_delay():
    transfer = paid(now=100.0)
    assert (transfer.amount_vnd, transfer.reference) == (45_000, "OC7K2Q9D4X")
    assert transfer.account_number == "0011"
    assert transfer.due > 100.0 and transfer.occurred_at == transfer.due


def test_failed_codes_are_never_paid_and_partial_ones_are_short():
    assert draw(failed_rate=1) is None
    short = draw(failed_rate=0, partial_rate=1)
    assert short is not None and 1000 <= short.amount_vnd < 45_000 and short.amount_vnd % 1000 == 0


def test_the_queue_gives_transfers_when_due_earliest_first():
    base = paid()
    late = repeat_of(base, Delivery.REDELIVERY, 20.0)
    early = repeat_of(base, Delivery.DUPLICATE, 10.0)
    queue = TransferQueue()
    queue.put(late)
    queue.put(early)
    assert queue.pop_due(5.0) is None
    assert queue.pop_due(30.0) == early
    assert queue.pop_due(30.0) == late
    assert len(queue) == 0


def test_a_failed_delivery_is_retried_as_the_same_transaction():
    base = paid()
    again = retry_of(retry_of(base, 5.0), 9.0)
    assert (again.delivery, again.attempt, again.due) == (Delivery.RETRY, 3, 9.0)
    assert again.transaction_id == base.transaction_id and again.amount_vnd == base.amount_vnd


def test_notifications_are_signed_as_the_server_checks_them():
    transfer = paid(now=1_800_000_000, txid="T9")
    raw, signature = notification(transfer, "secret", now=1_800_000_100)
    parsed = parse_simbank(raw, {"X-OCOP-Signature": signature}, "secret", now=1_800_000_100)
    assert (parsed.transaction_id, parsed.amount_vnd) == ("T9", 45_000)
    assert "OC7K2Q9D4X" in parsed.memo
    # A redelivery is signed afresh, with the same body: the same transfer, told again.
    redelivery = repeat_of(transfer, Delivery.REDELIVERY, 0)
    again, _ = notification(redelivery, "secret", now=1_800_000_200)
    assert again == raw


def test_the_log_keeps_what_was_sent_and_answered(tmp_path):
    transfer = paid()
    log = BankLog(tmp_path / "bank-w0-p1.jsonl")
    log.sent(transfer)
    log.answered(transfer, 200, "matched")
    log.close()
    with (tmp_path / "bank-w0-p1.jsonl").open("a") as out:
        out.write('{"event": "sent", "transac')  # a line cut short by a killed process
    records = read_logs(tmp_path)
    assert [(r["event"], r["transaction_id"]) for r in records] == [
        ("sent", "T1"),
        ("answered", "T1"),
    ]
    assert records[1]["outcome"] == "matched"

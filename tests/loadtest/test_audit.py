"""The audit after a run: the bank's log against the ledger, and the stock."""

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from loadtest.audit import Event, Intent, Ledger, Notification, Snapshot, gather, judge
from tests.payments import banks
from tests.shop import Shop, checkout


def sent(txid: str, amount: int, delivery: str = "first") -> dict:
    return {"event": "sent", "transaction_id": txid, "amount_vnd": amount, "delivery": delivery}


def answered(txid: str, outcome: str | None, status: int = 200, delivery: str = "first") -> dict:
    return {
        "event": "answered",
        "transaction_id": txid,
        "delivery": delivery,
        "http_status": status,
        "outcome": outcome,
    }


def paid_once(txid: str = "LT-1", amount: int = 30_000) -> Snapshot:
    """A snapshot of one payment paid by one notification, with its event and ledger row."""
    return Snapshot(
        notifications=[Notification(txid, "matched", 1, amount)],
        events=[Event(10, 1, "money_received", amount, f"simbank:{txid}")],
        ledger=[Ledger(10, 1, "payment", amount)],
        intents=[Intent(1, "paid", "vietqr", amount, amount, 0)],
        stock={7: 48},
        held={7: 2},
    )


def test_a_notification_counted_once_despite_its_repeats_passes():
    records = [
        sent("LT-1", 30_000),
        answered("LT-1", "matched"),
        sent("LT-1", 30_000, "duplicate"),
        answered("LT-1", "duplicate", delivery="duplicate"),
    ]
    found = judge(records, paid_once(), {7: 50})
    assert found.problems == []
    assert found.facts["deliveries_by_kind"] == {"duplicate": 1, "first": 1}
    assert found.facts["answers_by_outcome"] == {"duplicate": 1, "matched": 1}


def test_an_acknowledged_notification_missing_from_the_database_is_lost():
    records = [sent("LT-1", 30_000), answered("LT-1", "matched"), sent("LT-2", 5_000)]
    records.append(answered("LT-2", "matched"))
    found = judge(records, paid_once(), {7: 50})
    assert found.problems == ["acknowledged by the server but not stored (lost): 1 (LT-2)"]


def test_a_notification_sent_but_never_answered_is_reported_not_blamed():
    records = [sent("LT-1", 30_000), answered("LT-1", "matched"), sent("LT-2", 5_000)]
    found = judge(records, paid_once(), {7: 50})
    assert found.problems == []
    assert found.facts["sent_without_acknowledgement"] == 1


def test_money_counted_twice_is_found_in_events_ledger_and_answers():
    snapshot = paid_once()
    snapshot.events.append(Event(11, 1, "money_received", 30_000, "simbank:LT-1b"))
    snapshot.ledger += [Ledger(11, 1, "payment", 30_000), Ledger(11, 1, "payment", 30_000)]
    records = [sent("LT-1", 30_000), answered("LT-1", "matched"), answered("LT-1", "matched")]
    problems = judge(records, snapshot, {7: 50}).problems
    assert "answered 'matched' more than once (counted twice): 1 (LT-1)" in problems
    assert "money events with more than one ledger row: 1 (11)" in problems
    assert any(p.startswith("intents whose received amount differs") for p in problems)


def test_a_paid_intent_without_its_ledger_row_is_found():
    snapshot = paid_once()
    snapshot.ledger.clear()
    problems = judge(
        [sent("LT-1", 30_000), answered("LT-1", "matched")], snapshot, {7: 50}
    ).problems
    assert "money events without a ledger row: 1 (10)" in problems
    assert (
        "settled intents (paid, over- or underpaid, refunded) without a ledger row: 1 (1)"
        in problems
    )


def test_stock_must_be_the_opening_stock_less_what_orders_hold():
    records = [sent("LT-1", 30_000), answered("LT-1", "matched")]
    snapshot = paid_once()
    snapshot.stock[7] = 47  # one unit gone that no order holds
    assert judge(records, snapshot, {7: 50}).problems == [
        "listings whose stock is not their opening stock less what orders hold: 1 (7: 50 - 2 != 47)"
    ]
    snapshot.stock[8] = -1
    assert judge(records, snapshot, {7: 49}).problems == ["listings with negative stock: 1 (8=-1)"]


def test_gather_reads_what_the_services_wrote(client: FlaskClient, session: Session, shop: Shop):
    order = checkout(client, shop).get_json()
    payment = order["payment"]
    memo, amount = f"{payment['reference']} chuyen tien", payment["amount_vnd"]
    first = banks.simbank(client, memo, amount, transaction_id="LT-0-1-1")
    again = banks.simbank(client, memo, amount, transaction_id="LT-0-1-1")
    assert (first.get_json()["status"], again.get_json()["status"]) == ("matched", "duplicate")
    records = [
        sent("LT-0-1-1", amount),
        answered("LT-0-1-1", "matched"),
        sent("LT-0-1-1", amount, "redelivery"),
        answered("LT-0-1-1", "duplicate", delivery="redelivery"),
    ]
    # The fixture's stall began with 50 juices and 3 honeys; the order holds 2 and 1.
    found = judge(records, gather(session.connection()), {shop.juice.id: 50, shop.honey.id: 3})
    assert found.problems == []
    assert found.facts["notifications_stored"] == 1
    assert found.facts["units_held_by_orders"] == 3
    assert found.facts["intents_by_status"] == {"paid": 1}

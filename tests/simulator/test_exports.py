"""A run's exports: the database's ledger, PaySim's columns, opaque ids, the same bytes by seed."""

import csv
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from market.simulator import exports
from market.simulator.behaviour import play
from market.simulator.cli import simulate_command
from market.simulator.exports import Exporter
from market.simulator.scenario import load_scenario
from market.simulator.store import Player, store_world
from market.simulator.world import KEY_ALPHABET, KEY_LENGTH, build_world
from payments.gateways.fake import FakeCardGateway
from payments.models import LedgerEntry

FRIDAY = date(2026, 11, 6)
KEY = re.compile(f"[{KEY_ALPHABET}]{{{KEY_LENGTH}}}")


def export(folder: Path, scenario_path: Path, seed: int = 7, days: int = 2) -> int:
    scenario = load_scenario(scenario_path)
    world = build_world(scenario, seed)
    with Exporter(folder, world, FRIDAY) as exporter:
        for _ in exporter.tee(play(world, scenario, FRIDAY, days, seed)):
            pass
    return exporter.rows


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def test_the_same_seed_gives_byte_identical_files(small_scenario: Path, tmp_path: Path) -> None:
    export(tmp_path / "a", small_scenario)
    export(tmp_path / "b", small_scenario)
    export(tmp_path / "c", small_scenario, seed=8)

    for name in ("ledger.csv", "ledger.parquet", "paysim.csv"):
        first = (tmp_path / "a" / name).read_bytes()
        assert first == (tmp_path / "b" / name).read_bytes()
        assert first != (tmp_path / "c" / name).read_bytes()


def test_the_export_is_the_ledger_the_services_write(
    session: Session, small_scenario: Path, tmp_path: Path
) -> None:
    scenario = load_scenario(small_scenario)
    world = build_world(scenario, 7)
    stored = store_world(session, world, FRIDAY)
    player = Player(session, stored, FakeCardGateway())
    with Exporter(tmp_path, world, FRIDAY) as exporter:
        player.play(exporter.tee(play(world, scenario, FRIDAY, 2, 7)))
    player.finish()

    vendor_of = {vendor_id: key for key, vendor_id in stored.vendor_ids.items()}
    written = Counter(
        (entry.method.value, entry.amount_vnd, entry.occurred_at, vendor_of[entry.vendor_id])
        for entry in session.scalars(select(LedgerEntry))
    )
    exported = Counter(
        (row["method"], int(row["amount_vnd"]), _moment(row["occurred_at"]), row["vendor"])
        for row in rows(tmp_path / "ledger.csv")
    )
    assert exported == written
    assert exporter.rows == sum(written.values()) > 300


def test_paysim_has_its_columns_and_the_ledger_rows_in_the_same_order(
    small_scenario: Path, tmp_path: Path
) -> None:
    count = export(tmp_path, small_scenario)

    ledger, paysim = rows(tmp_path / "ledger.csv"), rows(tmp_path / "paysim.csv")
    assert list(paysim[0]) == list(exports.PAYSIM_COLUMNS)
    assert len(paysim) == len(ledger) == count
    first_hour = datetime(2026, 11, 5, 17, tzinfo=UTC)  # local midnight of FRIDAY
    for payment, row in zip(ledger, paysim, strict=True):
        hour = (_moment(payment["occurred_at"]) - first_hour) // timedelta(hours=1) + 1
        assert row["step"] == payment["step"] == str(hour)
        assert row["type"] == "PAYMENT"
        assert row["amount"] == f"{payment['amount_vnd']}.00"
        assert (row["nameOrig"], row["nameDest"]) == (payment["payer"], payment["vendor"])
        assert row["oldbalanceDest"] == row["newbalanceDest"] == "0.00"
        assert row["isFraud"] == row["isFlaggedFraud"] == "0"
    moments = [payment["occurred_at"] for payment in ledger]
    assert moments == sorted(moments)


def test_ids_are_opaque_keys_that_name_no_role(small_scenario: Path, tmp_path: Path) -> None:
    export(tmp_path, small_scenario)
    world = build_world(load_scenario(small_scenario), 7)

    ledger = rows(tmp_path / "ledger.csv")
    for column in ("sale", "payer", "vendor", "stall", "market"):
        assert all(KEY.fullmatch(row[column]) for row in ledger), column
    assert {row["vendor"] for row in ledger} <= {vendor.key for vendor in world.vendors}
    payers = [row["payer"] for row in ledger]
    assert len(set(payers)) == len(payers)  # one payer per payment: no shoppers are modelled
    assert not set(payers) & {vendor.key for vendor in world.vendors}


def test_parquet_holds_the_csv_rows_in_row_groups(
    small_scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "ROWS_PER_GROUP", 100)
    count = export(tmp_path, small_scenario)

    table = pq.ParquetFile(tmp_path / "ledger.parquet")
    assert table.metadata.num_row_groups == -(-count // 100)
    parquet = table.read().to_pylist()
    ledger = rows(tmp_path / "ledger.csv")
    assert [row["sale"] for row in parquet] == [row["sale"] for row in ledger]
    assert [row["amount_vnd"] for row in parquet] == [int(row["amount_vnd"]) for row in ledger]
    assert [row["occurred_at"] for row in parquet] == [
        _moment(row["occurred_at"]) for row in ledger
    ]
    assert all(row["is_synthetic"] for row in parquet)


def test_offline_mode_writes_the_files_without_a_database(
    app: Flask, small_scenario: Path, tmp_path: Path
) -> None:
    arguments = ["--mode", "offline", "--scenario", str(small_scenario), "--days", "2"]

    result = app.test_cli_runner().invoke(
        simulate_command, [*arguments, "--start", str(FRIDAY), "--export", str(tmp_path)]
    )

    assert result.exit_code == 0, result.output
    assert f"payments written to {tmp_path}" in result.output
    assert (tmp_path / "paysim.csv").exists() and (tmp_path / "ledger.parquet").exists()
    missing = app.test_cli_runner().invoke(simulate_command, ["--mode", "offline"])
    assert missing.exit_code == 2 and "--export" in missing.output


def _moment(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)

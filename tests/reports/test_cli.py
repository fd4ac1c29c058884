"""`ocop-market report` writes a place's indicators as a file."""

import csv
import io
from pathlib import Path

from flask import Flask
from sqlalchemy.orm import Session

from market.cli import cli
from tests.reports.test_rollups import play_sales

YEAR = ["--from", "2025-01-01", "--to", "2025-12-31"]


def test_the_report_command_writes_a_provinces_csv_and_pdf(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    play_sales(session, 40)
    runner = app.test_cli_runner()

    as_csv = runner.invoke(cli, ["report", "--province", "04", *YEAR, "--output", "-"])
    pdf = tmp_path / "cao-bang.pdf"
    as_pdf = runner.invoke(
        cli, ["report", "--province", "04", *YEAR, "--format", "pdf", "--output", str(pdf)]
    )

    assert as_csv.exit_code == 0, as_csv.output
    rows = list(csv.DictReader(io.StringIO(as_csv.output)))
    assert {row["place_code"] for row in rows} == {"04"}
    assert any(row["indicator"] == "NONCASH_SHARE_COUNT" and row["value"] for row in rows)
    assert as_pdf.exit_code == 0, as_pdf.output
    assert pdf.read_bytes().startswith(b"%PDF")


def test_the_report_command_names_a_bad_place_or_range(app: Flask, session: Session) -> None:
    runner = app.test_cli_runner()

    unknown = runner.invoke(cli, ["report", "--province", "99", *YEAR])
    backwards = runner.invoke(cli, ["report", "--from", "2025-02-01", "--to", "2025-01-01"])

    assert unknown.exit_code == 2 and "There is no place '99'" in unknown.output
    assert backwards.exit_code == 2 and "swap the dates" in backwards.output

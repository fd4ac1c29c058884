"""VietQR as users reach it: the decode endpoint, the bank directory, and the command line."""

import json
from pathlib import Path

import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from market.cli import cli
from tests.market.test_app import assert_error

SPEC_DYNAMIC = (
    "00020101021238570010A00000072701270006970403011300110123456780208QRIBFTTA53037045406180000"
    "5802VN62340107NPS68690819thanh toan don hang63042E2E"
)


def test_decode_endpoint_returns_the_fields_and_the_bank(client: FlaskClient) -> None:
    response = client.post("/api/v1/vietqr/decode", json={"payload": SPEC_DYNAMIC})
    assert response.status_code == 200
    body = response.get_json()
    assert body["point_of_initiation"] == "12"
    assert (body["bin"], body["account"], body["amount"]) == ("970403", "0011012345678", 180000)
    assert body["purpose"] == "thanh toan don hang"
    assert body["bank"]["code"] == "STB"


def test_decode_endpoint_lists_every_problem_with_its_tag(client: FlaskClient) -> None:
    broken = SPEC_DYNAMIC.replace("5406180000", "5406180.00")[:-4] + "0000"
    body = assert_error(client.post("/api/v1/vietqr/decode", json={"payload": broken}), 422)
    problems = body["errors"]["json"]["payload"]
    assert any(problem.startswith("63") for problem in problems)
    assert any("(54)" in problem and "decimals" in problem for problem in problems)
    assert body["reason"] == "invalid_vietqr"


def test_decode_endpoint_refuses_a_missing_or_empty_payload(client: FlaskClient) -> None:
    for body in ({}, {"payload": ""}, {"payload": 42}):
        response = client.post("/api/v1/vietqr/decode", json=body)
        assert "payload" in assert_error(response, 422)["errors"]["json"]


def test_bank_directory_by_bin_and_code(client: FlaskClient) -> None:
    banks = client.get("/api/v1/banks").get_json()
    assert len(banks) == 71
    assert client.get("/api/v1/banks/vcb").get_json()["bin"] == "970436"
    assert client.get("/api/v1/banks/970436").get_json()["code"] == "VCB"
    assert_error(client.get("/api/v1/banks/nope"), 404)


def test_cli_encodes_a_code_that_scans_back(app: Flask, tmp_path: Path) -> None:
    png = tmp_path / "order.png"
    result = app.test_cli_runner().invoke(
        cli,
        [
            "vietqr",
            "encode",
            "--bin",
            "VCB",
            "--account",
            "0011001234567",
            "--amount",
            "45000",
            "--purpose",
            "Mua mật ong",
            "--png",
            str(png),
        ],
    )
    assert result.exit_code == 0, result.output
    payload = result.output.strip()
    assert "5405450005802VN" in payload and "Mua mat ong" in payload
    assert zxingcpp.read_barcodes(Image.open(png))[0].text == payload


def test_cli_decodes_to_json_and_fails_on_a_bad_code(app: Flask) -> None:
    runner = app.test_cli_runner()
    good = runner.invoke(cli, ["vietqr", "decode", SPEC_DYNAMIC])
    assert good.exit_code == 0
    assert json.loads(good.output)["bill_number"] == "NPS6869"
    bad = runner.invoke(cli, ["vietqr", "decode", SPEC_DYNAMIC[:-1] + "F"])
    assert bad.exit_code == 1
    assert "CRC" in bad.output


def test_cli_refuses_what_cannot_fit_instead_of_truncating(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        cli, ["vietqr", "encode", "--bin", "970436", "--account", "123456", "--purpose", "x" * 26]
    )
    assert result.exit_code != 0
    assert "purpose" in result.output and "25" in result.output

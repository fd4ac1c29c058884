"""Places: the 34 provinces and 3,321 communes, found as people type them."""

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.cli import cli
from market.places.models import Commune, Province
from market.places.services import load_places
from tests.market.test_app import assert_error


def test_places_are_all_there_with_official_codes(session: Session) -> None:
    assert session.scalar(select(func.count()).select_from(Province)) == 34
    assert session.scalar(select(func.count()).select_from(Commune)) == 3321
    thuc_phan = session.get(Commune, "01273")
    assert thuc_phan.name == "Phường Thục Phán"
    assert thuc_phan.province.name == "Tỉnh Cao Bằng"
    kinds = dict(session.execute(select(Commune.kind, func.count()).group_by(Commune.kind)).all())
    assert kinds == {"Xã": 2621, "Phường": 687, "Đặc khu": 13}


def test_loading_again_changes_nothing(session: Session) -> None:
    result = load_places(session)
    assert (result.provinces_added, result.communes_added, result.communes_updated) == (0, 0, 0)


def test_loading_repairs_a_changed_row(session: Session) -> None:
    session.get(Commune, "01273").name = "Phường Cũ"
    session.flush()
    assert load_places(session).communes_updated == 1
    assert session.get(Commune, "01273").name == "Phường Thục Phán"


def test_a_province_and_its_communes_through_the_api(client: FlaskClient) -> None:
    provinces = client.get("/api/v1/provinces").get_json()
    assert len(provinces) == 34
    cao_bang = client.get("/api/v1/provinces/04").get_json()
    assert cao_bang["name"] == "Tỉnh Cao Bằng"
    assert cao_bang["commune_count"] == 56
    assert_error(client.get("/api/v1/provinces/99"), 404)


def test_communes_are_found_typed_without_accents(client: FlaskClient) -> None:
    page = client.get("/api/v1/communes", query_string={"province": "04", "q": "thuc phan"})
    assert [c["code"] for c in page.get_json()["items"]] == ["01273"]
    upper = client.get("/api/v1/communes", query_string={"q": "THỤC PHÁN"}).get_json()
    assert [c["code"] for c in upper["items"]] == ["01273"]
    assert client.get("/api/v1/communes/01273").get_json()["short_name"] == "Thục Phán"


def test_communes_are_paginated_with_a_total_in_stable_order(client: FlaskClient) -> None:
    first = client.get("/api/v1/communes", query_string={"page_size": 200}).get_json()
    second = client.get("/api/v1/communes", query_string={"page": 2, "page_size": 200}).get_json()
    assert first["total"] == second["total"] == 3321
    codes = [c["code"] for c in first["items"] + second["items"]]
    assert codes == sorted(codes) and len(set(codes)) == 400


def test_bad_commune_filters_name_the_field(client: FlaskClient) -> None:
    for query, field in (
        ({"province": "4x"}, "province"),
        ({"page_size": 1000}, "page_size"),
        ({"page": 0}, "page"),
        ({"page": "one"}, "page"),
    ):
        body = assert_error(client.get("/api/v1/communes", query_string=query), 422)
        assert field in body["errors"]["query"]


def test_cli_migrates_a_fresh_database_and_loads_places(
    tmp_path: Path, make_app: Callable[..., Flask]
) -> None:
    app = make_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}"})
    runner = app.test_cli_runner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    loaded = runner.invoke(cli, ["places", "load"])
    assert loaded.exit_code == 0, loaded.output
    assert "provinces: 34 added" in loaded.output
    assert "communes: 3321 added" in loaded.output
    again = runner.invoke(cli, ["places", "load"])
    assert "communes: 0 added, 0 updated" in again.output

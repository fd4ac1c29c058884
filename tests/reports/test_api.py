"""Officials read, download and enrich cashless-adoption reports through the API."""

import csv
import io
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from market.core.clock import VIETNAM, vietnam_today
from market.core.principals import Principal, Role
from market.reports.exports import report_document
from market.reports.model import Grain, Place
from market.reports.schemas import ReportSchema
from market.reports.services import COUNTRY, ReportQuery, build_report, enter_figure
from market.sales.services import LineRequest, place_order
from payments.models import LedgerEntry, LedgerKind, PaymentMethod
from tests.factories.accounts import UserFactory
from tests.factories.markets import ListingFactory, MarketFactory, StallFactory
from tests.market.test_markets import vendor_headers
from tests.reports.test_rollups import play_sales

Auth = Callable[..., dict[str, str]]
YEAR = {"place": "04", "from": "2025-01-01", "to": "2025-12-31", "grain": "month"}


def test_an_official_downloads_a_provinces_monthly_csv_that_matches_the_ledger(
    client: FlaskClient, session: Session, auth: Auth
) -> None:
    play_sales(session, 120)

    response = client.get(
        "/api/v1/reports/indicators.csv", query_string=YEAR, headers=auth(Role.OFFICIAL)
    )

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "ocop-04-2025-01-01-2025-12-31-month.csv" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf"), "a BOM, so Excel reads UTF-8"
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    transactions = [row for row in rows if row["indicator"] == "TRANSACTIONS"]
    assert {row["period"] for row in transactions} == {f"2025-{m:02d}" for m in range(1, 13)}
    assert transactions[0]["title"] == "Số giao dịch theo phương thức"
    assert transactions[0]["place_name"] == "Tỉnh Cao Bằng"
    ledger_payments = session.scalar(
        select(func.count()).where(
            LedgerEntry.kind == LedgerKind.PAYMENT,
            LedgerEntry.province_code == "04",
            LedgerEntry.local_date.between(date(2025, 1, 1), date(2025, 12, 31)),
        )
    )
    assert sum(int(row["value"]) for row in transactions) == ledger_payments > 0


def test_the_json_report_gives_each_value_with_its_measurement(
    client: FlaskClient, session: Session, auth: Auth
) -> None:
    play_sales(session, 60)

    response = client.get(
        "/api/v1/reports/indicators",
        query_string={**YEAR, "indicator": ["NONCASH_SHARE_COUNT", "AVG_TICKET_BY_METHOD"]},
        headers=auth(Role.ADMIN),
    )

    assert response.status_code == 200
    body = response.json
    assert [i["code"] for i in body["indicators"]] == [
        "NONCASH_SHARE_COUNT",
        "AVG_TICKET_BY_METHOD",
    ]
    shares = [v for v in body["values"] if v["indicator"] == "NONCASH_SHARE_COUNT"]
    assert len(shares) == 12
    some = next(v for v in shares if v["denominator"])
    assert some["value"] == pytest.approx(100 * some["numerator"] / some["denominator"], abs=0.01)
    assert some["source"] == "recorded" and some["unit"] == "percent"
    tickets = [v for v in body["values"] if v["indicator"] == "AVG_TICKET_BY_METHOD" and v["value"]]
    assert all(isinstance(v["value"], int) for v in tickets), "dong stay whole numbers"


def test_a_five_oclock_market_on_the_first_belongs_to_its_own_local_month(
    client: FlaskClient, session: Session, auth: Auth
) -> None:
    stall = StallFactory()
    listing = ListingFactory(stall=stall, price_vnd=20_000)
    dawn = datetime(2026, 3, 1, 5, 0, tzinfo=VIETNAM)  # 22:00 UTC on 28 February
    place_order(
        session,
        stall_id=stall.id,
        lines=[LineRequest(listing.id, 1)],
        method=PaymentMethod.CASH,
        actor=Principal(stall.vendor.user_id, Role.VENDOR),
        now=dawn,
    )
    query = {
        "place": "01273",
        "from": "2026-02-01",
        "to": "2026-03-31",
        "indicator": "TRANSACTIONS",
    }

    body = client.get(
        "/api/v1/reports/indicators", query_string=query, headers=auth(Role.OFFICIAL)
    ).json

    cash = {
        v["period"]: v["value"] for v in body["values"] if v["dimensions"] == {"method": "cash"}
    }
    assert cash == {"2026-02": 0, "2026-03": 1}


def test_two_places_and_two_periods_come_side_by_side(
    client: FlaskClient, session: Session, auth: Auth
) -> None:
    play_sales(session, 60)
    query = {
        "place": ["04", "00004"],
        "from": "2025-01-01",
        "to": "2025-03-31",
        "compare_from": "2026-01-01",
        "compare_to": "2026-03-31",
        "grain": "quarter",
        "indicator": "NONCASH_SHARE_VALUE",
    }

    body = client.get(
        "/api/v1/reports/indicators", query_string=query, headers=auth(Role.OFFICIAL)
    ).json

    seen = {(v["place"], v["period"]) for v in body["values"]}
    assert seen == {(p, q) for p in ("04", "00004") for q in ("2025-Q1", "2026-Q1")}


@pytest.mark.parametrize("place", [None, "VN", "country:VN", "province:04", "commune:01273"])
def test_places_are_written_the_way_officials_write_them(
    client: FlaskClient, auth: Auth, place: str | None
) -> None:
    query = {"from": "2025-01-01", "to": "2025-12-31", "indicator": "MARKETS_4_0"}
    if place:
        query["place"] = place
    response = client.get(
        "/api/v1/reports/indicators", query_string=query, headers=auth(Role.OFFICIAL)
    )
    assert response.status_code == 200
    expected = (place or "VN").rpartition(":")[2]
    assert response.json["places"][0]["code"] == expected


@pytest.mark.parametrize("role", [None, Role.VENDOR])
def test_vendors_and_anonymous_callers_cannot_read_reports(
    client: FlaskClient, auth: Auth, role: Role | None
) -> None:
    headers = auth(role) if role else {}
    response = client.get("/api/v1/reports/indicators", query_string=YEAR, headers=headers)
    assert response.status_code == (403 if role else 401)


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"place": "99"}, "place", "unknown_place"),
        ({"place": "commune:77777"}, "place", "unknown_place"),
        ({"from": "2026-01-01", "to": "2025-01-01"}, "to", "backwards_range"),
        ({"from": "2010-01-01", "to": "2025-01-01"}, "to", "range_too_long"),
        ({"indicator": "CASH_IS_KING"}, "indicator", "unknown_indicator"),
    ],
)
def test_bad_report_questions_get_a_clear_error(
    client: FlaskClient, auth: Auth, change: dict[str, str], field: str, reason: str
) -> None:
    response = client.get(
        "/api/v1/reports/indicators", query_string={**YEAR, **change}, headers=auth(Role.OFFICIAL)
    )
    assert response.status_code == 422
    assert response.json["reason"] == reason
    assert field in response.json["errors"]["query"]


def test_more_than_two_places_or_a_half_comparison_are_refused(
    client: FlaskClient, auth: Auth
) -> None:
    headers = auth(Role.OFFICIAL)
    three = client.get(
        "/api/v1/reports/indicators",
        query_string={**YEAR, "place": ["04", "01", "79"]},
        headers=headers,
    )
    half = client.get(
        "/api/v1/reports/indicators",
        query_string={**YEAR, "compare_from": "2024-01-01"},
        headers=headers,
    )
    assert three.status_code == half.status_code == 422
    assert "place" in three.json["errors"]["query"]
    assert "compare_to" in half.json["errors"]["query"]


def test_a_reported_figure_appears_beside_the_measured_ones(
    client: FlaskClient, auth: Auth
) -> None:
    official = auth(Role.OFFICIAL)
    figure = {
        "indicator": "ADULT_ACCOUNT_RATE",
        "place": "04",
        "as_of": "2025-05-12",
        "value": 80,
        "source": "vietnam.vn, Cao Bằng tăng tốc chuyển đổi số",
    }

    created = client.post("/api/v1/reports/figures", json=figure, headers=official)
    body = client.get("/api/v1/reports/indicators", query_string=YEAR, headers=official).json

    assert created.status_code == 201
    assert created.json["place"] == "province:04"
    (reported,) = [v for v in body["values"] if v["indicator"] == "ADULT_ACCOUNT_RATE"]
    assert reported["value"] == 80
    assert reported["source"] == "reported"
    assert reported["period"] == "2025-05" and reported["as_of"] == "2025-05-12"
    assert "vietnam.vn" in reported["note"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"value": 150}, "value"),
        ({"indicator": "NOPE"}, "indicator"),
        ({"as_of": (date.today() + timedelta(days=40)).isoformat()}, "as_of"),
        ({"source": "  "}, "source"),
    ],
)
def test_a_bad_reported_figure_is_refused_and_not_saved(
    client: FlaskClient, auth: Auth, change: dict[str, object], field: str
) -> None:
    official = auth(Role.OFFICIAL)
    figure = {
        "indicator": "ADULT_ACCOUNT_RATE",
        "place": "04",
        "as_of": "2025-05-12",
        "value": 80,
        "source": "survey",
        **change,
    }

    response = client.post("/api/v1/reports/figures", json=figure, headers=official)

    assert response.status_code == 422
    assert field in str(response.json["errors"]) or response.json.get("field") == field
    assert client.get("/api/v1/reports/figures", headers=official).json == []


def test_vendors_cannot_enter_figures(client: FlaskClient, auth: Auth) -> None:
    figure = {"indicator": "DIGITAL_TEAMS", "place": "04", "as_of": "2025-05-12", "value": 1241}
    response = client.post(
        "/api/v1/reports/figures", json={**figure, "source": "x"}, headers=auth(Role.VENDOR)
    )
    assert response.status_code == 403


def test_anyone_reads_the_indicator_catalogue(client: FlaskClient) -> None:
    body = client.get("/api/v1/reports/catalogue").json
    codes = {indicator["code"] for indicator in body}
    assert {"NONCASH_SHARE_COUNT", "VENDOR_QR_COVERAGE", "OCOP_ON_ECOM"} <= codes


def test_qr_coverage_follows_stalls_turning_their_qr_on_and_off(
    client: FlaskClient, session: Session, auth: Auth
) -> None:
    headers, vendor = vendor_headers(session)
    market = MarketFactory(commune_code="00004")
    cash_only, with_qr = (StallFactory(market=market, vendor=vendor) for _ in range(2))
    query = {"place": "00004", "from": "2026-01-01", "to": vietnam_today().isoformat()}
    query |= {"grain": "year", "indicator": ["VENDOR_QR_COVERAGE", "QR_ACCEPTANCE_POINTS"]}

    turned_off = client.patch(
        f"/api/v1/stalls/{cash_only.id}", json={"accepts_qr": False}, headers=headers
    )
    body = client.get(
        "/api/v1/reports/indicators", query_string=query, headers=auth(Role.OFFICIAL)
    ).json

    assert turned_off.json["accepts_qr"] is False and turned_off.json["qr_since"] is None
    latest = {v["indicator"]: v for v in body["values"] if v["period"] == "2026"}
    assert latest["VENDOR_QR_COVERAGE"]["value"] == 50.0
    assert latest["QR_ACCEPTANCE_POINTS"]["value"] == 1
    assert with_qr.accepts_qr


@pytest.mark.parametrize("chart", ["share", "coverage", "methods"])
@pytest.mark.parametrize("image_format", ["png", "svg"])
def test_an_official_draws_each_chart(
    client: FlaskClient, session: Session, auth: Auth, chart: str, image_format: str
) -> None:
    play_sales(session, 40)

    response = client.get(
        f"/api/v1/reports/charts/{chart}.{image_format}",
        query_string=YEAR,
        headers=auth(Role.OFFICIAL),
    )

    assert response.status_code == 200
    if image_format == "png":
        assert response.mimetype == "image/png"
        assert response.data.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        assert response.mimetype == "image/svg+xml"
        assert b"<svg" in response.data[:500]


@pytest.mark.parametrize("file_format", ["pdf", "html"])
def test_an_official_downloads_a_printable_report(
    client: FlaskClient, session: Session, auth: Auth, file_format: str
) -> None:
    play_sales(session, 40)
    query = {**YEAR, "grain": "quarter"}

    response = client.get(
        f"/api/v1/reports/document.{file_format}", query_string=query, headers=auth(Role.OFFICIAL)
    )

    assert response.status_code == 200
    if file_format == "pdf":
        assert response.mimetype == "application/pdf"
        assert response.data.startswith(b"%PDF")
        assert "attachment" in response.headers["Content-Disposition"]
    else:
        page = response.data.decode()
        assert "Báo cáo thanh toán không dùng tiền mặt: Tỉnh Cao Bằng" in page
        assert "2025-Q3" in page


def test_charts_are_for_officials_only(client: FlaskClient, auth: Auth) -> None:
    response = client.get(
        "/api/v1/reports/charts/share.png", query_string=YEAR, headers=auth(Role.VENDOR)
    )
    assert response.status_code == 403


def test_the_json_report_is_exactly_the_documented_schema(session: Session) -> None:
    play_sales(session, 40)
    query = ReportQuery(
        [COUNTRY, Place("commune", "00004", "Phường Ba Đình")],
        date(2025, 1, 1),
        date(2025, 12, 31),
        Grain.QUARTER,
        compare_start=date(2024, 1, 1),
        compare_end=date(2024, 12, 31),
    )
    enter_figure(
        session,
        Principal(UserFactory(role=Role.OFFICIAL).id, Role.OFFICIAL),
        indicator="DIGITAL_TEAMS",
        place=COUNTRY,
        as_of=date(2025, 5, 1),
        value=Decimal(1241),
        source="vietnam.vn",
    )
    report = build_report(session, query)

    assert report_document(report) == json.loads(json.dumps(ReportSchema().dump(report)))

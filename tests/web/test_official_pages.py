"""The officials' dashboard: tables, charts and downloads, from the report services."""

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from market.core.clock import vietnam_today
from market.core.db import utcnow
from market.core.principals import Role
from market.markets.models import Stall
from tests.payments import banks
from tests.shop import Shop, checkout
from tests.web.conftest import OFFICIAL
from tests.web.pages import account, sign_in, text


def sold_today(client: FlaskClient, shop: Shop) -> None:
    """One VietQR sale of 270,000 dong, paid, and one cash sale of 10,000."""
    payment = checkout(client, shop).get_json()["payment"]
    now = utcnow().isoformat()
    assert banks.simbank(client, payment["reference"], 270_000, occurred_at=now).status_code == 200
    cash = checkout(
        client,
        shop,
        "cash",
        lines=[{"listing_id": shop.juice.id, "quantity": 1}],
        headers=shop.headers,
    )
    assert cash.status_code == 201


def filters(shop_market: int, **extra: str) -> str:
    today = vietnam_today()
    args = {
        "place": f"market:{shop_market}",
        "from": str(today - timedelta(days=6)),
        "to": str(today),
        "grain": "day",
        **extra,
    }
    return "&".join(f"{key}={value}" for key, value in args.items())


def test_an_official_sees_tables_and_charts_for_a_place(
    client: FlaskClient, session: Session, shop: Shop, official: str
) -> None:
    sold_today(client, shop)
    market = session.get_one(Stall, shop.stall_id).market
    sign_in(client, OFFICIAL)
    page = text(client.get(f"/dashboard?{filters(market.id)}"))
    assert market.name in page
    assert (
        "Số giao dịch theo phương thức" in page
        and "Tỷ lệ giao dịch không dùng tiền mặt (số lượng)" in page
    )
    assert str(vietnam_today()) in page  # a column per day
    assert "50,0 %" in page  # one of today's two sales was cashless
    for chart in ("share", "methods"):
        assert f"/dashboard/charts/{chart}.png?" in page
    assert "/dashboard/charts/coverage.png?" not in page  # a market has no places inside
    province = text(client.get(f"/dashboard?{filters(market.id, place='04')}"))
    assert "/dashboard/charts/coverage.png?" in province
    image = client.get(f"/dashboard/charts/share.png?{filters(market.id)}")
    assert image.status_code == 200 and image.data.startswith(b"\x89PNG")


def test_an_official_downloads_csv_and_pdf(
    client: FlaskClient, session: Session, shop: Shop, official: str
) -> None:
    sold_today(client, shop)
    market = session.get_one(Stall, shop.stall_id).market
    sign_in(client, OFFICIAL)
    csv = client.get(f"/dashboard/indicators.csv?{filters(market.id)}")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "attachment" in csv.headers["Content-Disposition"]
    rows = csv.data.decode("utf-8-sig").splitlines()
    today = str(vietnam_today())
    assert any(
        row.startswith("TRANSACTIONS,") and f",{today}," in row and "method=vietqr" in row
        for row in rows
    )
    pdf = client.get(f"/dashboard/document.pdf?{filters(market.id)}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_bad_filters_show_next_to_their_field_and_keep_the_input(
    client: FlaskClient, session: Session, official: str
) -> None:
    sign_in(client, OFFICIAL)
    unknown = client.get("/dashboard?place=XYZ&from=2026-01-01&to=2026-01-31&grain=week")
    page = text(unknown)
    assert unknown.status_code == 422
    assert "Không có địa bàn này." in page and 'value="XYZ"' in page and 'id="place-error"' in page
    backwards = text(client.get("/dashboard?place=04&from=2026-02-01&to=2026-01-01"))
    assert (
        'id="to-error"' in backwards
        and "Ngày kết thúc trước ngày bắt đầu." in backwards
        and 'value="2026-01-01"' in backwards
    )
    not_a_date = text(client.get("/dashboard?place=04&from=h%C3%B4m+qua&to=2026-01-01"))
    assert "Ngày không hợp lệ." in not_a_date and 'value="hôm qua"' in not_a_date
    assert (
        client.get("/dashboard/indicators.csv?place=XYZ&from=2026-01-01&to=2026-01-31").status_code
        == 422
    )


def test_an_admin_may_open_the_dashboard_and_anonymous_callers_may_not_download(
    client: FlaskClient, session: Session
) -> None:
    assert client.get("/dashboard/indicators.csv").status_code == 302
    account(session, Role.ADMIN, "admin-web")
    sign_in(client, "admin-web")
    assert client.get("/dashboard").status_code == 200

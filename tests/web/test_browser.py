"""The three journeys in a real headless Chromium (Debian's `chromium`, driven by Playwright).

The app serves a scratch database of its own, committed for real, on 127.0.0.1 in a background
thread: the demo data set (a vendor and an official who sign in with a password) plus a product to
find. Screenshots of the main pages go to artifacts/screenshots/.
"""

import csv
import io
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from catalog import services as catalog
from catalog.models import IssuingLevel, ProducerType
from market import demo, migrate
from market.core.clock import vietnam_today
from market.core.db import utcnow
from market.core.principals import Principal
from market.markets.models import Stall
from market.places.services import load_places
from market.vendors import services as vendors
from payments.bank_formats import sign_simbank
from tests.scratch import scratch_database
from tests.settings import TEST_SECRETS

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
PHONE = {"width": 360, "height": 780}
DESK = {"width": 1280, "height": 900}
TIMEOUT_MS = 15_000


def install_chromium() -> Path:
    """Return Chromium's path, installing Debian's package first when we can (root, apt-get)."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("no browser: /usr/bin/chromium is missing and apt-get cannot install it here")
    print("installing chromium with apt-get (a minute or two)…", flush=True)
    try:
        subprocess.run(["apt-get", "install", "-y", "chromium"], check=True, timeout=900)
    except (subprocess.SubprocessError, OSError) as error:
        pytest.skip(f"no browser: 'apt-get install -y chromium' failed ({error})")
    if not CHROMIUM.exists():
        pytest.skip("no browser: the chromium package installed no /usr/bin/chromium")
    return CHROMIUM


@pytest.fixture(scope="module")
def scratch_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this module's own, dropped afterwards."""
    with scratch_database(database_url, tmp_path_factory.mktemp("browser"), "browser") as url:
        yield url


@dataclass(frozen=True)
class Site:
    base: str
    vendor: demo.WebLogin
    official: demo.WebLogin
    stall_id: int
    market_id: int
    market_name: str


@pytest.fixture(scope="module")
def site(scratch_url: str) -> Iterator[Site]:
    """The app with the demo data and a listed "Miến dong" product, served on a free port."""
    from market.app import create_app

    app: Flask = create_app({"TESTING": True, "DATABASE_URL": scratch_url, **TEST_SECRETS})
    engine = app.extensions["database"].engine
    migrate.upgrade(engine)
    with app.extensions["database"].sessionmaker.begin() as session:
        load_places(session)
        data = demo.create_demo_data(session)
        vendor, official = data.logins[2], data.logins[1]
        stall = session.query(Stall).filter_by(market_id=data.market.id, code="OC-01").one()
        producer = catalog.create_producer(
            session,
            name="HTX Miến dong Nguyên Bình",
            producer_type=ProducerType.COOPERATIVE,
            commune_code=demo.THUC_PHAN,
        )
        noodles = catalog.create_product(
            session,
            producer_id=producer.id,
            name="Miến dong Nguyên Bình",
            group_code="FOOD",
            subgroup_code="1.2",
            unit="gói 500 g",
            origin_commune_code=demo.THUC_PHAN,
        )
        catalog.record_certification(
            session,
            noodles.id,
            stars=3,
            score=65,
            decision_number="1234/QĐ-UBND",
            decision_date=date(2025, 10, 1),
            issuing_level=IssuingLevel.PROVINCE,
        )
        actor = Principal(vendor.user.id, vendor.user.role)
        vendors.create_listing(
            session, actor, stall_id=stall.id, product_id=noodles.id, price_vnd=60_000, stock=20
        )
        ids = (stall.id, data.market.id, data.market.name)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_port}", vendor, official, *ids)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = install_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), headless=True)
        yield browser
        browser.close()


def shoot(page: object, name: str, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)  # type: ignore[attr-defined]


def new_page(
    browser: object, viewport: dict[str, int], **options: object
) -> tuple[object, list[str]]:
    """Open a page that records what the console reports, e.g. a Content-Security-Policy refusal."""
    context = browser.new_context(viewport=viewport, locale="vi-VN", **options)  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    return page, problems


def sign_in(page: object, site: Site, who: demo.WebLogin) -> None:
    page.goto(f"{site.base}/sign-in")  # type: ignore[attr-defined]
    page.get_by_label("Tên đăng nhập (số điện thoại)").fill(who.login)  # type: ignore[attr-defined]
    page.get_by_label("Mật khẩu").fill(who.password)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Đăng nhập").click()  # type: ignore[attr-defined]


def post_json(url: str, body: bytes, headers: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", **headers}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def pay_by_bank(site: Site, reference: str, amount_vnd: int) -> dict[str, object]:
    """Send the signed notification the simulator's bank sends when a transfer arrives."""
    body = json.dumps(
        {
            "transaction_id": f"E2E{uuid.uuid4().hex[:10]}",
            "account_number": "0011001234567",
            "amount_vnd": amount_vnd,
            "memo": f"NONG THI HOA chuyen tien {reference}",
            "occurred_at": utcnow().isoformat(),
        }
    ).encode()
    signature = sign_simbank(body, TEST_SECRETS["SIMBANK_WEBHOOK_SECRET"], int(time.time()))
    return post_json(
        f"{site.base}/api/v1/webhooks/bank/simbank", body, {"X-OCOP-Signature": signature}
    )


def test_a_vendor_checks_out_and_the_screen_turns_paid(browser: object, site: Site) -> None:
    from playwright.sync_api import expect

    page, problems = new_page(browser, PHONE)
    sign_in(page, site, site.vendor)
    expect(page.get_by_role("heading", name="Quầy của tôi")).to_be_visible()
    page.get_by_role("link", name="Tính tiền").first.click()
    page.get_by_label("Nước mía").fill("3")
    page.get_by_label("Mật ong bạc hà Cao Bằng").fill("1")
    page.get_by_role("button", name="Tạo mã QR").click()

    expect(page.locator("#pay-status")).to_have_text("Đang chờ thanh toán")
    expect(page.locator(".amount")).to_have_text("280.000 ₫")
    qr = page.locator("img.qr")
    expect(qr).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth > 0", qr.element_handle())
    reference = page.locator(".reference").inner_text().strip()
    shoot(page, "vendor-checkout-pending")

    page.evaluate("window.__sameScreen = true")  # gone if the page reloads
    pay_by_bank(site, reference, 280_000)
    expect(page.locator("#pay-status")).to_have_text("Đã thanh toán", timeout=30_000)
    expect(qr).to_be_hidden()
    assert page.evaluate("window.__sameScreen === true"), "the screen turned paid without a reload"
    shoot(page, "vendor-checkout-paid")

    page.get_by_role("link", name="Doanh thu hôm nay").click()
    expect(page.get_by_text(reference)).to_be_visible()
    shoot(page, "vendor-today")
    assert problems == []
    page.context.close()


def test_a_shopper_finds_a_product_typed_without_accents(browser: object, site: Site) -> None:
    from playwright.sync_api import expect

    page, problems = new_page(browser, PHONE)
    page.goto(site.base + "/")
    page.get_by_label("Tìm sản phẩm").fill("mien dong")
    page.keyboard.press("Enter")
    result = page.get_by_role("link", name="Miến dong Nguyên Bình")
    expect(result).to_be_visible()
    expect(page.get_by_role("link", name="Mật ong bạc hà Cao Bằng")).to_have_count(0)
    shoot(page, "shopper-search")
    result.click()
    expect(page.get_by_role("heading", name="Miến dong Nguyên Bình")).to_be_visible()
    expect(page.get_by_text("1234/QĐ-UBND")).to_be_visible()
    expect(page.get_by_text("60.000 ₫")).to_be_visible()
    shoot(page, "shopper-product")
    page.get_by_role("link", name=site.market_name).click()
    expect(
        page.get_by_role("heading", name="Quầy OC-01 · Mật ong bạc hà và nước mía")
    ).to_be_visible()
    shoot(page, "shopper-market")
    assert problems == []
    page.context.close()


def test_an_official_downloads_a_csv(browser: object, site: Site) -> None:
    from playwright.sync_api import expect

    lines = [{"listing_id": juice_listing(site), "quantity": 2}]
    body = {"stall_id": site.stall_id, "method": "vietqr", "lines": lines}
    order = post_json(f"{site.base}/api/v1/orders", json.dumps(body).encode(), {})
    pay_by_bank(site, order["payment"]["reference"], order["total_vnd"])  # type: ignore[index]

    page, problems = new_page(browser, DESK, accept_downloads=True)
    sign_in(page, site, site.official)
    expect(page.get_by_role("heading", name="Bảng số liệu")).to_be_visible()
    today = vietnam_today()
    page.get_by_label("Địa bàn").fill(f"market:{site.market_id}")
    page.get_by_label("Từ ngày").fill(str(today - timedelta(days=6)))
    page.get_by_label("Đến ngày").fill(str(today))
    page.get_by_label("Chu kỳ").select_option("day")
    page.get_by_role("button", name="Xem").click()
    expect(page.get_by_role("heading", name=site.market_name)).to_be_visible()
    for image in page.locator(".charts img").all():
        image.scroll_into_view_if_needed()
        page.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
    shoot(page, "official-dashboard")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Tải CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith(f"-{today}-day.csv")
    content = Path(download.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    qr_today = [
        row
        for row in rows
        if row["indicator"] == "TRANSACTIONS"
        and row["period"] == str(today)
        and "method=vietqr" in row["dimensions"]
    ]
    assert qr_today and int(qr_today[0]["value"]) >= 1
    assert {row["place_name"] for row in rows} == {site.market_name}
    assert problems == []
    page.context.close()


def juice_listing(site: Site) -> int:
    """Return the id of the demo stall's sugar-cane juice, read from the public API."""
    with urllib.request.urlopen(
        f"{site.base}/api/v1/listings?stall_id={site.stall_id}", timeout=10
    ) as response:
        items = json.loads(response.read())["items"]
    return next(item["id"] for item in items if item["title"] == "Nước mía")

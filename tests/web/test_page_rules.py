"""Rules every page keeps: small, no inline script or style (CSP), every input labelled."""

import re
from html.parser import HTMLParser

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from market.markets.models import Stall
from tests.web.conftest import OFFICIAL, VENDOR_A, Vendors
from tests.web.pages import post_form, sign_in, text

CHECKOUT_BUDGET = 100_000  # bytes: HTML, CSS, JS and the QR image of a vendor's checkout screen


class Page(HTMLParser):
    """Collect what the rules look at: scripts, styles, stylesheets, images, inputs and labels."""

    def __init__(self) -> None:
        super().__init__()
        self.assets: list[str] = []
        self.inline_scripts = 0
        self.styles = 0
        self.style_attributes = 0
        self.inputs: list[dict[str, str | None]] = []
        self.labels: set[str] = set()
        self._in_label = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.style_attributes += "style" in found
        self.style_attributes += any(name.startswith("on") for name in found)  # onclick= etc.
        if tag == "script":
            if found.get("src"):
                self.assets.append(found["src"] or "")
            else:
                self.inline_scripts += 1
        elif tag == "style":
            self.styles += 1
        elif tag == "link" and found.get("rel") == "stylesheet":
            self.assets.append(found["href"] or "")
        elif tag == "img":
            self.assets.append(found["src"] or "")
        elif tag == "label" and found.get("for"):
            self.labels.add(found["for"] or "")
        elif tag in ("input", "select") and found.get("type") not in ("hidden", "submit"):
            self.inputs.append(found)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def assert_page_rules(html: str) -> Page:
    page = parse(html)
    assert page.inline_scripts == 0 and page.styles == 0 and page.style_attributes == 0
    assert all(not src.startswith(("http:", "https:", "//")) for src in page.assets), page.assets
    unlabelled = [
        i for i in page.inputs if i.get("id") not in page.labels and not i.get("aria-label")
    ]
    assert not unlabelled, unlabelled
    assert re.search(r'<html lang="(vi|en)">', html)
    return page


def placed_order(client: FlaskClient, vendors: Vendors) -> str:
    data = {f"qty_{vendors.a.juice.id}": "2", f"qty_{vendors.a.honey.id}": "1", "method": "vietqr"}
    placed = post_form(client, f"/vendor/stalls/{vendors.a.stall_id}/checkout", data)
    assert placed.status_code == 302
    return placed.headers["Location"]


def test_the_checkout_screen_weighs_under_100_kb(client: FlaskClient, vendors: Vendors) -> None:
    sign_in(client, VENDOR_A)
    screen = client.get(placed_order(client, vendors))
    page = assert_page_rules(text(screen))
    weights = {"html": len(screen.data)}
    for asset in page.assets:
        with client.get(asset) as response:
            assert response.status_code == 200, asset
            weights[asset] = len(response.data)
    print("checkout screen bytes:", weights, "total", sum(weights.values()))
    assert any(asset.endswith("/qr.svg") for asset in page.assets)
    assert any(asset.endswith(".js") for asset in page.assets)
    assert sum(weights.values()) < CHECKOUT_BUDGET
    checkout_form = client.get(f"/vendor/stalls/{vendors.a.stall_id}/checkout")
    assert len(checkout_form.data) < 20_000


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_page_keeps_the_rules(
    client: FlaskClient, session: Session, vendors: Vendors, official: str, lang: str
) -> None:
    stall = session.get_one(Stall, vendors.a.stall_id)
    public = [
        "/",
        "/sign-in",
        "/products?q=mat ong",
        f"/products/{vendors.a.honey.product_id}",
        f"/markets/{stall.market_id}",
        "/products/999999",
    ]
    client.get(f"/?lang={lang}")
    for path in public:
        assert_page_rules(text(client.get(path)))
    sign_in(client, VENDOR_A)
    order = placed_order(client, vendors)
    vendor_pages = [
        "/vendor",
        f"/vendor/stalls/{stall.id}/checkout",
        order,
        order.replace("/vendor", ""),
        f"/vendor/stalls/{stall.id}/today",
        f"/vendor/stalls/{stall.id}/poster",
        f"/vendor/stalls/{stall.id}/listings/new",
        f"/vendor/listings/{vendors.a.juice.id}",
    ]
    for path in vendor_pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_page_rules(text(response))
    client.post(
        "/sign-out",
        data={
            "csrf_token": re.search(
                r'name="csrf_token" value="([^"]+)"', text(client.get("/vendor"))
            ).group(1)
        },
    )
    sign_in(client, OFFICIAL)
    assert_page_rules(text(client.get("/dashboard")))


def test_static_files_are_served(client: FlaskClient, session: Session) -> None:
    with client.get("/static/web/site.css") as css, client.get("/static/web/checkout.js") as js:
        assert css.status_code == 200 and css.mimetype == "text/css"
        assert js.status_code == 200 and "javascript" in js.mimetype
        assert "wait=25" in js.get_data(as_text=True)


def test_a_mistyped_address_in_a_browser_is_a_page_and_in_the_api_json(
    client: FlaskClient,
) -> None:
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    page = client.get("/san-pham-khong-co", headers=browser)
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "<html" in text(page)
    api = client.get("/api/v1/khong-co", headers=browser)
    assert api.status_code == 404 and api.get_json()["code"] == 404
    assert client.get("/san-pham-khong-co").get_json()["code"] == 404  # API clients get JSON

"""Shopper pages, no account needed: markets, the catalog, products, stalls, an order's receipt."""

from flask import render_template, request
from sqlalchemy import select

from catalog import services as catalog
from market.core.clock import vietnam_today
from market.core.db import dialect_of
from market.core.extensions import db
from market.core.pagination import paginate
from market.markets import services as markets
from market.markets.models import Stall
from market.sales import services as sales
from market.web import services
from market.web.blueprint import blp

PAGE_SIZE = 20


@blp.get("/")
def home() -> str:
    """The shopper's way in: a product search and the list of markets."""
    return render_template("web/home.html", markets=services.markets(db.session))


@blp.get("/products")
def products() -> str:
    """Search the OCOP catalog as people type, with or without accents."""
    text = request.args.get("q", "").strip()[:100]
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10_000))
    query = catalog.product_query(catalog.ProductFilters(q=text or None), dialect_of(db.session))
    found = paginate(db.session, query, page, PAGE_SIZE)
    return render_template(
        "web/products.html", q=text, found=found, pages=-(-found["total"] // PAGE_SIZE)
    )


@blp.get("/products/<int:product_id>")
def product(product_id: int) -> str:
    """A product with its OCOP stars and certificate, and the stalls that sell it."""
    item = catalog.get_product(db.session, product_id)
    certificate = item.current_certification
    return render_template(
        "web/product.html",
        product=item,
        certificate=certificate,
        status=certificate.status_on(vietnam_today()) if certificate else None,
        listings=services.product_listings(db.session, product_id),
    )


@blp.get("/markets/<int:market_id>")
def market(market_id: int) -> str:
    """A market and its open stalls with what they sell."""
    place = markets.get_market(db.session, market_id)
    stalls = services.market_stalls(db.session, market_id)
    listings = services.market_listings(db.session, market_id)
    return render_template("web/market.html", market=place, stalls=stalls, listings=listings)


@blp.get("/orders/<order_id>")
def order(order_id: str) -> str:
    """An order's receipt: its lines, its QR code while unpaid, and its payment status."""
    placed = sales.get_order(db.session, order_id)
    stall = db.session.scalar(select(Stall).where(Stall.id == placed.stall_id))
    return render_template("web/order.html", order=placed, payment=placed.payment, stall=stall)

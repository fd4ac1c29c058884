"""Vendor pages: stalls and listings, the checkout screen, cash sales, today's sales, the poster."""

import secrets

from flask import abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from market.core.clock import vietnam_today
from market.core.errors import Conflict, DomainError
from market.core.extensions import db
from market.core.principals import Role
from market.markets import services as markets
from market.markets.models import Stall
from market.sales import services as sales
from market.vendors import services as vendors
from market.vendors.models import Listing
from market.web import services
from market.web.auth import page_access, require_page_principal
from market.web.blueprint import blp
from market.web.forms import (
    CheckoutForm,
    ListingForm,
    add_domain_error,
    checkout_form,
    form_status,
    page_message,
)
from payments.models import PaymentMethod

Page = str | tuple[str, int] | Response
# Services name a listing's fields as the form does; an order line's quantity is its qty_ field.
METHODS = {"vietqr": PaymentMethod.VIETQR, "cash": PaymentMethod.CASH}


def _my_stall(stall_id: int) -> Stall:
    """Return one of the signed-in vendor's stalls; another vendor's is refused (403)."""
    return markets.managed_stall(db.session, require_page_principal(), stall_id)


def _my_listing(listing_id: int) -> Listing:
    listing = vendors.get_listing(db.session, listing_id)
    vendors.ensure_may_manage(require_page_principal(), listing.vendor, "listing")
    return listing


@blp.get("/vendor")
@page_access(Role.VENDOR)
def vendor_home() -> str:
    """The vendor's stalls, each with its listings and the ways to sell."""
    vendor = services.vendor_of(db.session, require_page_principal())
    stalls = services.vendor_stalls(db.session, vendor) if vendor else []
    listings = {stall.id: services.stall_listings(db.session, stall.id) for stall in stalls}
    return render_template("web/vendor_home.html", vendor=vendor, stalls=stalls, listings=listings)


@blp.route("/vendor/stalls/<int:stall_id>/listings/new", methods=["GET", "POST"])
@page_access(Role.VENDOR)
def new_listing(stall_id: int) -> Page:
    """Offer something new at one of your stalls."""
    stall = _my_stall(stall_id)
    form = ListingForm()
    if form.validate_on_submit():
        try:
            vendors.create_listing(
                db.session,
                require_page_principal(),
                stall_id=stall.id,
                price_vnd=form.price_vnd.data or 0,
                stock=form.stock.data or 0,
                unit=form.unit.data or None,
                title=form.title.data or None,
                product_id=form.product_id.data,
            )
            flash("Saved.")
            return redirect(url_for("web.vendor_home"))
        except DomainError as error:
            add_domain_error(form, error)
    page = render_template("web/listing_form.html", form=form, stall=stall, listing=None)
    return page, form_status(form)


@blp.route("/vendor/listings/<int:listing_id>", methods=["GET", "POST"])
@page_access(Role.VENDOR)
def edit_listing(listing_id: int) -> Page:
    """Change a listing's title, unit, price or stock."""
    listing = _my_listing(listing_id)
    form = ListingForm(obj=listing)
    del form.product_id
    if form.validate_on_submit():
        changes = {
            "title": form.title.data or listing.title,
            "unit": form.unit.data or listing.unit,
            "price_vnd": form.price_vnd.data,
            "stock": form.stock.data,
        }
        try:
            vendors.update_listing(db.session, require_page_principal(), listing.id, changes)
            flash("Saved.")
            return redirect(url_for("web.vendor_home"))
        except DomainError as error:
            add_domain_error(form, error)
    page = render_template("web/listing_form.html", form=form, stall=listing.stall, listing=listing)
    return page, form_status(form)


@blp.route("/vendor/stalls/<int:stall_id>/checkout", methods=["GET", "POST"])
@page_access(Role.VENDOR)
def checkout(stall_id: int) -> Page:
    """Pick quantities, then show a VietQR for the shopper to scan, or record a cash sale."""
    stall = _my_stall(stall_id)
    form = checkout_form(services.stall_listings(db.session, stall.id))
    if form.validate_on_submit():
        placed = _place(stall, form)
        if placed is not None:
            return redirect(url_for("web.vendor_order", order_id=placed))
    if not form.key.data or form.errors:
        form.key.data = secrets.token_urlsafe(16)  # a new sale, or one to try again
    return render_template("web/checkout.html", form=form, stall=stall), form_status(form)


def _place(stall: Stall, form: CheckoutForm) -> str | None:
    """Place the order the form describes; return its public id, or None with the form's errors."""
    lines = [
        sales.LineRequest(listing.id, field.data)
        for listing, field in form.quantity_fields()
        if field.data
    ]
    if not lines:
        form.form_errors.append("Choose at least one item.")
        return None
    method = METHODS.get(form.method.data or "vietqr")
    if method is None:
        abort(400)
    try:
        order = sales.place_order(
            db.session,
            stall_id=stall.id,
            lines=lines,
            method=method,
            actor=require_page_principal(),
            idempotency_key=f"web:{stall.id}:{form.key.data}" if form.key.data else None,
        )
    except Conflict as error:
        if error.reason == "idempotency_key_reused":
            form.form_errors.append(
                "This page already placed an order; check the quantities and send again."
            )
            return None
        _line_error(form, lines, error)
        return None
    except DomainError as error:
        _line_error(form, lines, error)
        return None
    return order.public_id


def _line_error(form: CheckoutForm, lines: list[sales.LineRequest], error: DomainError) -> None:
    """Put an order line's refusal (field lines.<i>.quantity) next to that listing's quantity."""
    parts = (error.field or "").split(".")
    if (
        len(parts) >= 2
        and parts[0] == "lines"
        and parts[1].isdigit()
        and int(parts[1]) < len(lines)
    ):
        field = form[f"qty_{lines[int(parts[1])].listing_id}"]
        field.errors = [*field.errors, page_message(error)]
    else:
        form.form_errors.append(page_message(error))


@blp.get("/vendor/orders/<order_id>")
@page_access(Role.VENDOR)
def vendor_order(order_id: str) -> str:
    """The checkout screen: the order's dynamic VietQR, large, turning paid when money arrives."""
    order = sales.get_order(db.session, order_id)
    stall = _my_stall(order.stall_id)
    return render_template("web/vendor_order.html", order=order, payment=order.payment, stall=stall)


@blp.get("/vendor/stalls/<int:stall_id>/today")
@page_access(Role.VENDOR)
def today(stall_id: int) -> str:
    """A stall's sales of today (Vietnam's local day) and the money received by method."""
    stall = _my_stall(stall_id)
    return render_template(
        "web/today.html",
        stall=stall,
        sales=services.day_sales(db.session, stall.id, vietnam_today()),
    )


@blp.get("/vendor/stalls/<int:stall_id>/poster")
@page_access(Role.VENDOR)
def poster(stall_id: int) -> str:
    """The stall's static VietQR poster, ready to print at A6."""
    return render_template("web/poster.html", stall=_my_stall(stall_id))

"""The pages' forms; every one carries a CSRF token (Flask-WTF), except the GET filters."""

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    Field,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from market.core.errors import DomainError
from market.reports.model import Grain
from market.vendors.models import Listing

MAX_QUANTITY = 999
CSRF_MESSAGE = "The form expired or was sent from elsewhere; send it again."


class SignInForm(FlaskForm):
    login = StringField("Login (phone number)", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class SignOutForm(FlaskForm):
    """A form with nothing but its CSRF token: signing out is a POST from our own page."""


class ListingForm(FlaskForm):
    title = StringField(
        "Title", validators=[Optional(), Length(max=160, message="At most 160 characters.")]
    )
    unit = StringField(
        "Unit", validators=[Optional(), Length(max=30, message="At most 30 characters.")]
    )
    price_vnd = IntegerField(
        "Price (dong)",
        validators=[
            InputRequired(),
            NumberRange(
                min=1, max=10_000_000_000, message="Enter a price in whole dong, at least 1."
            ),
        ],
    )
    stock = IntegerField(
        "Stock",
        validators=[
            InputRequired(),
            NumberRange(min=0, max=1_000_000, message="Enter a stock from 0 to 1,000,000."),
        ],
    )
    product_id = IntegerField("Catalog product id (optional)", validators=[Optional()])


class CheckoutForm(FlaskForm):
    """Quantities of a stall's listings, one `qty_<listing id>` field each (see checkout_form)."""

    method = HiddenField(default="vietqr")
    key = HiddenField()

    def quantity_fields(self) -> list[tuple[Listing, Field]]:
        return [(listing, self[f"qty_{listing.id}"]) for listing in self.listings]

    listings: list[Listing]


def checkout_form(listings: list[Listing], **kwargs: Any) -> CheckoutForm:
    """Build the checkout form of a stall: a quantity field, with its label, per listing."""
    fields = {
        f"qty_{listing.id}": IntegerField(
            listing.title,
            validators=[
                Optional(),
                NumberRange(min=0, max=MAX_QUANTITY, message="Enter a whole number from 0 to 999."),
            ],
        )
        for listing in listings
    }
    form_class = type("StallCheckoutForm", (CheckoutForm,), fields)
    form: CheckoutForm = form_class(**kwargs)
    form.listings = listings
    return form


class DashboardForm(FlaskForm):
    """The official's filters: read from the query string, no CSRF (it changes nothing)."""

    class Meta:
        csrf = False

    place = StringField(
        "Place",
        default="VN",
        validators=[DataRequired(), Length(max=20)],
        description="VN, a province (04), a commune (01273) or market:<id>",
    )
    start = DateField("From", name="from", validators=[InputRequired()])
    end = DateField("To", name="to", validators=[InputRequired()])
    grain = SelectField(
        "Grain",
        choices=[grain.value for grain in Grain],
        default=Grain.MONTH.value,
    )


# Refusals whose service message names API parameters: the pages say it their way (see i18n).
PAGE_MESSAGES = {
    "unknown_place": "There is no such place. Write VN, a province (04), a commune (01273) "
    "or market:<id>.",
    "backwards_range": "The end date is before the start date.",
    "out_of_stock": "Not enough left in stock.",
}


def page_message(error: DomainError) -> str:
    """Return what a page says for a service's refusal."""
    return PAGE_MESSAGES.get(error.reason, error.message)


def add_domain_error(
    form: FlaskForm, error: DomainError, fields: dict[str, str] | None = None
) -> None:
    """Show a service's refusal next to the field it names, or above the form if none matches."""
    name = (fields or {}).get(error.field or "", error.field or "")
    if name and name in form:
        form[name].errors = [*form[name].errors, page_message(error)]
    else:
        form.form_errors.append(page_message(error))


def form_status(form: FlaskForm) -> int:
    """Answer a refused form with 400 when its CSRF token failed, 422 for bad fields, else 200."""
    if "csrf_token" in form.errors:
        return 400
    return 422 if form.errors else 200

"""Bodies for vendors and listings."""

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from market.core.fields import MAX_PRICE_VND, identifier, money, text
from market.core.pagination import PageArgs, page_schema
from market.vendors.services import ListingSort


class VendorPublicSchema(Schema):
    id = fields.Integer(dump_only=True)
    display_name = text(120, required=True)
    created_at = fields.AwareDateTime(dump_only=True)


class VendorSchema(VendorPublicSchema):
    """The profile as its owner and administrators see it, with the payout account."""

    user_id = fields.Integer(dump_only=True)
    phone = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.Regexp(
            r"^0[35789]\d{8}$",
            error="A Vietnamese mobile number: 10 digits starting 03, 05, 07, 08 or 09.",
        ),
    )
    bank_bin = fields.String(
        required=True,
        validate=validate.Regexp(r"^\d{6}$", error="A bank BIN is six digits, e.g. 970436."),
    )
    account_number = fields.String(required=True)
    account_holder = text(
        50, required=True, metadata={"description": "The name the bank shows, e.g. NONG THI HOA."}
    )


class ListingSchema(Schema):
    id = fields.Integer(dump_only=True)
    stall_id = identifier(required=True)
    vendor_id = fields.Integer(dump_only=True)
    product_id = identifier(
        allow_none=True,
        load_default=None,
        metadata={"description": "The catalog product sold, if it is one; null for other goods."},
    )
    title = text(160, metadata={"description": "Defaults to the product's name."})
    unit = text(30, metadata={"description": "e.g. kg, hộp, chai; defaults to the product's."})
    price_vnd = money(required=True)
    stock = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=10**6))
    created_at = fields.AwareDateTime(dump_only=True)
    archived_at = fields.AwareDateTime(dump_only=True, allow_none=True)


class ListingUpdateSchema(ListingSchema):
    class Meta:
        exclude = ("stall_id", "product_id")


class ListingArgs(PageArgs):
    market = identifier(strict=False, data_key="market", attribute="market_id")
    stall = identifier(strict=False, data_key="stall", attribute="stall_id")
    vendor = identifier(strict=False, data_key="vendor", attribute="vendor_id")
    province = fields.String(validate=validate.Regexp(r"^\d{2}$", error="Two digits, e.g. 04."))
    commune = fields.String(validate=validate.Regexp(r"^\d{5}$", error="Five digits, e.g. 01273."))
    group = fields.String(validate=validate.Length(max=16))
    stars = fields.Integer(validate=validate.Range(min=3, max=5))
    min_price = fields.Integer(validate=validate.Range(min=0, max=MAX_PRICE_VND))
    max_price = fields.Integer(validate=validate.Range(min=0, max=MAX_PRICE_VND))
    in_stock = fields.Boolean(load_default=False)
    q = fields.String(data_key="q", attribute="text", validate=validate.Length(max=80))
    sort = fields.Enum(ListingSort, by_value=True, load_default=ListingSort.NEWEST)

    @validates_schema
    def check_price_range(self, data: dict[str, Any], **kwargs: Any) -> None:
        low, high = data.get("min_price"), data.get("max_price")
        if low is not None and high is not None and low > high:
            raise ValidationError("max_price must not be below min_price.", "max_price")


ListingPageSchema = page_schema(ListingSchema, "ListingPage")

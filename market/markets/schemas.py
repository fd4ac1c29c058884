"""Bodies for markets and stalls."""

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from market.core.fields import Flag, identifier, text
from market.core.pagination import PageArgs, page_schema
from market.markets.models import MarketKind, StallCategory

CLOCK = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="Use 24-hour HH:MM, e.g. 19:00.")
COMMUNE_CODE = validate.Regexp(r"^\d{5}$", error="A commune code is five digits, e.g. 01273.")


class OpeningSchema(Schema):
    days = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=7)),
        required=True,
        validate=validate.Length(min=1, max=7),
        metadata={"description": "ISO weekdays: 1 is Monday, 7 is Sunday."},
    )
    opens = fields.String(required=True, validate=CLOCK, metadata={"example": "19:00"})
    closes = fields.String(
        required=True,
        validate=CLOCK,
        metadata={"example": "23:00", "description": "Before `opens` means after midnight."},
    )

    @validates_schema
    def check_hours(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("opens") == data.get("closes"):
            raise ValidationError("A market cannot close when it opens.", "closes")


class MarketSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = text(120, required=True)
    commune_code = fields.String(required=True, validate=COMMUNE_CODE)
    province_code = fields.String(dump_only=True)
    kind = fields.Enum(MarketKind, by_value=True, required=True)
    market_class = fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=1, max=3),
        metadata={"description": "1: over 400 stalls; 3: under 200; null: unclassified."},
    )
    address = fields.String(load_default="", validate=validate.Length(max=200))
    simulated = fields.Boolean(dump_only=True)
    schedule = fields.List(
        fields.Nested(OpeningSchema),
        required=True,
        validate=validate.Length(min=1, max=14),
        metadata={"description": "Opening hours in Vietnam's local time (UTC+7)."},
    )
    created_at = fields.AwareDateTime(dump_only=True)


class MarketArgs(PageArgs):
    province = fields.String(validate=validate.Regexp(r"^\d{2}$", error="Two digits, e.g. 04."))
    commune = fields.String(validate=COMMUNE_CODE)
    kind = fields.Enum(MarketKind, by_value=True)
    q = fields.String(validate=validate.Length(max=80))


class StallSchema(Schema):
    id = fields.Integer(dump_only=True)
    market_id = identifier(required=True)
    vendor_id = fields.Integer(dump_only=True)
    code = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[A-Za-z0-9-]{1,16}$", error="1 to 16 letters, digits or dashes, e.g. A12."
        ),
    )
    name = text(120, required=True)
    category = fields.Enum(StallCategory, by_value=True, required=True)
    accepts_qr = Flag(
        load_default=True,
        metadata={"description": "The stall shows its VietQR; false while it takes cash only."},
    )
    qr_since = fields.AwareDateTime(dump_only=True, allow_none=True)
    created_at = fields.AwareDateTime(dump_only=True)
    closed_at = fields.AwareDateTime(dump_only=True, allow_none=True)


class StallUpdateSchema(StallSchema):
    class Meta:
        exclude = ("market_id",)


class StallArgs(PageArgs):
    include_closed = fields.Boolean(load_default=False)


MarketPageSchema = page_schema(MarketSchema, "MarketPage")
StallPageSchema = page_schema(StallSchema, "StallPage")

"""Bodies for checkout."""

from marshmallow import Schema, fields, validate

from market.core.fields import identifier, money
from payments.models import PaymentMethod
from payments.schemas import PaymentSchema


class LineSchema(Schema):
    listing_id = identifier(required=True)
    quantity = fields.Integer(
        strict=True, required=True, validate=validate.Range(min=1, max=10_000)
    )


class OrderRequestSchema(Schema):
    stall_id = identifier(required=True)
    lines = fields.List(
        fields.Nested(LineSchema), required=True, validate=validate.Length(min=1, max=50)
    )
    method = fields.Enum(
        PaymentMethod,
        by_value=True,
        required=True,
        metadata={"description": "vietqr or card by anyone; cash by the stall's vendor"},
    )


class IdempotencyHeaders(Schema):
    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        load_default=None,
        validate=validate.Regexp(
            r"^[!-~]{8,255}$", error="8 to 255 visible ASCII characters, e.g. a UUID."
        ),
        metadata={"description": "Retry with the same key and body: you get the same result."},
    )


class OrderLineSchema(Schema):
    listing_id = fields.Integer(required=True)
    product_id = fields.Integer(allow_none=True)
    title = fields.String(required=True)
    unit = fields.String(required=True)
    unit_price_vnd = fields.Integer(required=True)
    quantity = fields.Integer(required=True)
    line_total_vnd = fields.Integer(required=True)
    is_ocop = fields.Boolean(required=True)


class OrderSchema(Schema):
    id = fields.String(attribute="public_id", required=True)
    stall_id = fields.Integer(required=True)
    market_id = fields.Integer(required=True)
    vendor_id = fields.Integer(required=True)
    total_vnd = fields.Integer(required=True)
    created_at = fields.AwareDateTime(required=True)
    lines = fields.List(fields.Nested(OrderLineSchema), required=True)
    payment = fields.Nested(PaymentSchema, required=True)


class RefundRequestSchema(Schema):
    amount_vnd = money(required=True)

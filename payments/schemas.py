"""Bodies for payments, payment codes and banks."""

from marshmallow import Schema, fields, validate

from payments.banks import bank_by_bin
from payments.gateways.card import ChargeStatus
from payments.models import PaymentMethod, PaymentStatus
from payments.vietqr import Initiation, Service, VietQR


class BankSchema(Schema):
    bin = fields.String(required=True, metadata={"example": "970436"})
    code = fields.String(required=True, metadata={"example": "VCB"})
    short_name = fields.String(required=True, metadata={"example": "Vietcombank"})
    name = fields.String(required=True)


class PayloadSchema(Schema):
    payload = fields.String(
        required=True,
        validate=validate.Length(min=1, max=512),
        metadata={"description": "The text a QR reader gives for the code."},
    )


class VietQRSchema(Schema):
    """The fields of a VietQR code; absent ones are null."""

    point_of_initiation = fields.Enum(Initiation, by_value=True, required=True)
    bin = fields.String(required=True)
    bank = fields.Method("dump_bank", metadata={"description": "The bank of the BIN, if known"})
    account = fields.String(required=True)
    service = fields.Enum(Service, by_value=True, required=True)
    amount = fields.Integer(allow_none=True, metadata={"description": "Whole dong"})
    merchant_name = fields.String(allow_none=True)
    merchant_city = fields.String(allow_none=True)
    bill_number = fields.String(allow_none=True)
    store_label = fields.String(allow_none=True)
    terminal_label = fields.String(allow_none=True)
    reference_label = fields.String(allow_none=True)
    purpose = fields.String(allow_none=True)

    def dump_bank(self, code: VietQR) -> dict[str, str] | None:
        bank = bank_by_bin(code.bin)
        return BankSchema().dump(bank) if bank else None


class PaymentSchema(Schema):
    """A payment as the shopper's and vendor's screens show it."""

    id = fields.String(attribute="public_id", required=True)
    method = fields.Enum(PaymentMethod, by_value=True, required=True)
    status = fields.Enum(PaymentStatus, by_value=True, required=True)
    amount_vnd = fields.Integer(required=True)
    received_vnd = fields.Integer(required=True)
    refunded_vnd = fields.Integer(required=True)
    reference = fields.String(required=True, metadata={"description": "Put in the transfer memo"})
    qr_payload = fields.String(allow_none=True, metadata={"description": "Dynamic VietQR"})
    expires_at = fields.AwareDateTime(allow_none=True)
    attention = fields.String(
        allow_none=True, metadata={"description": "What the vendor must do, e.g. return excess"}
    )
    created_at = fields.AwareDateTime(required=True)


class PaymentWaitArgs(Schema):
    wait = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=30),
        metadata={"description": "Seconds to wait for the status to differ from `status`."},
    )
    status = fields.Enum(PaymentStatus, by_value=True, load_default=None)


class SettlementSchema(Schema):
    """What became of a bank notification."""

    status = fields.Function(
        lambda settlement: "duplicate" if settlement.duplicate else settlement.match,
        metadata={"description": "matched, unmatched, wrong_account, outgoing or duplicate"},
    )
    payment_id = fields.Function(
        lambda settlement: settlement.intent.public_id if settlement.intent else None
    )
    success = fields.Constant(True, metadata={"description": "For SePay, which expects it"})


class CardAttemptRequestSchema(Schema):
    payment_method = fields.String(
        required=True,
        validate=validate.Length(min=3, max=255),
        metadata={
            "description": "A card payment method id from the card gateway, e.g. pm_card_visa"
        },
    )


class CardAttemptSchema(Schema):
    payment = fields.Nested(PaymentSchema, required=True)
    outcome = fields.Enum(ChargeStatus, by_value=True, required=True)
    decline_code = fields.String(allow_none=True)
    message = fields.String(allow_none=True, metadata={"description": "Tell the shopper this"})


class WebhookOutcomeSchema(Schema):
    status = fields.String(
        required=True, metadata={"description": "recorded, duplicate or ignored"}
    )
    event_type = fields.String(required=True)

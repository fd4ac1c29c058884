"""Bodies for payment codes and banks."""

from marshmallow import Schema, fields, validate

from payments.banks import bank_by_bin
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

"""Audit log query arguments and events, as the API shows them."""

from marshmallow import Schema, fields, validate

from market.core.pagination import PageArgs, page_schema


class AuditArgs(PageArgs):
    subject_type = fields.String(validate=validate.Length(min=1, max=32))
    subject_id = fields.String(validate=validate.Length(min=1, max=64))
    actor_user_id = fields.Integer(validate=validate.Range(min=1, max=2_147_483_647))
    action = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"example": "payment.refund"},
    )
    start = fields.Date(data_key="from", metadata={"description": "First Vietnamese local day."})
    end = fields.Date(data_key="to", metadata={"description": "Last Vietnamese local day."})


class AuditEventSchema(Schema):
    id = fields.Integer(required=True)
    occurred_at = fields.AwareDateTime(required=True)
    actor_user_id = fields.Integer(
        required=True, allow_none=True, metadata={"description": "Null for the system."}
    )
    actor_role = fields.String(
        required=True, metadata={"description": "admin, official, vendor or system."}
    )
    action = fields.String(required=True, metadata={"example": "vendor.bank_account_change"})
    subject_type = fields.String(required=True, metadata={"example": "vendor"})
    subject_id = fields.String(required=True)
    details = fields.Dict(
        keys=fields.String(),
        required=True,
        metadata={"description": "Amounts, ids and masked accounts; never a secret."},
    )


AuditEventPageSchema = page_schema(AuditEventSchema, "AuditEventPage")

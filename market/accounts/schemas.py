"""Request and response bodies for accounts."""

from marshmallow import Schema, fields, validate

from market.core.principals import Role


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    role = fields.Enum(Role, by_value=True, required=True)
    created_at = fields.AwareDateTime(dump_only=True)


class TokenRequestSchema(Schema):
    label = fields.String(load_default="", validate=validate.Length(max=80))


class TokenSchema(Schema):
    id = fields.Integer(required=True)
    prefix = fields.String(required=True)
    label = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)
    revoked_at = fields.AwareDateTime(allow_none=True)


class IssuedTokenSchema(TokenSchema):
    token = fields.String(
        required=True, metadata={"description": "The bearer token. It is shown only this once."}
    )


class CreatedUserSchema(Schema):
    user = fields.Nested(UserSchema, required=True)
    token = fields.Nested(IssuedTokenSchema, required=True)

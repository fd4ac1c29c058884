"""Bodies for the places API."""

from marshmallow import Schema, fields, validate

from market.core.pagination import PageArgs, page_schema


class ProvinceSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    short_name = fields.String(required=True)
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)


class ProvinceDetailSchema(ProvinceSchema):
    commune_count = fields.Integer(required=True)


class CommuneSchema(Schema):
    code = fields.String(required=True)
    province_code = fields.String(required=True)
    name = fields.String(required=True)
    short_name = fields.String(required=True)
    kind = fields.String(required=True)
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)
    area_km2 = fields.Float(required=True, allow_none=True)


class CommuneArgs(PageArgs):
    province = fields.String(
        validate=validate.Regexp(r"^\d{2}$", error="A province code is two digits, e.g. 04."),
        metadata={"description": "GSO province code"},
    )
    q = fields.String(
        validate=validate.Length(max=80),
        metadata={"description": "Part of the name, with or without accents"},
    )


CommunePageSchema = page_schema(CommuneSchema, "CommunePage")

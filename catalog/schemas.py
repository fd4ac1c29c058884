"""Request and response bodies for the catalog."""

from marshmallow import Schema, fields, validate

from catalog.groups import group_codes, subgroup_codes
from catalog.models import (
    Certification,
    CertificationStatus,
    IssuingLevel,
    Platform,
    ProducerType,
)
from catalog.services import SORTS
from market.core.clock import vietnam_today
from market.core.fields import identifier, text
from market.core.pagination import PageArgs, page_schema

COMMUNE_CODE = validate.Regexp(r"^\d{5}$", error="A commune code is five digits, e.g. 01273.")
PROVINCE_CODE = validate.Regexp(r"^\d{2}$", error="A province code is two digits, e.g. 04.")


class SubgroupSchema(Schema):
    code = fields.String(required=True)
    parent_code = fields.String(required=True)
    name_vi = fields.String(required=True)
    name_en = fields.String(required=True)
    source = fields.String(required=True, metadata={"description": "Where the row comes from"})


class ProductGroupSchema(SubgroupSchema):
    parent_code = fields.String(required=True, allow_none=True)
    subgroups = fields.List(fields.Nested(SubgroupSchema), required=True)


class ProducerSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = text(200, required=True)
    producer_type = fields.Enum(ProducerType, by_value=True, required=True)
    tax_code = fields.String(
        allow_none=True,
        validate=validate.Length(max=20),
        metadata={"description": "MST: 10 digits, or 10-3 for a branch (0101234567-001)"},
    )
    commune_code = fields.String(required=True, validate=COMMUNE_CODE)
    created_at = fields.AwareDateTime(dump_only=True)


class ProducerArgs(PageArgs):
    producer_type = fields.Enum(ProducerType, by_value=True)
    commune = fields.String(validate=COMMUNE_CODE)


class ProducerSummarySchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    producer_type = fields.Enum(ProducerType, by_value=True, required=True)


def _status_today(certification: Certification) -> str:
    return certification.status_on(vietnam_today()).value


class CertificationSchema(Schema):
    id = fields.Integer(dump_only=True)
    product_id = fields.Integer(dump_only=True)
    stars = fields.Integer(strict=True, required=True, validate=validate.Range(min=3, max=5))
    score = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=100))
    decision_number = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"example": "828/QĐ-UBND"},
    )
    decision_date = fields.Date(required=True)
    issuing_level = fields.Enum(IssuingLevel, by_value=True, required=True)
    valid_until = fields.Date(dump_only=True, metadata={"description": "decision_date + 36 months"})
    status = fields.Function(
        _status_today,
        dump_only=True,
        metadata={"description": "On today's date in Vietnam", "enum": list(CertificationStatus)},
    )
    revoked_at = fields.AwareDateTime(dump_only=True, allow_none=True)
    revocation_reason = fields.String(dump_only=True, allow_none=True)


class CertificationSummarySchema(Schema):
    id = fields.Integer(required=True)
    stars = fields.Integer(required=True)
    valid_until = fields.Date(required=True)
    status = fields.Function(_status_today, required=True)


class RevocationSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ProductSchema(Schema):
    id = fields.Integer(dump_only=True)
    producer_id = identifier(required=True)
    producer = fields.Nested(ProducerSummarySchema, dump_only=True)
    name = text(200, required=True)
    group_code = fields.String(required=True, metadata={"description": "GET /product-groups"})
    subgroup_code = fields.String(required=True, metadata={"description": "GET /product-groups"})
    description = fields.String(validate=validate.Length(max=10_000))
    unit = fields.String(required=True, validate=validate.Length(min=1, max=32))
    origin_commune_code = fields.String(required=True, validate=COMMUNE_CODE)
    current_certification = fields.Nested(CertificationSchema, dump_only=True, allow_none=True)
    created_at = fields.AwareDateTime(dump_only=True)
    archived_at = fields.AwareDateTime(dump_only=True, allow_none=True)


class ProductCardSchema(Schema):
    """A product as a list shows it: no description, the certification in brief."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    producer = fields.Nested(ProducerSummarySchema, required=True)
    group_code = fields.String(required=True)
    subgroup_code = fields.String(required=True)
    unit = fields.String(required=True)
    origin_commune_code = fields.String(required=True)
    current_certification = fields.Nested(
        CertificationSummarySchema, required=True, allow_none=True
    )
    archived_at = fields.AwareDateTime(required=True, allow_none=True)


class RemovalSchema(Schema):
    id = fields.Integer(required=True)
    outcome = fields.String(
        required=True,
        validate=validate.OneOf(["deleted", "archived"]),
        metadata={"description": "archived: something still references the product"},
    )
    archived_at = fields.AwareDateTime(allow_none=True)


class ProductArgs(PageArgs):
    q = fields.String(
        validate=validate.Length(max=100),
        metadata={"description": "Words typed with or without accents; the last may be unfinished"},
    )
    province = fields.String(validate=PROVINCE_CODE, metadata={"description": "of origin"})
    commune = fields.String(validate=COMMUNE_CODE, metadata={"description": "of origin"})
    group = fields.String(validate=validate.OneOf(group_codes()))
    subgroup = fields.String(validate=validate.OneOf(subgroup_codes()))
    stars = fields.Integer(validate=validate.Range(min=3, max=5))
    status = fields.Enum(CertificationStatus, by_value=True)
    producer_type = fields.Enum(ProducerType, by_value=True)
    include_archived = fields.Boolean(load_default=False)
    sort = fields.String(
        validate=validate.OneOf(SORTS),
        metadata={"description": "Default: relevance when q is given, else name"},
    )


class EcommerceListingSchema(Schema):
    id = fields.Integer(dump_only=True)
    product_id = fields.Integer(dump_only=True)
    platform = fields.Enum(Platform, by_value=True, required=True)
    url = fields.URL(required=True, schemes={"http", "https"}, validate=validate.Length(max=2048))
    listed_at = fields.AwareDateTime()
    delisted_at = fields.AwareDateTime(allow_none=True)


ProducerPageSchema = page_schema(ProducerSchema, "ProducerPage")
ProductPageSchema = page_schema(ProductCardSchema, "ProductPage")

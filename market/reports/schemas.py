"""Report queries and their JSON shape."""

from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from market.core.clock import vietnam_today
from market.core.fields import text
from market.reports.model import Grain, Unit


class Number(fields.Decimal):
    """A number as JSON reads it: whole counts and dong stay integers, ratios become decimals."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return float(value) if isinstance(value, Decimal) else value


class ReportArgs(Schema):
    place = fields.List(
        fields.String(validate=validate.Length(min=1, max=20)),
        load_default=lambda: ["VN"],
        validate=validate.Length(min=1, max=2, error="Give one place, or two to compare."),
        metadata={
            "description": "VN, a province (04), a commune (01273), market:<id> or vendor:<id>; "
            "repeat to compare two places."
        },
    )
    start = fields.Date(required=True, data_key="from", metadata={"example": "2026-01-01"})
    end = fields.Date(required=True, data_key="to", metadata={"example": "2026-06-30"})
    grain = fields.Enum(Grain, by_value=True, load_default=Grain.MONTH)
    indicator = fields.List(
        fields.String(validate=validate.Length(min=1, max=40)),
        load_default=list,
        metadata={"description": "Indicator codes; all measured ones when omitted."},
    )
    compare_start = fields.Date(data_key="compare_from")
    compare_end = fields.Date(data_key="compare_to")

    @validates_schema
    def _compare_range_whole(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("compare_start" in data) != ("compare_end" in data):
            raise ValidationError(
                "Give both compare_from and compare_to, or neither.", "compare_to"
            )


class PlaceSchema(Schema):
    level = fields.String()
    code = fields.String()
    name = fields.String()


class PeriodSchema(Schema):
    grain = fields.Enum(Grain, by_value=True)
    start = fields.Date()
    end = fields.Date()
    label = fields.String()


class IndicatorSchema(Schema):
    code = fields.String()
    title = fields.String()
    title_en = fields.String()
    unit = fields.Enum(Unit, by_value=True)
    definition = fields.String()
    numerator = fields.String()
    denominator = fields.String()


class ValueSchema(Schema):
    indicator = fields.String()
    place = fields.Function(lambda value: value.place.code)
    period = fields.Function(lambda value: value.period.label)
    dimensions = fields.Dict(keys=fields.String(), values=fields.String())
    value = Number(
        allow_none=True, metadata={"description": "null when nothing can be divided; see note."}
    )
    unit = fields.Enum(Unit, by_value=True)
    numerator = fields.Integer(allow_none=True)
    denominator = fields.Integer(allow_none=True)
    source = fields.String(metadata={"description": "recorded, simulated or reported."})
    as_of = fields.Date(allow_none=True)
    note = fields.String(allow_none=True)


class ReportSchema(Schema):
    places = fields.List(fields.Nested(PlaceSchema))
    periods = fields.List(fields.Nested(PeriodSchema))
    indicators = fields.List(fields.Nested(IndicatorSchema))
    values = fields.List(fields.Nested(ValueSchema))


class FigureSchema(Schema):
    id = fields.Integer(dump_only=True)
    indicator = fields.String(required=True, validate=validate.Length(min=1, max=40))
    place = fields.Function(
        lambda figure: f"{figure.place_level}:{figure.place_code}",
        deserialize=str,
        required=True,
        metadata={"description": "VN, a province (04), a commune (01273)."},
    )
    as_of = fields.Date(required=True)
    value = Number(required=True, places=4)
    source = text(300, required=True, metadata={"example": "vietnam.vn, 12 May 2025"})
    note = fields.String(load_default="", validate=validate.Length(max=500))

    @validates_schema
    def _not_in_the_future(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "as_of" in data and data["as_of"] > vietnam_today():
            raise ValidationError("A reported figure cannot be dated in the future.", "as_of")

"""Marshmallow fields with the project's rules: non-blank text, and money as whole dong."""

from typing import Any

from marshmallow import fields, validate

MAX_PRICE_VND = 1_000_000_000
"""The dearest single item anyone lists at a market stall (one billion dong)."""


def text(max_length: int, **kwargs: Any) -> fields.String:
    """A string of 1 to `max_length` characters that is not only spaces."""
    return fields.String(
        validate=[
            validate.Length(min=1, max=max_length),
            validate.Regexp(r"\S", error="Must not be blank."),
        ],
        **kwargs,
    )


def money(**kwargs: Any) -> fields.Integer:
    """A positive whole number of dong; strings, fractions and floats are refused."""
    return fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=MAX_PRICE_VND),
        metadata={"description": "Whole Vietnamese dong (VND), no decimals."},
        **kwargs,
    )


MAX_ID = 2_147_483_647
"""The largest row id (PostgreSQL's `integer`, the type of every primary key)."""

ID = f"int(min=1, max={MAX_ID})"
"""The URL converter of a row id: `/stalls/<{ID}:stall_id>`; any other number is a 404."""


def identifier(*, strict: bool = True, **kwargs: Any) -> fields.Integer:
    """The id of a row: a whole number from 1 to MAX_ID (`strict=False` for query strings)."""
    return fields.Integer(strict=strict, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class Flag(fields.Boolean):
    """A JSON boolean: true or false, not 1, "yes" or "on" (query strings use fields.Boolean)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value

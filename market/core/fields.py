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

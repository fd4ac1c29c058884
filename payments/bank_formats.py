"""Bank-notification formats: authenticate a webhook call and read the transfer it reports.

Each parser takes the raw body (signatures are computed over the bytes as sent, never over
re-serialised JSON) and the request headers, and returns a `BankTransfer` or raises.
"""

import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from market.core.clock import VIETNAM
from market.core.errors import DomainError, Unauthorized
from payments.errors import InvalidSignature

SIGNATURE_TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class BankTransfer:
    """One transfer as a notification service reports it."""

    provider: str
    transaction_id: str
    account_number: str
    amount_vnd: int
    memo: str
    occurred_at: datetime
    incoming: bool
    code: str | None = None  # a payment code the service already cut out of the memo


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise DomainError("The body is not JSON.", field="body", location="body") from error
    if not isinstance(body, dict):
        raise DomainError("The body must be a JSON object.", field="body", location="body")
    return body


def _field(body: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DomainError(f"{name} is missing or has the wrong type.", field=name)
    return value


def _amount(body: Mapping[str, Any], name: str) -> int:
    value = _field(body, name, (int, float, str))
    try:
        amount = Decimal(str(value))
    except InvalidOperation as error:
        raise DomainError(f"{name} must be a whole number of dong.", field=name) from error
    if amount != amount.to_integral_value() or amount <= 0 or amount > 10**13:
        raise DomainError(f"{name} must be a positive whole number of dong.", field=name)
    return int(amount)


def _local_time(body: Mapping[str, Any], name: str) -> datetime:
    """Read "2024-07-25 14:02:37", which these services write in Vietnam's local time."""
    text = _field(body, name, str)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise DomainError(f"{name} must be a date and time.", field=name) from error
    return (moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM)).astimezone(UTC)


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not value:
        raise InvalidSignature(f"The {name} header is missing.", field=name, location="headers")
    return value


def _timestamped_signature(header: str, name: str) -> tuple[str, list[str]]:
    """Split "t=...,v1=...[,v1=...]" into the timestamp and the signatures."""
    parts = [part.partition("=") for part in header.split(",")]
    stamps = [value for key, _, value in parts if key.strip() == "t"]
    signatures = [value.strip() for key, _, value in parts if key.strip() == "v1"]
    if len(stamps) != 1 or not stamps[0].strip().isdigit() or not signatures:
        raise InvalidSignature(
            f"The {name} header must be t=<time>,v1=<hex>.", field=name, location="headers"
        )
    return stamps[0].strip(), signatures


def _check_fresh(seconds: float, now: float | None, name: str) -> None:
    if abs((now if now is not None else time.time()) - seconds) > SIGNATURE_TOLERANCE_SECONDS:
        raise InvalidSignature(
            "The signature is too old or from the future; a replayed call is refused.",
            field=name,
            location="headers",
            reason="stale_signature",
        )


def _check_any(expected: str, signatures: list[str], name: str) -> None:
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise InvalidSignature(
            "The signature does not match the body.", field=name, location="headers"
        )


def parse_sepay(raw: bytes, headers: Mapping[str, str], api_key: str | None) -> BankTransfer:
    """Read a SePay webhook, authenticated by `Authorization: Apikey <key>`."""
    given = headers.get("Authorization", "")
    scheme, _, key = given.partition(" ")
    if not api_key or scheme.lower() != "apikey" or not hmac.compare_digest(key.strip(), api_key):
        raise Unauthorized(
            "Send 'Authorization: Apikey <key>' with the key configured as SEPAY_API_KEY.",
            field="Authorization",
            location="headers",
        )
    body = _json(raw)
    direction = _field(body, "transferType", str)
    if direction not in ("in", "out"):
        raise DomainError("transferType must be 'in' or 'out'.", field="transferType")
    return BankTransfer(
        provider="sepay",
        transaction_id=str(_field(body, "id", (int, str))),
        account_number=_field(body, "accountNumber", str),
        amount_vnd=_amount(body, "transferAmount"),
        memo=str(body.get("content") or ""),
        occurred_at=_local_time(body, "transactionDate"),
        incoming=direction == "in",
        code=body.get("code") if isinstance(body.get("code"), str) else None,
    )


def _sorted_json(value: Any) -> str:
    """Casso signs the body with keys sorted at every depth and no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parse_casso(
    raw: bytes, headers: Mapping[str, str], key: str | None, now: float | None = None
) -> BankTransfer:
    """Read a Casso v2 webhook signed `X-Casso-Signature: t=<ms>,v1=HMAC-SHA512(t.body)`."""
    if not key:
        raise InvalidSignature(
            "Casso webhooks are not configured (CASSO_WEBHOOK_KEY).",
            field="X-Casso-Signature",
            location="headers",
        )
    stamp, signatures = _timestamped_signature(
        _header(headers, "X-Casso-Signature"), "X-Casso-Signature"
    )
    _check_fresh(int(stamp) / 1000, now, "X-Casso-Signature")
    body = _json(raw)
    message = f"{stamp}.{_sorted_json(body)}".encode()
    expected = hmac.new(key.encode(), message, hashlib.sha512).hexdigest()
    _check_any(expected, signatures, "X-Casso-Signature")
    data = _field(body, "data", dict)
    signed = str(_field(data, "amount", (int, float, str)))
    return BankTransfer(
        provider="casso",
        transaction_id=str(_field(data, "id", (int, str))),
        account_number=_field(data, "accountNumber", str),
        amount_vnd=_amount({"amount": signed.removeprefix("-")}, "amount"),
        memo=str(data.get("description") or ""),
        occurred_at=_local_time(data, "transactionDateTime"),
        incoming=not signed.startswith("-"),
    )


def sign_simbank(raw: bytes, secret: str, timestamp: int) -> str:
    """Return the X-OCOP-Signature header the simulator's bank sends with `raw`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def parse_simbank(
    raw: bytes, headers: Mapping[str, str], secret: str | None, now: float | None = None
) -> BankTransfer:
    """Read our own format, signed `X-OCOP-Signature: t=<unix>,v1=HMAC-SHA256(t.body)`."""
    if not secret:
        raise InvalidSignature(
            "Simulator bank webhooks are not configured (SIMBANK_WEBHOOK_SECRET).",
            field="X-OCOP-Signature",
            location="headers",
        )
    stamp, signatures = _timestamped_signature(
        _header(headers, "X-OCOP-Signature"), "X-OCOP-Signature"
    )
    _check_fresh(int(stamp), now, "X-OCOP-Signature")
    expected = sign_simbank(raw, secret, int(stamp)).partition("v1=")[2]
    _check_any(expected, signatures, "X-OCOP-Signature")
    body = _json(raw)
    return BankTransfer(
        provider="simbank",
        transaction_id=str(_field(body, "transaction_id", str)),
        account_number=_field(body, "account_number", str),
        amount_vnd=_amount(body, "amount_vnd"),
        memo=_field(body, "memo", str),
        occurred_at=_local_time(body, "occurred_at"),
        incoming=True,
    )


REFERENCE_TOKEN = re.compile(r"OC[0-9A-HJKMNP-TV-Z]{8}")


def find_reference(transfer: BankTransfer) -> str | None:
    """Find our order reference as a token in the memo, which banks decorate with their own text."""
    for text in (transfer.code, transfer.memo):
        if text and (match := REFERENCE_TOKEN.search(text.upper())):
            return match.group()
    return None

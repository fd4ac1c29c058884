"""Payment services the HTTP API calls: codes, images, waiting for a status, bank webhooks."""

import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from market.core.errors import DomainError, NotFound
from payments import bank_formats, changes, intents, qr, transfers, vietqr
from payments.models import PaymentIntent, PaymentStatus


def read_payment_code(payload: str) -> vietqr.VietQR:
    """Decode a VietQR payload, or refuse it listing every problem with the tag it concerns."""
    try:
        return vietqr.decode(payload)
    except vietqr.VietQRError as error:
        raise DomainError(
            f"This is not a valid VietQR code: {error.problems[0]}",
            field="payload",
            reason="invalid_vietqr",
            problems=[str(problem) for problem in error.problems],
        ) from error


def await_change(
    session: Session,
    public_id: str,
    seen: PaymentStatus | None,
    wait_seconds: float,
    board: changes.ChangeBoard | None = None,
) -> PaymentIntent:
    """Return the intent once its status differs from `seen`, or when `wait_seconds` have passed.

    A vendor's screen long-polls this instead of asking every second. The commit that changes
    the status wakes it (payments/changes.py); it also looks again every few seconds, or every
    second without Redis, for changes no board announced. It holds no database connection
    while it waits.
    """
    if seen is None or wait_seconds <= 0:
        return intents.get_intent(session, public_id)
    board = board or changes.board_for(session)
    deadline = time.monotonic() + wait_seconds
    with board.watch(public_id) as woken:  # before the first look: no change slips between
        while True:
            intent = intents.get_intent(session, public_id)
            left = deadline - time.monotonic()
            if intent.status != seen or left <= 0:
                return intent
            session.rollback()  # end the read and free the connection while waiting
            woken.wait(min(board.recheck_seconds, left))
            woken.clear()


def payment_image(session: Session, public_id: str, image_format: str) -> bytes:
    """Render a VietQR payment's dynamic code as PNG or SVG bytes."""
    intent = intents.get_intent(session, public_id)
    if intent.qr_payload is None:
        raise NotFound(
            "This payment is not paid by QR, so it has no code.",
            field="payment_id",
            location="path",
        )
    if image_format == "png":
        return qr.order_png(intent.qr_payload)
    return qr.order_svg(intent.qr_payload).encode()


BANK_FORMATS = {
    "sepay": lambda raw, headers, settings: bank_formats.parse_sepay(
        raw, headers, settings.get("SEPAY_API_KEY")
    ),
    "casso": lambda raw, headers, settings: bank_formats.parse_casso(
        raw, headers, settings.get("CASSO_WEBHOOK_KEY")
    ),
    "simbank": lambda raw, headers, settings: bank_formats.parse_simbank(
        raw, headers, settings.get("SIMBANK_WEBHOOK_SECRET")
    ),
}


def receive_bank_notification(
    session: Session,
    provider: str,
    raw: bytes,
    headers: Mapping[str, str],
    settings: Mapping[str, Any],
) -> transfers.Settlement:
    """Authenticate a bank-notification call in its provider's format and settle its transfer."""
    parse = BANK_FORMATS.get(provider)
    if parse is None:
        raise NotFound(
            f"No bank-notification format {provider!r}; use one of {', '.join(BANK_FORMATS)}.",
            field="provider",
            location="path",
        )
    return transfers.settle_transfer(session, parse(raw, headers, settings))

"""Payment services: reading payment codes people bring us."""

from market.core.errors import DomainError
from payments import vietqr


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

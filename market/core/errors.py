"""Domain errors: each carries an HTTP status, a stable reason, a message and the field at fault."""

from http import HTTPStatus


class DomainError(Exception):
    """A request that the rules refuse; the API answers it with a 4xx in the one error shape."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY
    reason = "invalid"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        location: str = "json",
        reason: str | None = None,
        problems: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.location = location
        self.problems = problems or [message]
        if reason is not None:
            self.reason = reason


class NotFound(DomainError):
    """The thing asked for does not exist (or the caller may not know that it does)."""

    status = HTTPStatus.NOT_FOUND
    reason = "not_found"


class Conflict(DomainError):
    """The request clashes with the current state, e.g. a duplicate or a reused idempotency key."""

    status = HTTPStatus.CONFLICT
    reason = "conflict"


class Unauthorized(DomainError):
    """No valid credentials were sent."""

    status = HTTPStatus.UNAUTHORIZED
    reason = "unauthorized"


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    status = HTTPStatus.FORBIDDEN
    reason = "forbidden"

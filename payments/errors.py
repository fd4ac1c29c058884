"""Payment errors that the API answers with their own status."""

from http import HTTPStatus

from market.core.errors import DomainError


class InvalidSignature(DomainError):
    """A webhook call is not provably from its service; nothing was recorded."""

    status = HTTPStatus.BAD_REQUEST
    reason = "invalid_signature"


class GatewayUnavailable(DomainError):
    """The card service could not be reached or answered nonsense; nothing was charged here."""

    status = HTTPStatus.BAD_GATEWAY
    reason = "card_gateway_unavailable"

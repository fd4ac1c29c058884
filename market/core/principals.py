"""Roles and the authenticated caller, as plain values that services can take without Flask."""

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """The role of an account.

    admin: runs the platform (markets, producers, certifications, accounts).
    official: reads and exports cashless-adoption reports.
    vendor: runs its own stalls, listings and sales.
    """

    ADMIN = "admin"
    OFFICIAL = "official"
    VENDOR = "vendor"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    user_id: int
    role: Role

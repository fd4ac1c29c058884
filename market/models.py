"""Every mapped model, imported once so that Alembic and the app see the whole schema."""

from market.accounts.models import ApiToken, User
from market.places.models import Commune, Province

__all__ = ["ApiToken", "Commune", "Province", "User"]

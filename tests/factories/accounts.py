"""Factories for accounts."""

import factory

from market.accounts.models import User
from market.core.principals import Role
from tests.factories import current_session


class UserFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        model = User
        sqlalchemy_session_factory = current_session
        sqlalchemy_session_persistence = "flush"

    name = factory.Sequence(lambda n: f"Người dùng {n}")
    role = Role.VENDOR

"""Accounts API: administrators create accounts; everyone manages their own tokens."""

from flask.views import MethodView
from flask_smorest import Blueprint

from market.accounts import services
from market.accounts.schemas import (
    CreatedUserSchema,
    IssuedTokenSchema,
    TokenRequestSchema,
    TokenSchema,
    UserSchema,
)
from market.core.access import allow, require_principal
from market.core.extensions import db
from market.core.fields import ID
from market.core.principals import Role

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Accounts and API tokens")
EVERY_ROLE = tuple(Role)


@blp.route("/users")
class Users(MethodView):
    @allow(Role.ADMIN)
    @blp.arguments(UserSchema())
    @blp.response(201, CreatedUserSchema)
    def post(self, data):
        """Create an account and its first token."""
        user = services.create_user(db.session, data["name"], data["role"])
        return {"user": user, "token": services.issue_token(db.session, user, "first token")}


@blp.route("/me")
class Me(MethodView):
    @allow(*EVERY_ROLE)
    @blp.response(200, UserSchema)
    def get(self):
        """Return the account of the token's owner."""
        return services.get_user(db.session, require_principal().user_id)


@blp.route("/tokens")
class Tokens(MethodView):
    @allow(*EVERY_ROLE)
    @blp.arguments(TokenRequestSchema(), required=False)
    @blp.response(201, IssuedTokenSchema)
    def post(self, data):
        """Issue another token for the caller's own account."""
        user = services.get_user(db.session, require_principal().user_id)
        return services.issue_token(db.session, user, data["label"])


@blp.route(f"/tokens/<{ID}:token_id>")
class Token(MethodView):
    @allow(*EVERY_ROLE)
    @blp.response(200, TokenSchema)
    def delete(self, token_id):
        """Revoke a token; it stops working at once."""
        return services.revoke_token(db.session, require_principal(), token_id)

"""Page handlers: thin, like the API's; the services do the work."""

from flask import Blueprint, render_template
from sqlalchemy import select

from market.core.extensions import db
from market.markets.models import Market

blp = Blueprint("web", __name__, template_folder="templates", static_folder="static")


@blp.get("/")
def home() -> str:
    """List the markets, the shopper's way in."""
    markets = db.session.scalars(select(Market).order_by(Market.name)).all()
    return render_template("web/home.html", markets=markets)

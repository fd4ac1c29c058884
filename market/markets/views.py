"""Markets API (administrators manage markets) and stalls API (vendors open their own)."""

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from market.core.access import allow, require_principal
from market.core.extensions import db
from market.core.fields import ID
from market.core.pagination import paginate
from market.core.principals import Role
from market.markets import services
from market.markets.schemas import (
    MarketArgs,
    MarketPageSchema,
    MarketSchema,
    StallArgs,
    StallPageSchema,
    StallSchema,
    StallUpdateSchema,
)

blp = Blueprint("markets", __name__, url_prefix="/api/v1", description="Markets and stalls")


@blp.route("/markets")
class Markets(MethodView):
    @blp.arguments(MarketArgs(), location="query")
    @blp.response(200, MarketPageSchema)
    def get(self, args):
        """List markets by province, commune, kind or name (with or without accents)."""
        query = services.market_query(
            args.get("province"), args.get("commune"), args.get("kind"), args.get("q")
        )
        return paginate(db.session, query, args["page"], args["page_size"])

    @allow(Role.ADMIN)
    @blp.arguments(MarketSchema())
    @blp.response(201, MarketSchema)
    def post(self, data):
        """Register a market."""
        return services.create_market(db.session, **data)


@blp.route(f"/markets/<{ID}:market_id>")
class MarketDetail(MethodView):
    @blp.response(200, MarketSchema)
    def get(self, market_id):
        """Return a market with its opening hours."""
        return services.get_market(db.session, market_id)

    @allow(Role.ADMIN)
    @blp.arguments(MarketSchema(partial=True), required=False)
    @blp.response(200, MarketSchema)
    def patch(self, data, market_id):
        """Change a market's details."""
        return services.update_market(db.session, market_id, data)

    @allow(Role.ADMIN)
    @blp.response(204)
    def delete(self, market_id):
        """Delete a market that never had a stall."""
        services.delete_market(db.session, market_id)


@blp.route(f"/markets/<{ID}:market_id>/stalls")
class MarketStalls(MethodView):
    @blp.arguments(StallArgs(), location="query")
    @blp.response(200, StallPageSchema)
    def get(self, args, market_id):
        """List a market's stalls in code order."""
        services.get_market(db.session, market_id)
        query = services.stall_query(market_id, args["include_closed"])
        return paginate(db.session, query, args["page"], args["page_size"])


@blp.route("/stalls")
class Stalls(MethodView):
    @allow(Role.VENDOR)
    @blp.arguments(StallSchema())
    @blp.response(201, StallSchema)
    def post(self, data):
        """Open a stall in a market for your vendor profile."""
        return services.open_stall(db.session, require_principal(), **data)


@blp.route(f"/stalls/<{ID}:stall_id>")
class StallDetail(MethodView):
    @blp.response(200, StallSchema)
    def get(self, stall_id):
        """Return a stall."""
        return services.get_stall(db.session, stall_id)

    @allow(Role.VENDOR, Role.ADMIN)
    @blp.arguments(StallUpdateSchema(partial=True), required=False)
    @blp.response(200, StallSchema)
    def patch(self, data, stall_id):
        """Rename your stall or change its code or category."""
        return services.update_stall(db.session, require_principal(), stall_id, data)

    @allow(Role.VENDOR, Role.ADMIN)
    @blp.response(200, StallSchema)
    def delete(self, stall_id):
        """Close your stall; its sales history stays."""
        return services.close_stall(db.session, require_principal(), stall_id)


@blp.route(f"/stalls/<{ID}:stall_id>/<any(qr, poster):kind>.<any(png, svg):image_format>")
class StallCode(MethodView):
    @blp.response(200, content_type="image/png")
    @blp.alt_response(200, content_type="image/svg+xml", success=True)
    def get(self, stall_id, kind, image_format):
        """Return the stall's static VietQR (`qr`) or its printable A6 poster (`poster`)."""
        image = services.stall_qr_image(db.session, stall_id, kind == "poster", image_format)
        return Response(
            image,
            mimetype=services.IMAGE_TYPES[image_format],
            headers={"Cache-Control": "private, max-age=300"},
        )

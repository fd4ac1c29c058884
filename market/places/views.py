"""Places API: read-only, open to everyone."""

from flask.views import MethodView
from flask_smorest import Blueprint

from market.core.extensions import db
from market.core.pagination import paginate
from market.places import services
from market.places.schemas import (
    CommuneArgs,
    CommunePageSchema,
    CommuneSchema,
    ProvinceDetailSchema,
    ProvinceSchema,
)

blp = Blueprint("places", __name__, url_prefix="/api/v1", description="Provinces and communes")


@blp.route("/provinces")
class Provinces(MethodView):
    @blp.response(200, ProvinceSchema(many=True))
    def get(self):
        """List the 34 provinces and centrally-run cities."""
        return services.list_provinces(db.session)


@blp.route("/provinces/<code>")
class ProvinceDetail(MethodView):
    @blp.response(200, ProvinceDetailSchema)
    def get(self, code):
        """Return a province with its number of communes."""
        province = services.get_province(db.session, code)
        return {
            **ProvinceSchema().dump(province),
            "commune_count": services.count_communes(db.session, code),
        }


@blp.route("/communes")
class Communes(MethodView):
    @blp.arguments(CommuneArgs(), location="query")
    @blp.response(200, CommunePageSchema)
    def get(self, args):
        """List communes, filtered by province and by name typed with or without accents."""
        query = services.commune_query(args.get("province"), args.get("q"))
        return paginate(db.session, query, args["page"], args["page_size"])


@blp.route("/communes/<code>")
class CommuneDetail(MethodView):
    @blp.response(200, CommuneSchema)
    def get(self, code):
        """Return a commune by its GSO code."""
        return services.get_commune(db.session, code)

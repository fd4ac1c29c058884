"""Vendors API: a vendor account registers and manages its own business profile."""

from flask.views import MethodView
from flask_smorest import Blueprint

from market.core.access import allow, require_principal
from market.core.extensions import db
from market.core.fields import ID
from market.core.pagination import paginate
from market.core.principals import Role
from market.vendors import services
from market.vendors.schemas import (
    ListingArgs,
    ListingPageSchema,
    ListingSchema,
    ListingUpdateSchema,
    VendorPublicSchema,
    VendorSchema,
)

blp = Blueprint("vendors", __name__, url_prefix="/api/v1", description="Vendors and listings")


@blp.route("/vendors")
class Vendors(MethodView):
    @allow(Role.VENDOR)
    @blp.arguments(VendorSchema())
    @blp.response(201, VendorSchema)
    def post(self, data):
        """Register your business and the bank account that receives your payments."""
        return services.register_vendor(db.session, require_principal(), **data)


@blp.route("/vendors/me")
class OwnVendor(MethodView):
    @allow(Role.VENDOR)
    @blp.response(200, VendorSchema)
    def get(self):
        """Return your vendor profile with its payout account."""
        return services.own_vendor(db.session, require_principal())


@blp.route(f"/vendors/<{ID}:vendor_id>")
class VendorDetail(MethodView):
    @blp.response(200, VendorPublicSchema)
    def get(self, vendor_id):
        """Return a vendor's public profile."""
        return services.get_vendor(db.session, vendor_id)

    @allow(Role.VENDOR, Role.ADMIN)
    @blp.arguments(VendorSchema(partial=True), required=False)
    @blp.response(200, VendorSchema)
    def patch(self, data, vendor_id):
        """Change your display name, phone or payout bank account."""
        return services.update_vendor(db.session, require_principal(), vendor_id, data)


@blp.route("/listings")
class Listings(MethodView):
    @blp.arguments(ListingArgs(), location="query")
    @blp.response(200, ListingPageSchema)
    def get(self, args):
        """Browse what is on sale: by market, place, product group, stars, price and stock."""
        page, page_size = args.pop("page"), args.pop("page_size")
        query = services.listing_query(services.ListingFilter(**args))
        return paginate(db.session, query, page, page_size)

    @allow(Role.VENDOR)
    @blp.arguments(ListingSchema())
    @blp.response(201, ListingSchema)
    def post(self, data):
        """List goods for sale at one of your stalls."""
        return services.create_listing(db.session, require_principal(), **data)


@blp.route(f"/listings/<{ID}:listing_id>")
class ListingDetail(MethodView):
    @blp.response(200, ListingSchema)
    def get(self, listing_id):
        """Return a listing."""
        return services.get_listing(db.session, listing_id)

    @allow(Role.VENDOR, Role.ADMIN)
    @blp.arguments(ListingUpdateSchema(partial=True), required=False)
    @blp.response(200, ListingSchema)
    def patch(self, data, listing_id):
        """Change your listing's price, stock, title or unit."""
        return services.update_listing(db.session, require_principal(), listing_id, data)

    @allow(Role.VENDOR, Role.ADMIN)
    @blp.response(200, ListingSchema)
    def delete(self, listing_id):
        """Take your listing off sale (it is archived, not erased)."""
        return services.archive_listing(db.session, require_principal(), listing_id)

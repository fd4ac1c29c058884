"""Catalog API: everyone reads; administrators manage producers, products and the rest."""

from flask.views import MethodView
from flask_smorest import Blueprint

from catalog import services
from catalog.groups import group_tree
from catalog.schemas import (
    CertificationSchema,
    EcommerceListingSchema,
    ProducerArgs,
    ProducerPageSchema,
    ProducerSchema,
    ProductArgs,
    ProductGroupSchema,
    ProductPageSchema,
    ProductSchema,
    RemovalSchema,
    RevocationSchema,
)
from market.core.access import Role, allow
from market.core.extensions import db
from market.core.fields import ID
from market.core.pagination import paginate

blp = Blueprint(
    "catalog", __name__, url_prefix="/api/v1", description="OCOP producers, products, search"
)


@blp.route("/product-groups")
class ProductGroups(MethodView):
    @blp.response(200, ProductGroupSchema(many=True))
    def get(self):
        """List the six OCOP product groups with their sub-groups (QĐ 148/2023)."""
        return group_tree()


@blp.route("/producers")
class Producers(MethodView):
    @blp.arguments(ProducerArgs(), location="query")
    @blp.response(200, ProducerPageSchema)
    def get(self, args):
        """List producers, filtered by type and commune."""
        query = services.producer_query(args.get("producer_type"), args.get("commune"))
        return paginate(db.session, query, args["page"], args["page_size"])

    @allow(Role.ADMIN)
    @blp.arguments(ProducerSchema())
    @blp.response(201, ProducerSchema)
    def post(self, data):
        """Register a producer."""
        return services.create_producer(db.session, **data)


@blp.route(f"/producers/<{ID}:producer_id>")
class ProducerDetail(MethodView):
    @blp.response(200, ProducerSchema)
    def get(self, producer_id):
        """Return a producer."""
        return services.get_producer(db.session, producer_id)

    @allow(Role.ADMIN)
    @blp.arguments(ProducerSchema(partial=True), required=False)
    @blp.response(200, ProducerSchema)
    def patch(self, changes, producer_id):
        """Change a producer."""
        return services.update_producer(db.session, producer_id, changes)

    @allow(Role.ADMIN)
    @blp.response(204)
    def delete(self, producer_id):
        """Delete a producer that has no products (409 otherwise)."""
        services.delete_producer(db.session, producer_id)


@blp.route("/products")
class Products(MethodView):
    @blp.arguments(ProductArgs(), location="query")
    @blp.response(200, ProductPageSchema)
    def get(self, args):
        """List and search products; text typed without accents is ranked, name matches first."""
        filters = services.ProductFilters.from_args(args)
        query = services.product_query(filters, db.session.get_bind().dialect.name)
        return paginate(db.session, query, args["page"], args["page_size"])

    @allow(Role.ADMIN)
    @blp.arguments(ProductSchema())
    @blp.response(201, ProductSchema)
    def post(self, data):
        """Add a product."""
        return services.create_product(db.session, **data)


@blp.route(f"/products/<{ID}:product_id>")
class ProductDetail(MethodView):
    @blp.response(200, ProductSchema)
    def get(self, product_id):
        """Return a product, archived or not."""
        return services.get_product(db.session, product_id)

    @allow(Role.ADMIN)
    @blp.arguments(ProductSchema(partial=True), required=False)
    @blp.response(200, ProductSchema)
    def patch(self, changes, product_id):
        """Change a product."""
        return services.update_product(db.session, product_id, changes)

    @allow(Role.ADMIN)
    @blp.response(200, RemovalSchema)
    def delete(self, product_id):
        """Delete a product, or archive it when anything references it."""
        return services.delete_product(db.session, product_id)


@blp.route(f"/products/<{ID}:product_id>/certifications")
class ProductCertifications(MethodView):
    @blp.response(200, CertificationSchema(many=True))
    def get(self, product_id):
        """List a product's certifications, latest decision first."""
        return services.get_product(db.session, product_id).certifications

    @allow(Role.ADMIN)
    @blp.arguments(CertificationSchema())
    @blp.response(201, CertificationSchema)
    def post(self, data, product_id):
        """Record an OCOP decision for the product; it is valid for 36 months."""
        return services.record_certification(db.session, product_id, **data)


@blp.route(f"/certifications/<{ID}:certification_id>")
class CertificationDetail(MethodView):
    @blp.response(200, CertificationSchema)
    def get(self, certification_id):
        """Return a certification."""
        return services.get_certification(db.session, certification_id)

    @allow(Role.ADMIN)
    @blp.arguments(CertificationSchema(partial=True), required=False)
    @blp.response(200, CertificationSchema)
    def patch(self, changes, certification_id):
        """Correct a recorded certification."""
        return services.update_certification(db.session, certification_id, changes)

    @allow(Role.ADMIN)
    @blp.response(204)
    def delete(self, certification_id):
        """Delete a certification recorded by mistake."""
        services.delete_certification(db.session, certification_id)


@blp.route(f"/certifications/<{ID}:certification_id>/revoke")
class CertificationRevocation(MethodView):
    @allow(Role.ADMIN)
    @blp.arguments(RevocationSchema())
    @blp.response(200, CertificationSchema)
    def post(self, data, certification_id):
        """Revoke a certification; the product falls back to its previous one."""
        return services.revoke_certification(db.session, certification_id, data["reason"])


@blp.route(f"/products/<{ID}:product_id>/ecommerce-listings")
class ProductEcommerceListings(MethodView):
    @blp.response(200, EcommerceListingSchema(many=True))
    def get(self, product_id):
        """List where a product is sold online."""
        return services.get_product(db.session, product_id).ecommerce_listings

    @allow(Role.ADMIN)
    @blp.arguments(EcommerceListingSchema())
    @blp.response(201, EcommerceListingSchema)
    def post(self, data, product_id):
        """Record a product's page on an e-commerce platform."""
        return services.add_ecommerce_listing(db.session, product_id, **data)


@blp.route(f"/ecommerce-listings/<{ID}:listing_id>")
class EcommerceListingDetail(MethodView):
    @blp.response(200, EcommerceListingSchema)
    def get(self, listing_id):
        """Return an e-commerce listing."""
        return services.get_ecommerce_listing(db.session, listing_id)

    @allow(Role.ADMIN)
    @blp.arguments(EcommerceListingSchema(partial=True), required=False)
    @blp.response(200, EcommerceListingSchema)
    def patch(self, changes, listing_id):
        """Change a listing, e.g. set delisted_at."""
        return services.update_ecommerce_listing(db.session, listing_id, changes)

    @allow(Role.ADMIN)
    @blp.response(204)
    def delete(self, listing_id):
        """Delete a listing."""
        services.delete_ecommerce_listing(db.session, listing_id)

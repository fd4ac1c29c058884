"""Checkout API: shoppers order and pay without an account; vendors record cash and refund."""

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from market.core.access import ANYONE, allow, current_principal, require_principal
from market.core.extensions import db
from market.core.principals import Role
from market.sales import services
from market.sales.schemas import (
    IdempotencyHeaders,
    OrderRequestSchema,
    OrderSchema,
    RefundRequestSchema,
)
from payments.schemas import PaymentSchema

blp = Blueprint("sales", __name__, url_prefix="/api/v1", description="Orders, checkout, refunds")


@blp.route("/orders")
class Orders(MethodView):
    @allow(ANYONE)
    @blp.arguments(IdempotencyHeaders(), location="headers")
    @blp.arguments(OrderRequestSchema())
    @blp.response(201, OrderSchema)
    def post(self, headers, data):
        """Check out at a stall: prices are frozen, stock reserved and the payment opened."""
        lines = [services.LineRequest(**line) for line in data.pop("lines")]
        return services.check_out(
            db.session,
            lines=lines,
            actor=current_principal(),
            idempotency_key=headers["idempotency_key"],
            **data,
        )


@blp.route("/orders/<order_id>")
class OrderDetail(MethodView):
    @blp.response(200, OrderSchema)
    def get(self, order_id):
        """Return an order and its payment (the id is the shopper's private receipt link)."""
        return services.get_order(db.session, order_id)


@blp.route("/orders/<order_id>/cancel")
class CancelOrder(MethodView):
    @allow(Role.VENDOR, Role.ADMIN)
    @blp.response(200, OrderSchema)
    def post(self, order_id):
        """Cancel an unpaid order at your stall; its items go back on the shelf."""
        return services.cancel_order(db.session, require_principal(), order_id)


@blp.route("/payments/<payment_id>/refunds")
class Refunds(MethodView):
    @allow(Role.VENDOR, Role.ADMIN)
    @blp.arguments(IdempotencyHeaders(), location="headers")
    @blp.arguments(RefundRequestSchema())
    @blp.response(201, PaymentSchema)
    def post(self, headers, data, payment_id):
        """Return money to the shopper, never more than was paid."""
        return services.refund_payment(
            db.session,
            require_principal(),
            payment_id,
            data["amount_vnd"],
            headers["idempotency_key"],
            current_app.extensions["card_gateway"],
        )

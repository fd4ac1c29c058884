"""Payments, payment codes, the bank directory and bank-notification webhooks."""

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from market.core.access import ANYONE, allow
from market.core.errors import NotFound
from market.core.extensions import db
from payments import banks, cards, services
from payments.schemas import (
    BankSchema,
    CardAttemptRequestSchema,
    CardAttemptSchema,
    PayloadSchema,
    PaymentSchema,
    PaymentWaitArgs,
    SettlementSchema,
    VietQRSchema,
    WebhookOutcomeSchema,
)

blp = Blueprint("payments", __name__, url_prefix="/api/v1", description="VietQR codes and banks")


@blp.route("/vietqr/decode")
class DecodeVietQR(MethodView):
    @allow(ANYONE)
    @blp.arguments(PayloadSchema())
    @blp.response(200, VietQRSchema)
    def post(self, data):
        """Read a VietQR payload: its fields, or every problem with the tag it concerns."""
        return services.read_payment_code(data["payload"])


@blp.route("/banks")
class Banks(MethodView):
    @blp.response(200, BankSchema(many=True))
    def get(self):
        """List the banks a VietQR code can pay into, by BIN."""
        return list(banks.all_banks())


@blp.route("/banks/<key>")
class BankDetail(MethodView):
    @blp.response(200, BankSchema)
    def get(self, key):
        """Find a bank by BIN or code, in any case (970436, vcb)."""
        bank = banks.find_bank(key)
        if bank is None:
            raise NotFound(f"No bank has BIN or code {key!r}.", field="key", location="path")
        return bank


@blp.route("/payments/<payment_id>")
class PaymentDetail(MethodView):
    @blp.arguments(PaymentWaitArgs(), location="query")
    @blp.response(200, PaymentSchema)
    def get(self, args, payment_id):
        """Return a payment; with `wait` and `status`, answer as soon as the status changes."""
        return services.await_change(db.session, payment_id, args["status"], args["wait"])


@blp.route("/payments/<payment_id>/qr.<any(png, svg):image_format>")
class PaymentCode(MethodView):
    @blp.response(200, content_type="image/png")
    @blp.alt_response(200, content_type="image/svg+xml", success=True)
    def get(self, payment_id, image_format):
        """Return the dynamic VietQR of a QR payment, amount and reference inside."""
        image = services.payment_image(db.session, payment_id, image_format)
        return Response(image, mimetype="image/png" if image_format == "png" else "image/svg+xml")


@blp.route("/webhooks/bank/<provider>")
class BankWebhook(MethodView):
    @allow(ANYONE)
    @blp.response(200, SettlementSchema)
    def post(self, provider):
        """Receive a transfer notification (sepay, casso, simbank); a repeat changes nothing."""
        return services.receive_bank_notification(
            db.session, provider, request.get_data(), request.headers, current_app.config
        )


@blp.route("/payments/<payment_id>/card")
class CardPayment(MethodView):
    @allow(ANYONE)
    @blp.arguments(CardAttemptRequestSchema())
    @blp.response(200, CardAttemptSchema)
    def post(self, data, payment_id):
        """Pay a card payment with a card; after a decline, try another card."""
        gateway = current_app.extensions["card_gateway"]
        return cards.attempt_card(db.session, gateway, payment_id, data["payment_method"])


@blp.route("/webhooks/stripe")
class StripeWebhook(MethodView):
    @allow(ANYONE)
    @blp.response(200, WebhookOutcomeSchema)
    def post(self):
        """Receive a Stripe event, verified over the raw body; a repeat changes nothing."""
        return cards.receive_stripe_event(
            db.session,
            request.get_data(),
            request.headers.get("Stripe-Signature"),
            current_app.config["STRIPE_WEBHOOK_SECRETS"],
        )

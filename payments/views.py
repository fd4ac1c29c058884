"""Payment codes and the bank directory, open to every caller."""

from flask.views import MethodView
from flask_smorest import Blueprint

from market.core.access import ANYONE, allow
from market.core.errors import NotFound
from payments import banks, services
from payments.schemas import BankSchema, PayloadSchema, VietQRSchema

blp = Blueprint("payments", __name__, url_prefix="/api/v1", description="VietQR codes and banks")


@blp.route("/vietqr/decode")
class DecodeVietQR(MethodView):
    @allow(ANYONE)
    @blp.arguments(PayloadSchema)
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

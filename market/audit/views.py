"""Audit log API: administrators read who changed what."""

from flask.views import MethodView
from flask_smorest import Blueprint

from market.audit.schemas import AuditArgs, AuditEventPageSchema
from market.audit.services import AuditFilter, audit_query
from market.core.access import allow
from market.core.extensions import db
from market.core.pagination import paginate
from market.core.principals import Role

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="Audit log")


@blp.route("/audit-events")
class AuditEvents(MethodView):
    @allow(Role.ADMIN)
    @blp.arguments(AuditArgs(), location="query")
    @blp.response(200, AuditEventPageSchema)
    def get(self, args):
        """List audit events, newest first, by subject, actor, action and local days."""
        page, page_size = args.pop("page"), args.pop("page_size")
        return paginate(db.session, audit_query(AuditFilter(**args)), page, page_size)

"""Reports API for officials: indicators as JSON and CSV, and figures entered from outside."""

from flask import Response, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from market.core.access import ANYONE, allow, require_principal
from market.core.db import utcnow
from market.core.extensions import db
from market.core.principals import Role
from market.reports import document, exports, services
from market.reports.indicators import INDICATORS
from market.reports.schemas import FigureSchema, IndicatorSchema, ReportArgs, ReportSchema

blp = Blueprint(
    "reports", __name__, url_prefix="/api/v1/reports", description="Cashless-adoption reports"
)
READERS = (Role.OFFICIAL, Role.ADMIN)
IMAGE_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
DOCUMENT_TYPES = {"pdf": "application/pdf", "html": "text/html"}


@blp.route("/catalogue")
class Catalogue(MethodView):
    @allow(ANYONE)
    @blp.response(200, IndicatorSchema(many=True))
    def get(self):
        """List every indicator with its code, unit and definition."""
        return list(INDICATORS.values())


@blp.route("/indicators")
class Indicators(MethodView):
    @allow(*READERS)
    @blp.arguments(ReportArgs(), location="query")
    @blp.response(200, ReportSchema)
    def get(self, args):
        """Return indicator values for one or two places over a range, by day to year."""
        report = services.build_report(db.session, services.report_query(db.session, args))
        return jsonify(exports.report_document(report))


@blp.route("/indicators.csv")
class IndicatorsCsv(MethodView):
    @allow(*READERS)
    @blp.arguments(ReportArgs(), location="query")
    @blp.response(200, content_type="text/csv")
    def get(self, args):
        """Return the same values as CSV (UTF-8 with BOM, one row per value) for Excel."""
        query = services.report_query(db.session, args)
        report = services.build_report(db.session, query)
        return Response(
            exports.report_csv(report),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{query.file_name}.csv"'},
        )


@blp.route("/charts/<any(share, coverage, methods):chart>.<any(png, svg):image_format>")
class Chart(MethodView):
    @allow(*READERS)
    @blp.arguments(ReportArgs(), location="query")
    @blp.response(200, content_type="image/png")
    @blp.alt_response(200, content_type="image/svg+xml", success=True)
    def get(self, args, chart, image_format):
        """Draw the cashless share over time, QR coverage by place, or the payment-method mix."""
        query = services.report_query(db.session, args)
        image = services.draw_chart(db.session, query, chart, image_format)
        return Response(image, mimetype=IMAGE_TYPES[image_format])


@blp.route("/document.<any(html, pdf):file_format>")
class Document(MethodView):
    @allow(*READERS)
    @blp.arguments(ReportArgs(), location="query")
    @blp.response(200, content_type="application/pdf")
    @blp.alt_response(200, content_type="text/html", success=True)
    def get(self, args, file_format):
        """Return a printable report with tables, charts and definitions, as HTML or PDF."""
        query = services.report_query(db.session, args)
        report = services.build_report(db.session, query)
        render = document.render_pdf if file_format == "pdf" else document.render_html
        content = render(report, title=services.document_title(query), generated_at=utcnow())
        disposition = "attachment" if file_format == "pdf" else "inline"
        return Response(
            content,
            mimetype=DOCUMENT_TYPES[file_format],
            headers={
                "Content-Disposition": f'{disposition}; filename="{query.file_name}.{file_format}"'
            },
        )


@blp.route("/figures")
class Figures(MethodView):
    @allow(*READERS)
    @blp.response(200, FigureSchema(many=True))
    def get(self):
        """List the figures entered from outside sources, newest first."""
        return services.list_figures(db.session)

    @allow(*READERS)
    @blp.arguments(FigureSchema())
    @blp.response(201, FigureSchema)
    def post(self, data):
        """Enter a figure measured elsewhere (a survey, a ministry) with its date and source."""
        place = services.resolve_place(db.session, data.pop("place"))
        return services.enter_figure(db.session, require_principal(), place=place, **data)

"""The officials' dashboard: report tables and charts for a place and period, and downloads.

The report API needs a bearer token; these pages call the same report services under the
signed-in official instead.
"""

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from flask import Response, render_template, request
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from market.core.clock import vietnam_today
from market.core.db import utcnow
from market.core.errors import DomainError
from market.core.extensions import db
from market.core.principals import Role
from market.places.models import Province
from market.reports import document, exports
from market.reports import services as reports
from market.reports.charts import format_value
from market.reports.model import Grain, Report
from market.reports.periods import check_range
from market.web.auth import page_access
from market.web.blueprint import blp, error_page
from market.web.forms import DashboardForm, add_domain_error
from market.web.i18n import language

READERS = (Role.OFFICIAL, Role.ADMIN)
TABLE_INDICATORS = (
    "TRANSACTIONS",
    "NONCASH_SHARE_COUNT",
    "NONCASH_SHARE_VALUE",
    "AVG_TICKET_BY_METHOD",
    "VENDOR_QR_COVERAGE",
    "QR_ACCEPTANCE_POINTS",
    "OCOP_SALES_VALUE",
)
CHARTS = {
    "share": "Cashless share over time",
    "methods": "Payment-method mix",
    "coverage": "QR coverage by place",
}
COVERAGE_LEVELS = ("country", "province", "commune")
DEFAULT_DAYS = 27


@dataclass(frozen=True)
class Row:
    title: str
    split: str
    cells: list[str]


def _filters() -> tuple[DashboardForm, reports.ReportQuery | None]:
    """Read the filters from the query string; return the report query, or None with errors."""
    today = vietnam_today()
    defaults = {"place": "VN", "from": str(today - timedelta(days=DEFAULT_DAYS)), "to": str(today)}
    form = DashboardForm(
        MultiDict({**defaults, "grain": Grain.WEEK.value, **request.args.to_dict()})
    )
    if not form.validate():
        return form, None
    try:
        check_range(form.start.data, form.end.data)
        place = reports.resolve_place(db.session, form.place.data or "VN")
    except DomainError as error:
        add_domain_error(form, error, {"from": "start", "to": "end"})
        return form, None
    query = reports.ReportQuery(
        places=[place], start=form.start.data, end=form.end.data, grain=Grain(form.grain.data)
    )
    return form, query


def _rows(report: Report) -> list[Row]:
    """Lay a report out as one row per indicator and split, one cell per period."""
    english = language() == "en"
    rows = []
    for indicator in report.indicators:
        splits: dict[str, dict[str, str]] = {}
        for value in report.values:
            if value.indicator != indicator.code:
                continue
            split = ", ".join(value.dimensions.values())
            splits.setdefault(split, {})[value.period.label] = format_value(value.value, value.unit)
        title = indicator.title_en if english else indicator.title
        for split, cells in splits.items():
            rows.append(Row(title, split, [cells.get(p.label, "–") for p in report.periods]))
    return rows


@blp.get("/dashboard")
@page_access(*READERS)
def dashboard() -> str | tuple[str, int]:
    """Report tables and charts for a place and period, with CSV and PDF downloads."""
    form, query = _filters()
    provinces = db.session.execute(select(Province.code, Province.name).order_by(Province.name))
    context: dict[str, Any] = {"form": form, "provinces": list(provinces), "charts": CHARTS}
    if query is None:
        return render_template("web/dashboard.html", report=None, rows=[], **context), 422
    report = reports.build_report(db.session, replace(query, indicators=TABLE_INDICATORS))
    if query.places[0].level not in COVERAGE_LEVELS:  # a market or vendor has no places inside
        context["charts"] = {key: title for key, title in CHARTS.items() if key != "coverage"}
    args = request.args.to_dict() | {
        "place": form.place.data,
        "from": str(query.start),
        "to": str(query.end),
        "grain": query.grain.value,
    }
    args.pop("lang", None)
    return render_template(
        "web/dashboard.html", report=report, rows=_rows(report), args=args, **context
    )


@blp.get("/dashboard/charts/<any(share, coverage, methods):chart>.png")
@page_access(*READERS)
def dashboard_chart(chart: str) -> Response | tuple[str, int]:
    """One report chart as PNG, drawn by the report services."""
    _form, query = _filters()
    if query is None:
        return error_page(422)
    image = reports.draw_chart(db.session, query, chart, "png")
    return Response(image, mimetype="image/png", headers={"Cache-Control": "private, max-age=300"})


@blp.get("/dashboard/indicators.csv")
@page_access(*READERS)
def dashboard_csv() -> Response | tuple[str, int]:
    """Every measured indicator as CSV (UTF-8 with BOM), as the API gives it."""
    _form, query = _filters()
    if query is None:
        return error_page(422)
    content = exports.report_csv(reports.build_report(db.session, query))
    return Response(
        content,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{query.file_name}.csv"'},
    )


@blp.get("/dashboard/document.pdf")
@page_access(*READERS)
def dashboard_pdf() -> Response | tuple[str, int]:
    """The printable report as PDF, as the API gives it."""
    _form, query = _filters()
    if query is None:
        return error_page(422)
    report = reports.build_report(db.session, query)
    content = document.render_pdf(
        report, title=reports.document_title(query), generated_at=utcnow()
    )
    return Response(
        content,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{query.file_name}.pdf"'},
    )

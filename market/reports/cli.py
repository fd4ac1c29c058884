"""`ocop-market report`: a province's (or any place's) indicators as a file, from the shell."""

from datetime import UTC, datetime
from pathlib import Path

import click
from flask.cli import with_appcontext

from market.core.errors import DomainError
from market.core.extensions import db
from market.reports import document, exports, services
from market.reports.model import Grain, Report

FORMATS = ("csv", "json", "html", "pdf")


@click.command("report")
@click.option("--province", help="GSO province code, e.g. 04 for Cao Bằng.")
@click.option("--commune", help="GSO commune code, e.g. 01273.")
@click.option("--market", "market_id", type=int, help="A market's id.")
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option(
    "--grain", type=click.Choice([g.value for g in Grain]), default="month", show_default=True
)
@click.option("--indicator", "indicators", multiple=True, help="Repeat; all when omitted.")
@click.option("--format", "file_format", type=click.Choice(FORMATS), default="csv")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Where to write; '-' for standard output. Default: a file named after the report.",
)
@with_appcontext
def report_command(
    province: str | None,
    commune: str | None,
    market_id: int | None,
    start: datetime,
    end: datetime,
    grain: str,
    indicators: tuple[str, ...],
    file_format: str,
    output: Path | None,
) -> None:
    """Write cashless-adoption indicators for a place and period as CSV, JSON, HTML or PDF.

    Without a place the report covers the whole country.
    """
    places = [text for text in (province, commune, market_id and f"market:{market_id}") if text]
    if len(places) > 1:
        raise click.UsageError("Give one of --province, --commune or --market.")
    try:
        query = services.report_query(
            db.session,
            {
                "place": [str(places[0]) if places else "VN"],
                "start": start.date(),
                "end": end.date(),
                "grain": Grain(grain),
                "indicator": list(indicators),
            },
        )
        report = services.build_report(db.session, query)
    except DomainError as error:
        raise click.UsageError(error.message) from error
    content = _render(report, query, file_format)
    if output is not None and str(output) == "-":
        click.echo(content if isinstance(content, str) else content.decode("utf-8-sig"), nl=False)
        return
    target = output or Path(f"{query.file_name}.{file_format}")
    target.write_bytes(content.encode() if isinstance(content, str) else content)
    click.echo(f"wrote {target} ({len(report.values):,} values)")


def _render(report: Report, query: services.ReportQuery, file_format: str) -> str | bytes:
    if file_format == "csv":
        return exports.report_csv(report)
    if file_format == "json":
        return exports.report_json(report)
    title = services.document_title(query)
    generated_at = datetime.now(UTC)
    if file_format == "html":
        return document.render_html(report, title=title, generated_at=generated_at)
    return document.render_pdf(report, title=title, generated_at=generated_at)

"""The `ocop-market` command: database, places, accounts, and serving the app."""

import gc
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup
from gunicorn.app.base import BaseApplication
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from loadtest.cli import loadtest_command
from market import demo, migrate
from market.accounts.models import User
from market.accounts.services import (
    change_role,
    create_user,
    issue_token,
    set_disabled,
    set_password,
)
from market.app import create_app
from market.config import ConfigurationError
from market.core.clock import vietnam_today
from market.core.errors import DomainError
from market.core.extensions import db
from market.core.principals import Role
from market.markets.models import Market
from market.places.services import load_places
from market.reports.cli import report_command
from market.sales.services import expire_unpaid
from market.simulator.cli import play_scenario, simulate_command
from payments import qr, vietqr
from payments.banks import find_bank

logger = logging.getLogger(__name__)


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False)
def cli() -> None:
    """OCOP Market: cashless payments at Vietnamese markets, and a simulator to play them."""


cli.add_command(report_command)
cli.add_command(loadtest_command)
cli.add_command(simulate_command)


def main() -> None:
    try:
        cli()
    except ConfigurationError as error:
        # A setting to fix, not a bug: say which, without a traceback.
        raise SystemExit(f"ocop-market: {error}") from None


@cli.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database to the latest schema."""
    migrate.upgrade(db.engine, revision)
    click.echo(f"database at {', '.join(sorted(_current_revisions()))}")


@db_group.command("check")
def db_check() -> None:
    """Fail when the models and the migrations disagree (run on a migrated database)."""
    migrate.check(db.engine)
    click.echo("models and migrations agree")


@db_group.command("current")
def db_current() -> None:
    """Print the database's revision and the head revision."""
    click.echo(f"database: {', '.join(sorted(_current_revisions())) or '(empty)'}")
    click.echo(f"head:     {', '.join(sorted(migrate.head_revisions()))}")


def _current_revisions() -> set[str]:
    with db.engine.connect() as connection:
        return migrate.current_revisions(connection)


@cli.group("places")
def places_group() -> None:
    """Provinces and communes."""


@places_group.command("load")
def places_load() -> None:
    """Load the 34 provinces and 3,321 communes (safe to run again: it updates in place)."""
    with db.state.sessionmaker.begin() as session:
        result = load_places(session)
    click.echo(
        f"provinces: {result.provinces_added} added, {result.provinces_updated} updated; "
        f"communes: {result.communes_added} added, {result.communes_updated} updated"
    )


@cli.group("users")
def users_group() -> None:
    """Accounts and API tokens."""


@users_group.command("create")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--name", required=True, help="Display name, e.g. 'Sở Công Thương Cao Bằng'.")
@click.option("--login", help="Web sign-in name, e.g. a phone number; asks for a password.")
def users_create(role: str, name: str, login: str | None) -> None:
    """Create an account and print its API token (shown only this once)."""
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True) if login else ""
    with db.state.sessionmaker.begin() as session:
        user = create_user(session, name, Role(role))
        if login:
            try:
                set_password(session, user, login, password)
            except DomainError as error:
                raise click.BadParameter(error.message, param_hint=f"--{error.field}") from error
        token = issue_token(session, user, label="created on the command line").token
    click.echo(f"account {user.id} ({role}) created. Its token, shown only now:")
    click.echo(token)


@users_group.command("role")
@click.argument("user_id", type=int)
@click.argument("role", type=click.Choice([role.value for role in Role]))
def users_role(user_id: int, role: str) -> None:
    """Give account USER_ID another ROLE (recorded in the audit log)."""
    with db.state.sessionmaker.begin() as session:
        user = _cli_user(change_role, session, user_id, Role(role))
    click.echo(f"account {user.id} is now {user.role.value}")


@users_group.command("disable")
@click.argument("user_id", type=int)
@click.option("--enable", is_flag=True, help="Enable a disabled account again.")
def users_disable(user_id: int, enable: bool) -> None:
    """Disable account USER_ID: its tokens and password stop working (recorded in the audit log)."""
    with db.state.sessionmaker.begin() as session:
        user = _cli_user(set_disabled, session, user_id, not enable)
    click.echo(f"account {user.id} {'enabled' if user.disabled_at is None else 'disabled'}")


def _cli_user(action: Callable[..., User], session: Session, *args: Any) -> User:
    """Run an account service, turning its domain error into a command-line error."""
    try:
        return action(session, *args)
    except DomainError as error:
        raise click.ClickException(error.message) from error


# A waiting vendor screen holds a gthread thread for up to 25 s (payments/changes.py): a worker
# needs a thread per open checkout screen beside the ones doing work. Idle threads cost little
# memory and no CPU; the database pool (5 + 10 overflow per worker) bounds the ones that query.
DEFAULT_THREADS = 100
MAX_THREADS = 1000
KEEPALIVE_SECONDS = 20


def server_options(command: Any) -> Any:
    """Add the options shared by `serve` and `demo`."""
    options = [
        click.option("--host", default="127.0.0.1", show_default=True),
        click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535)),
        click.option(
            "--workers",
            type=click.IntRange(1, 64),
            help="Gunicorn worker processes [default: 1 on SQLite, 2 per core on PostgreSQL].",
        ),
        click.option(
            "--threads",
            default=DEFAULT_THREADS,
            show_default=True,
            type=click.IntRange(1, MAX_THREADS),
            help="Threads per worker; a vendor screen waiting for a payment holds one (but no "
            "database connection), so allow for every open checkout screen.",
        ),
        click.option("--dev", is_flag=True, help="Use Flask's development server instead."),
        click.option(
            "--expire-every",
            default=60,
            show_default=True,
            type=click.IntRange(0, 3600),
            help="Expire unpaid payments every N seconds in this process (0: never; then run "
            "'ocop-market payments expire --every N' beside it).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@cli.command("serve")
@server_options
def serve(
    host: str, port: int, workers: int | None, threads: int, dev: bool, expire_every: int
) -> None:
    """Serve the API and pages with gunicorn on 127.0.0.1:5000."""
    # The app itself, not the proxy: the expiry thread runs outside this command's app context.
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    run_server(app, host, port, workers, threads, dev, expire_every)


@cli.command("demo")
@server_options
@click.option(
    "--simulate-days",
    type=click.IntRange(0, 3660),
    default=14,
    show_default=True,
    help="Days of Kim Đồng market nights to simulate first, up to yesterday (once per database).",
)
def demo_command(
    host: str,
    port: int,
    workers: int | None,
    threads: int,
    dev: bool,
    expire_every: int,
    simulate_days: int,
) -> None:
    """Migrate, load places, create demo data, simulate recent market nights, and serve it."""
    # A simulated market: the fake card gateway and a per-run bank secret, unless configured.
    os.environ.setdefault("CARD_GATEWAY", "fake")
    os.environ.setdefault("SIMBANK_WEBHOOK_SECRET", secrets.token_hex(16))
    migrate.upgrade(db.engine)
    click.echo("database migrated")
    with db.state.sessionmaker.begin() as session:
        result = load_places(session)
        click.echo(
            f"places loaded: {result.provinces_added + result.provinces_updated} provinces and "
            f"{result.communes_added + result.communes_updated} communes changed"
        )
        data = demo.create_demo_data(session)
        market = f"{data.market.name} (market {data.market.id})"
        simulated = session.scalar(select(Market.id).where(Market.simulated)) is not None
    click.echo(f"demo market: {market}")
    if simulate_days and not simulated:
        first = vietnam_today() - timedelta(days=simulate_days)
        play_scenario(db.engine, "cao-bang-kim-dong", first, simulate_days, seed=7)
    click.echo("demo accounts (send 'Authorization: Bearer <token>'):")
    for user, token in data.tokens:
        click.echo(f"  {user.role.value:<8} {user.name}: {token}")
    click.echo(f"web pages: http://{host}:{port}/sign-in (new passwords on each run):")
    for login in data.logins:
        click.echo(f"  {login.user.role.value:<8} {login.login} / {login.password}")
    click.echo(f"simulator bank secret: {os.environ['SIMBANK_WEBHOOK_SECRET']}")
    click.echo(f"API docs: http://{host}:{port}/api/docs")
    run_server(create_app(), host, port, workers, threads, dev, expire_every)


@cli.group("payments")
def payments_group() -> None:
    """Payment housekeeping."""


@payments_group.command("expire")
@click.option("--every", type=click.IntRange(1, 3600), help="Repeat every N seconds.")
def payments_expire(every: int | None) -> None:
    """Expire unpaid payments whose window closed and put their goods back on the shelf."""
    while True:
        with db.state.sessionmaker.begin() as session:
            count = expire_unpaid(session)
        click.echo(f"{count} payments expired")
        if every is None:
            return
        time.sleep(every)


def start_expiry_loop(app: Flask, every: int) -> None:
    """Expire unpaid payments every `every` seconds in a background thread of this process."""

    def loop() -> None:
        while True:
            time.sleep(every)
            try:
                with app.app_context(), db.state.sessionmaker.begin() as session:
                    expire_unpaid(session)
            except Exception:  # keep expiring after a passing database error
                logger.exception("expiring unpaid payments failed")

    threading.Thread(target=loop, name="expire-unpaid", daemon=True).start()


@cli.group("vietqr")
def vietqr_group() -> None:
    """Make and read VietQR payment codes."""


@vietqr_group.command("encode")
@click.option("--bin", "bank", required=True, help="Bank BIN or code, e.g. 970436 or VCB.")
@click.option("--account", required=True, help="Account or card number.")
@click.option("--amount", type=int, help="Whole dong; makes a dynamic (one-payment) code.")
@click.option("--purpose", help="Transfer memo, at most 25 characters once accents are removed.")
@click.option("--bill", "bill_number", help="Bill or order number.")
@click.option("--store", "store_label", help="Store or stall label.")
@click.option("--terminal", "terminal_label", help="Terminal label.")
@click.option("--reference", "reference_label", help="Reference label.")
@click.option("--merchant-name", help="Merchant name (tag 59).")
@click.option("--merchant-city", help="Merchant city (tag 60).")
@click.option(
    "--service",
    type=click.Choice([s.value for s in vietqr.Service]),
    default=vietqr.Service.TO_ACCOUNT.value,
    show_default=True,
    help="QRIBFTTA pays an account, QRIBFTTC a card.",
)
@click.option("--png", type=click.Path(dir_okay=False, writable=True), help="Write a PNG here.")
@click.option("--svg", type=click.Path(dir_okay=False, writable=True), help="Write an SVG here.")
def vietqr_encode(bank: str, service: str, png: str | None, svg: str | None, **fields: Any) -> None:
    """Print a VietQR payload, and optionally write it as an image."""
    found = find_bank(bank)
    if found is None:
        raise click.BadParameter(f"no bank has BIN or code {bank!r}", param_hint="--bin")
    try:
        payload = vietqr.encode(
            vietqr.VietQR(bin=found.bin, service=vietqr.Service(service), **fields)
        )
    except vietqr.VietQRError as error:
        raise click.UsageError("; ".join(map(str, error.problems))) from error
    click.echo(payload)
    if png:
        Path(png).write_bytes(qr.order_png(payload))
    if svg:
        Path(svg).write_text(qr.order_svg(payload), encoding="utf-8")


@vietqr_group.command("decode")
@click.argument("payload")
def vietqr_decode(payload: str) -> None:
    """Print a payload's fields as JSON; exit 1 listing its problems when it is invalid."""
    try:
        code = vietqr.decode(payload)
    except vietqr.VietQRError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from error
    fields = {name: value for name, value in vars(code).items() if value not in (None, ())}
    click.echo(json.dumps({"point_of_initiation": code.point_of_initiation, **fields}, indent=2))


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn, configured in code; each worker builds its own app after the fork."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return serving_app()


def serving_app() -> Flask:
    """Return the app as a gunicorn worker serves it (benchmarks/bench_checkout.py too)."""
    app = create_app()
    # Objects alive after start-up live as long as the worker: keep the cyclic collector
    # from re-scanning them (a fifth of a national report's time went to it).
    gc.freeze()
    return app


def run_server(
    app: Flask,
    host: str,
    port: int,
    workers: int | None,
    threads: int,
    dev: bool,
    expire_every: int,
) -> None:
    """Serve `app`'s configuration with gunicorn, or Flask's development server with `dev`."""
    if expire_every:
        start_expiry_loop(app, expire_every)
    if dev:
        app.run(host=host, port=port, threaded=True)
        return
    on_sqlite = make_url(app.config["DATABASE_URL"]).get_backend_name() == "sqlite"
    GunicornServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers or (1 if on_sqlite else 2 * (os.cpu_count() or 1)),
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": "-",
            "errorlog": "-",
            "graceful_timeout": 10,
            # An idle keep-alive connection parks in the worker's poller, holding no thread; the
            # bank's notification service reuses its connections, and one the server closed
            # (gunicorn's default: after 2 s) while a notification was on its way failed it.
            "keepalive": KEEPALIVE_SECONDS,
        }
    ).run()

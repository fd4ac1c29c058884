"""Sales roll-ups and reported figures for reports, stall QR dates, and simulated markets.

The roll-ups are filled from the ledger and the intents already recorded, so reports agree with
the ledger from the first day; stalls that exist already have shown their QR since they opened.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 13:51:06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from market.core.db import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLACE = "vendor_id, market_id, commune_code, province_code"
COUNTS = ["payments", "refunds", "late_payments", "ocop_payments", "qr_issued", "qr_expired"]
SUMS = ["paid_vnd", "refunded_vnd", "ocop_paid_vnd", "ocop_refunded_vnd"]
TALLY = ", ".join(COUNTS + SUMS)


def _method() -> sa.Column:
    return sa.Column(
        "method",
        sa.Enum(
            "vietqr",
            "card",
            "cash",
            name="payment_method",
            native_enum=False,
            create_constraint=True,
            length=24,
        ),
        nullable=False,
    )


def _tally() -> list[sa.Column]:
    return [sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS] + [
        sa.Column(name, sa.BigInteger(), nullable=False) for name in SUMS
    ]


def upgrade() -> None:
    op.add_column(
        "markets", sa.Column("simulated", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("stalls", sa.Column("qr_since", UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE stalls SET qr_since = created_at")
    op.create_table(
        "sales_stall_days",
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("stall_id", sa.Integer(), sa.ForeignKey("stalls.id"), nullable=False),
        _method(),
        sa.Column("vendor_id", sa.Integer(), sa.ForeignKey("vendors.id"), nullable=False),
        sa.Column("market_id", sa.Integer(), sa.ForeignKey("markets.id"), nullable=False),
        sa.Column("commune_code", sa.String(5), sa.ForeignKey("communes.code"), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        *_tally(),
        sa.PrimaryKeyConstraint("local_date", "stall_id", "method"),
    )
    for column in ("province_code", "commune_code", "market_id", "vendor_id"):
        name = column.removesuffix("_code").removesuffix("_id")
        op.create_index(
            f"ix_sales_stall_days_{name}_date", "sales_stall_days", [column, "local_date"]
        )
    op.create_table(
        "sales_market_months",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("market_id", sa.Integer(), sa.ForeignKey("markets.id"), nullable=False),
        _method(),
        sa.Column("commune_code", sa.String(5), sa.ForeignKey("communes.code"), nullable=False),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("active_stalls", sa.Integer(), nullable=False),
        *_tally(),
        sa.PrimaryKeyConstraint("month", "market_id", "method"),
    )
    for column in ("province_code", "commune_code"):
        name = column.removesuffix("_code")
        op.create_index(
            f"ix_sales_market_months_{name}_month", "sales_market_months", [column, "month"]
        )
    op.create_table(
        "active_stall_months",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("stall_id", sa.Integer(), sa.ForeignKey("stalls.id"), nullable=False),
        _method(),
        sa.PrimaryKeyConstraint("month", "stall_id", "method"),
    )
    op.create_table(
        "reported_figures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("indicator", sa.String(40), nullable=False, index=True),
        sa.Column("place_level", sa.String(10), nullable=False),
        sa.Column("place_code", sa.String(12), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("value", sa.Numeric(20, 4), nullable=False),
        sa.Column(
            "unit",
            sa.Enum(
                "percent",
                "count",
                "vnd",
                "ratio",
                name="report_unit",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("entered_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
    )
    _fill_from_history()


def _fill_from_history() -> None:
    """Add up the ledger and the VietQR intents recorded before the roll-ups existed."""
    postgres = op.get_bind().dialect.name == "postgresql"
    issued_on = (
        "(i.created_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date"
        if postgres
        else "date(i.created_at, '+7 hours')"
    )
    month_of = "date_trunc('month', {})::date" if postgres else "date({}, 'start of month')"
    op.execute(f"""
        INSERT INTO sales_stall_days (local_date, stall_id, method, {PLACE}, {TALLY})
        SELECT local_date, stall_id, method, min(vendor_id), min(market_id), min(commune_code),
               min(province_code),
               sum(payments), sum(refunds), sum(late_payments), sum(ocop_payments),
               sum(qr_issued), sum(qr_expired),
               sum(paid_vnd), sum(refunded_vnd), sum(ocop_paid_vnd), sum(ocop_refunded_vnd)
        FROM (
            SELECT l.local_date, l.stall_id, l.method, l.vendor_id, l.market_id, l.commune_code,
                   l.province_code,
                   CASE WHEN l.kind = 'payment' THEN 1 ELSE 0 END AS payments,
                   CASE WHEN l.kind = 'refund' THEN 1 ELSE 0 END AS refunds,
                   CASE WHEN l.is_late THEN 1 ELSE 0 END AS late_payments,
                   CASE WHEN l.kind = 'payment' AND l.is_ocop THEN 1 ELSE 0 END AS ocop_payments,
                   0 AS qr_issued, 0 AS qr_expired,
                   CASE WHEN l.kind = 'payment' THEN l.amount_vnd ELSE 0 END AS paid_vnd,
                   CASE WHEN l.kind = 'refund' THEN -l.amount_vnd ELSE 0 END AS refunded_vnd,
                   CASE WHEN l.kind = 'payment' AND l.is_ocop THEN l.amount_vnd ELSE 0 END
                       AS ocop_paid_vnd,
                   CASE WHEN l.kind = 'refund' AND l.is_ocop THEN -l.amount_vnd ELSE 0 END
                       AS ocop_refunded_vnd
            FROM ledger_entries l
            UNION ALL
            SELECT {issued_on}, i.stall_id, i.method, i.vendor_id, i.market_id, i.commune_code,
                   i.province_code, 0, 0, 0, 0, 1,
                   CASE WHEN EXISTS (SELECT 1 FROM payment_events e WHERE e.intent_id = i.id
                                     AND e.kind = 'expired') THEN 1 ELSE 0 END,
                   0, 0, 0, 0
            FROM payment_intents i WHERE i.method = 'vietqr'
        ) AS history
        GROUP BY local_date, stall_id, method
    """)
    op.execute(f"""
        INSERT INTO active_stall_months (month, stall_id, method)
        SELECT DISTINCT {month_of.format("local_date")}, stall_id, method
        FROM sales_stall_days WHERE payments > 0
    """)
    op.execute(f"""
        INSERT INTO sales_market_months (month, market_id, method, commune_code, province_code,
                                         active_stalls, {TALLY})
        SELECT {month_of.format("d.local_date")} AS month, d.market_id, d.method,
               min(d.commune_code), min(d.province_code),
               count(DISTINCT CASE WHEN d.payments > 0 THEN d.stall_id END),
               sum(d.payments), sum(d.refunds), sum(d.late_payments), sum(d.ocop_payments),
               sum(d.qr_issued), sum(d.qr_expired),
               sum(d.paid_vnd), sum(d.refunded_vnd), sum(d.ocop_paid_vnd),
               sum(d.ocop_refunded_vnd)
        FROM sales_stall_days d
        GROUP BY {month_of.format("d.local_date")}, d.market_id, d.method
    """)


def downgrade() -> None:
    op.drop_table("reported_figures")
    op.drop_table("active_stall_months")
    op.drop_table("sales_market_months")
    op.drop_table("sales_stall_days")
    op.drop_column("stalls", "qr_since")
    op.drop_column("markets", "simulated")

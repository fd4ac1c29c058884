"""Figures officials enter from outside sources, shown beside the measured ones."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from market.core.db import Base, UTCDateTime, enum_column, utcnow
from market.reports.model import Unit


class ReportedFigure(Base):
    """A value someone else measured (a survey, a ministry), with its date and its source."""

    __tablename__ = "reported_figures"

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator: Mapped[str] = mapped_column(String(40), index=True)
    place_level: Mapped[str] = mapped_column(String(10))
    place_code: Mapped[str] = mapped_column(String(12))
    as_of: Mapped[date] = mapped_column(Date)
    value: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    unit: Mapped[Unit] = mapped_column(enum_column(Unit, "report_unit"))
    source: Mapped[str] = mapped_column(String(300))
    note: Mapped[str] = mapped_column(String(500), default="")
    entered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

"""Provinces and commune-level units after the 1 July 2025 reorganisation, keyed by GSO code."""

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.core.db import Base


class Province(Base):
    """One of the 34 provinces and centrally-run cities."""

    __tablename__ = "provinces"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    short_name: Mapped[str] = mapped_column(String(60))
    latitude: Mapped[float]
    longitude: Mapped[float]

    communes: Mapped[list["Commune"]] = relationship(back_populates="province")


class Commune(Base):
    """A commune-level unit: a xã, a phường or a special zone (đặc khu)."""

    __tablename__ = "communes"

    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    province_code: Mapped[str] = mapped_column(ForeignKey("provinces.code"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    short_name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(16))
    search_name: Mapped[str] = mapped_column(String(80), index=True)
    latitude: Mapped[float]
    longitude: Mapped[float]
    area_km2: Mapped[float | None]  # unknown for 2 of the 3,321 in the source data

    province: Mapped[Province] = relationship(back_populates="communes")

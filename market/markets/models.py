"""Markets (4.0 markets, cashless streets, walking streets...) and stalls."""

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.core.db import Base, UTCDateTime, enum_column, utcnow
from market.places.models import Commune

if TYPE_CHECKING:
    from market.vendors.models import Vendor


class MarketKind(StrEnum):
    """What kind of market a place is.

    traditional: a traditional market, where cash still dominates.
    market_4_0: a "chợ 4.0": stalls display QR codes and the market runs cashless campaigns.
    cashless_street: a street whose businesses all aim to accept cashless payment.
    walking_street: a pedestrian or night walking street with food and souvenir stalls.
    ocop_point: an OCOP showroom or sales point for certified local products.
    """

    TRADITIONAL = "traditional"
    MARKET_4_0 = "market_4_0"
    CASHLESS_STREET = "cashless_street"
    WALKING_STREET = "walking_street"
    OCOP_POINT = "ocop_point"


class StallCategory(StrEnum):
    """What a stall mostly sells; the simulator draws ticket sizes per category."""

    FRESH_PRODUCE = "fresh_produce"
    MEAT_FISH = "meat_fish"
    COOKED_FOOD = "cooked_food"
    DRINKS = "drinks"
    OCOP_PRODUCTS = "ocop_products"
    CRAFTS_SOUVENIRS = "crafts_souvenirs"
    CLOTHING = "clothing"
    HOUSEHOLD = "household"
    SERVICES = "services"


class Market(Base):
    """A market in a commune, with its opening hours in Vietnam's local time."""

    __tablename__ = "markets"
    __table_args__ = (CheckConstraint("market_class IN (1, 2, 3)", name="market_class_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    search_name: Mapped[str] = mapped_column(String(120), index=True)
    commune_code: Mapped[str] = mapped_column(ForeignKey("communes.code"), index=True)
    kind: Mapped[MarketKind] = mapped_column(enum_column(MarketKind, "market_kind"), index=True)
    market_class: Mapped[int | None]
    address: Mapped[str] = mapped_column(String(200), default="")
    # [{"days": [5, 6], "opens": "19:00", "closes": "23:00"}], ISO weekdays, local time.
    schedule: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Played by the simulator rather than recorded by real vendors; reports label its figures.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    commune: Mapped[Commune] = relationship()
    stalls: Mapped[list["Stall"]] = relationship(back_populates="market")

    @property
    def province_code(self) -> str:
        return self.commune.province_code


class Stall(Base):
    """A vendor's place in a market, with the code painted on it (e.g. "A12")."""

    __tablename__ = "stalls"
    __table_args__ = (UniqueConstraint("market_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    market_id: Mapped[int] = mapped_column(ForeignKey("markets.id"), index=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    category: Mapped[StallCategory] = mapped_column(enum_column(StallCategory, "stall_category"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the stall began to show its VietQR; null while it takes cash only. Reports count
    # QR coverage at a date from it.
    qr_since: Mapped[datetime | None] = mapped_column(UTCDateTime())

    market: Mapped[Market] = relationship(back_populates="stalls")
    vendor: Mapped["Vendor"] = relationship(back_populates="stalls")

    @property
    def accepts_qr(self) -> bool:
        return self.qr_since is not None

    @accepts_qr.setter
    def accepts_qr(self, accepts: bool) -> None:
        if not accepts:
            self.qr_since = None
        elif self.qr_since is None:
            self.qr_since = utcnow()

"""OCOP producers, their products, the products' certifications and e-commerce listings."""

from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from market.core.db import Base, UTCDateTime, enum_column, utcnow

EXPIRING_WITHIN = timedelta(days=90)
"""A certification this close to its end is "expiring": time for the producer to re-apply."""


class ProducerType(StrEnum):
    """The legal form of an OCOP producer ("chủ thể OCOP").

    cooperative: a hợp tác xã (HTX).
    cooperative_group: a tổ hợp tác.
    enterprise: a company (doanh nghiệp: TNHH, cổ phần, tư nhân…).
    household_business: a hộ kinh doanh or production establishment (cơ sở sản xuất).
    """

    COOPERATIVE = "cooperative"
    COOPERATIVE_GROUP = "cooperative_group"
    ENTERPRISE = "enterprise"
    HOUSEHOLD_BUSINESS = "household_business"


class IssuingLevel(StrEnum):
    """Who recognised the stars.

    district_legacy: a district People's Committee, 3★ only, before districts ended on 1 July 2025.
    province: a provincial People's Committee, 3★ or 4★.
    central: the ministry (MARD, now Agriculture and Environment), 5★ only.
    """

    DISTRICT_LEGACY = "district_legacy"
    PROVINCE = "province"
    CENTRAL = "central"


class CertificationStatus(StrEnum):
    """Where a certification stands on a given day (derived from dates, never stored).

    active: valid, and more than 90 days from its end.
    expiring: valid, ending within 90 days; the producer should re-apply.
    expired: past valid_until; the stars and the OCOP label may no longer be used.
    revoked: withdrawn by the issuing body before its end.
    """

    ACTIVE = "active"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    REVOKED = "revoked"


class Platform(StrEnum):
    """An e-commerce platform where OCOP products are sold (domain.md §1.4)."""

    POSTMART_BUUDIEN = "postmart_buudien"
    VOSO = "voso"
    SHOPEE = "shopee"
    TIKTOK_SHOP = "tiktok_shop"
    LAZADA = "lazada"
    TIKI = "tiki"
    SANPHAMVUNGMIEN = "sanphamvungmien"
    OTHER = "other"


class Producer(Base):
    """A cooperative, cooperative group, enterprise or household business making OCOP products."""

    __tablename__ = "producers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    producer_type: Mapped[ProducerType] = mapped_column(enum_column(ProducerType, "producer_type"))
    tax_code: Mapped[str | None] = mapped_column(String(14), unique=True)
    commune_code: Mapped[str] = mapped_column(ForeignKey("communes.code"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    products: Mapped[list["Product"]] = relationship(back_populates="producer")


class Product(Base):
    """An OCOP product; its stars are those of its current certification."""

    __tablename__ = "products"
    # Lets listing filters by group and stars join through an index, not the wide product row.
    __table_args__ = (
        Index("ix_products_listing_filter", "id", "group_code", "current_certification_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("producers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Not indexed: food is about 78 % of products, and an index on it lured SQLite (without
    # ANALYZE statistics) away from the selective commune index; see benchmarks/bench_catalog.py.
    group_code: Mapped[str] = mapped_column(String(16))
    subgroup_code: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(32))
    origin_commune_code: Mapped[str] = mapped_column(ForeignKey("communes.code"), index=True)
    # Folded text (market.core.text.fold) for search and sorting; services keep it in step.
    search_name: Mapped[str] = mapped_column(String(200), index=True)
    search_text: Mapped[str] = mapped_column(Text)
    # The latest non-revoked certification by decision date (or the latest revoked one when all
    # are); kept by the certification services so that list filters need one join.
    current_certification_id: Mapped[int | None] = mapped_column(
        ForeignKey("ocop_certifications.id", use_alter=True, ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    producer: Mapped[Producer] = relationship(back_populates="products")
    certifications: Mapped[list["Certification"]] = relationship(
        back_populates="product",
        foreign_keys="Certification.product_id",
        order_by="(Certification.decision_date.desc(), Certification.id.desc())",
        passive_deletes="all",
    )
    current_certification: Mapped["Certification | None"] = relationship(
        foreign_keys=[current_certification_id], post_update=True
    )
    ecommerce_listings: Mapped[list["EcommerceListing"]] = relationship(
        back_populates="product", passive_deletes="all"
    )


class Certification(Base):
    """One OCOP recognition decision for a product; history is kept, one row per decision."""

    __tablename__ = "ocop_certifications"
    __table_args__ = (
        CheckConstraint("stars BETWEEN 3 AND 5", name="stars_certified"),
        CheckConstraint(
            "(stars = 3 AND score BETWEEN 50 AND 69) OR (stars = 4 AND score BETWEEN 70 AND 89)"
            " OR (stars = 5 AND score BETWEEN 90 AND 100)",
            name="score_matches_stars",
        ),
        CheckConstraint("valid_until > decision_date", name="valid_after_decision"),
        UniqueConstraint("product_id", "decision_number"),
        Index("ix_ocop_certifications_current", "id", "stars", "revoked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    stars: Mapped[int] = mapped_column(SmallInteger)
    score: Mapped[int] = mapped_column(SmallInteger)
    decision_number: Mapped[str] = mapped_column(String(64))
    decision_date: Mapped[date] = mapped_column(Date)
    issuing_level: Mapped[IssuingLevel] = mapped_column(enum_column(IssuingLevel, "issuing_level"))
    valid_until: Mapped[date] = mapped_column(Date)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revocation_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    product: Mapped[Product] = relationship(
        back_populates="certifications", foreign_keys=[product_id]
    )

    def status_on(self, today: date) -> CertificationStatus:
        """Return the status of this certification on `today`."""
        return certification_status(self.revoked_at, self.valid_until, today)


def certification_status(
    revoked_at: datetime | None, valid_until: date, today: date
) -> CertificationStatus:
    """Return a certification's status on `today`, from its row's two columns that decide it.

    Checkout reads the two columns with its stall and listings instead of loading the objects.
    """
    if revoked_at is not None:
        return CertificationStatus.REVOKED
    if today > valid_until:
        return CertificationStatus.EXPIRED
    if valid_until - today <= EXPIRING_WITHIN:
        return CertificationStatus.EXPIRING
    return CertificationStatus.ACTIVE


class EcommerceListing(Base):
    """A product's page on an e-commerce platform, from listed_at until delisted_at."""

    __tablename__ = "ecommerce_listings"
    __table_args__ = (
        UniqueConstraint("product_id", "url"),
        CheckConstraint(
            "delisted_at IS NULL OR delisted_at >= listed_at", name="delisted_after_listed"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    platform: Mapped[Platform] = mapped_column(enum_column(Platform, "ecommerce_platform"))
    url: Mapped[str] = mapped_column(String(2048))
    listed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    product: Mapped[Product] = relationship(back_populates="ecommerce_listings")

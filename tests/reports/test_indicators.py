"""Catalog and market indicators count what stood at the end of each period."""

from datetime import date, datetime

from sqlalchemy.orm import Session

from catalog import services as catalog
from catalog.models import Platform, ProducerType
from market.core.clock import VIETNAM
from market.markets.models import MarketKind
from market.reports.model import Grain, Place, Source
from market.reports.services import ReportQuery, build_report
from tests.factories.catalog import CertificationFactory, ProducerFactory, ProductFactory
from tests.factories.markets import MarketFactory

CAO_BANG = Place("province", "04", "Tỉnh Cao Bằng")


def values_by_month(session: Session, code: str, **dimensions: str) -> dict[str, object]:
    query = ReportQuery([CAO_BANG], date(2025, 1, 1), date(2025, 12, 31), Grain.MONTH, [code])
    report = build_report(session, query)
    return {
        value.period.label: value.value
        for value in report.values
        if value.indicator == code and value.dimensions == dimensions
    }


def test_certified_products_are_counted_while_their_certificate_is_in_force(
    session: Session,
) -> None:
    honey = ProductFactory(name="Mật ong bạc hà")
    tea = ProductFactory(name="Chè Shan tuyết", producer_id=ProducerFactory(
        producer_type=ProducerType.HOUSEHOLD_BUSINESS).id)  # fmt: skip
    CertificationFactory(product_id=honey.id, stars=4, score=80, decision_date=date(2022, 4, 15))
    CertificationFactory(product_id=tea.id, decision_date=date(2025, 3, 10))
    revoked = CertificationFactory(decision_date=date(2025, 2, 1))
    catalog.revoke_certification(
        session, revoked.id, "fraud", now=datetime(2025, 6, 20, 9, tzinfo=VIETNAM)
    )
    ProductFactory(name="Không chứng nhận")  # never certified: never counted

    products = values_by_month(session, "OCOP_PRODUCTS")
    honey_mix = values_by_month(
        session, "OCOP_PRODUCTS", stars="4", group="FOOD", producer_type="cooperative"
    )

    # Honey's 36 months end on 14 April 2025; tea starts in March; the third is revoked in June.
    assert [products[f"2025-{m:02d}"] for m in range(1, 8)] == [1, 2, 3, 2, 2, 1, 1]
    assert honey_mix["2025-03"] == 1 and "2025-04" not in honey_mix
    assert values_by_month(session, "OCOP_NEW")["2025-03"] == 1
    assert values_by_month(session, "OCOP_EXPIRED")["2025-04"] == 1
    expiring = values_by_month(session, "OCOP_EXPIRING_90D")
    assert expiring["2025-01"] == 1 and expiring["2025-04"] == 0


def test_products_listed_online_count_against_certified_ones(session: Session) -> None:
    listed, offline = ProductFactory(), ProductFactory()
    for product in (listed, offline):
        CertificationFactory(product_id=product.id, decision_date=date(2024, 12, 1))
    catalog.add_ecommerce_listing(
        session,
        listed.id,
        platform=Platform.POSTMART_BUUDIEN,
        url="https://postmart.vn/mat-ong",
        listed_at=datetime(2025, 5, 3, tzinfo=VIETNAM),
        delisted_at=datetime(2025, 9, 1, tzinfo=VIETNAM),
    )

    online = values_by_month(session, "OCOP_ON_ECOM")

    assert online["2025-04"] == 0
    assert online["2025-05"] == 50
    assert online["2025-09"] == 0, "delisted on 1 September"


def test_markets_of_each_kind_are_counted_with_all_markets_as_denominator(
    session: Session,
) -> None:
    MarketFactory(kind=MarketKind.MARKET_4_0, created_at=datetime(2025, 3, 5, tzinfo=VIETNAM))
    MarketFactory(kind=MarketKind.CASHLESS_STREET, created_at=datetime(2024, 1, 1, tzinfo=VIETNAM))
    MarketFactory(kind=MarketKind.TRADITIONAL, created_at=datetime(2024, 1, 1, tzinfo=VIETNAM))
    query = ReportQuery([CAO_BANG], date(2025, 1, 1), date(2025, 6, 30), Grain.QUARTER)

    report = build_report(session, query)

    fours = {v.period.label: v for v in report.values if v.indicator == "MARKETS_4_0"}
    assert (fours["2025-Q1"].value, fours["2025-Q1"].denominator) == (1, 3)
    streets = [v.value for v in report.values if v.indicator == "CASHLESS_STREETS"]
    assert streets == [1, 1]
    assert {v.source for v in report.values} == {Source.RECORDED}


def test_simulated_markets_label_their_figures_simulated(session: Session) -> None:
    MarketFactory(simulated=True, created_at=datetime(2024, 1, 1, tzinfo=VIETNAM))
    query = ReportQuery([CAO_BANG], date(2025, 1, 1), date(2025, 3, 31), Grain.QUARTER)

    report = build_report(session, query)

    assert {v.source for v in report.values} == {Source.SIMULATED}

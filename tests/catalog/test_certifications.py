"""An admin records OCOP certifications and sees them expire; bad decisions are refused."""

from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog import services
from catalog.models import Certification, CertificationStatus, IssuingLevel
from market.core.clock import vietnam_today
from tests.factories.catalog import CertificationFactory, ProductFactory
from tests.market.test_app import assert_error

ACTIVE, EXPIRING, EXPIRED, REVOKED = (
    CertificationStatus.ACTIVE,
    CertificationStatus.EXPIRING,
    CertificationStatus.EXPIRED,
    CertificationStatus.REVOKED,
)


def decision(**changes: Any) -> dict[str, Any]:
    return {
        "stars": 4,
        "score": 78,
        "decision_number": "828/QĐ-UBND",
        "decision_date": "2024-03-15",
        "issuing_level": "province",
    } | changes


def test_an_admin_records_a_certification_and_sees_it_expire(
    client: FlaskClient, admin: dict[str, str], session: Session
) -> None:
    product = ProductFactory(name="Miến dong Nguyên Bình")
    response = client.post(
        f"/api/v1/products/{product.id}/certifications", json=decision(), headers=admin
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["valid_until"] == "2027-03-15"  # 36 months after the decision
    shown = client.get(f"/api/v1/products/{product.id}").get_json()["current_certification"]
    assert (shown["stars"], shown["status"]) == (4, "active")

    # As days pass the same certification becomes expiring (90 days left), then expired.
    def on(day: date) -> tuple[CertificationStatus, list[int]]:
        expiring = services.ProductFilters(status=EXPIRING)
        listed = session.scalars(
            services.product_query(expiring, session.get_bind().dialect.name, day)
        ).all()
        return certification.status_on(day), [p.id for p in listed]

    certification = session.get_one(Certification, body["id"])
    assert on(date(2026, 12, 14)) == (ACTIVE, [])
    assert on(date(2026, 12, 15)) == (EXPIRING, [product.id])
    assert on(date(2027, 3, 15)) == (EXPIRING, [product.id])
    assert on(date(2027, 3, 16)) == (EXPIRED, [])


def test_the_api_shows_each_status_by_todays_date_in_vietnam(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    today = vietnam_today()
    ages = {"active": 400, "expiring": 3 * 365 - 30, "expired": 3 * 365 + 30}
    for status, days in ages.items():
        product = ProductFactory(name=f"Sản phẩm {status}")
        day = (today - timedelta(days=days)).isoformat()
        client.post(
            f"/api/v1/products/{product.id}/certifications",
            json=decision(decision_date=day),
            headers=admin,
        )
    for status in ages:
        page = client.get("/api/v1/products", query_string={"status": status}).get_json()
        assert [item["name"] for item in page["items"]] == [f"Sản phẩm {status}"]
        assert page["items"][0]["current_certification"]["status"] == status


def test_a_leap_day_decision_is_valid_until_the_end_of_february(session: Session) -> None:
    certification = CertificationFactory(decision_date=date(2024, 2, 29))
    assert certification.valid_until == date(2027, 2, 28)
    assert services.add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"stars": 2, "score": 40}, "stars"),
        ({"stars": 6, "score": 95}, "stars"),
        ({"stars": 4, "score": 69}, "score"),
        ({"stars": 3, "score": 70}, "score"),
        ({"stars": 5, "score": 89, "issuing_level": "central"}, "score"),
        ({"score": 101}, "score"),
        ({"score": "78"}, "score"),
        ({"decision_date": "2099-01-01"}, "decision_date"),
        ({"decision_date": "15/03/2024"}, "decision_date"),
        ({"stars": 5, "score": 92}, "issuing_level"),  # 5★ is central
        ({"issuing_level": "central"}, "issuing_level"),  # central gives 5★ only
        ({"issuing_level": "district_legacy"}, "issuing_level"),  # districts gave 3★ only
        (
            {
                "stars": 3,
                "score": 60,
                "issuing_level": "district_legacy",
                "decision_date": "2025-8-1",
            },
            "decision_date",
        ),
        (
            {
                "stars": 3,
                "score": 60,
                "issuing_level": "district_legacy",
                "decision_date": "2025-08-01",
            },
            "issuing_level",  # no districts after 1 July 2025
        ),
        ({"decision_number": ""}, "decision_number"),
    ],
)
def test_a_bad_certification_is_refused_naming_the_field_and_nothing_is_saved(
    client: FlaskClient, admin: dict[str, str], session: Session, changes: dict, field: str
) -> None:
    product = ProductFactory()
    url = f"/api/v1/products/{product.id}/certifications"
    response = client.post(url, json=decision(**changes), headers=admin)
    assert field in assert_error(response, 422)["errors"]["json"]
    assert session.scalar(select(func.count()).select_from(Certification)) == 0


def test_a_future_decision_date_is_judged_against_the_injected_today(session: Session) -> None:
    product = ProductFactory()
    values = {
        "stars": 3,
        "score": 55,
        "decision_number": "1/QĐ-UBND",
        "decision_date": date(2026, 5, 2),
        "issuing_level": IssuingLevel.PROVINCE,
    }
    with pytest.raises(services.DomainError) as refused:
        services.record_certification(session, product.id, **values, today=date(2026, 5, 1))
    assert refused.value.field == "decision_date"
    services.record_certification(session, product.id, **values, today=date(2026, 5, 2))


def test_the_same_decision_twice_for_a_product_is_a_conflict(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    product = ProductFactory()
    url = f"/api/v1/products/{product.id}/certifications"
    client.post(url, json=decision(), headers=admin)
    assert (
        "decision_number"
        in assert_error(client.post(url, json=decision(), headers=admin), 409)["errors"]["json"]
    )


def test_the_latest_decision_is_current_and_revoking_it_falls_back(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    product = ProductFactory()
    url = f"/api/v1/products/{product.id}/certifications"
    older = client.post(
        url,
        json=decision(stars=3, score=65, decision_number="12/QĐ-UBND", decision_date="2023-06-01"),
        headers=admin,
    ).get_json()
    newer = client.post(url, json=decision(), headers=admin).get_json()

    def current() -> dict[str, Any] | None:
        return client.get(f"/api/v1/products/{product.id}").get_json()["current_certification"]

    assert current()["id"] == newer["id"]
    revoked = client.post(
        f"/api/v1/certifications/{newer['id']}/revoke",
        json={"reason": "Không duy trì chất lượng"},
        headers=admin,
    )
    assert revoked.get_json()["status"] == "revoked"
    assert current()["id"] == older["id"]
    again = client.post(
        f"/api/v1/certifications/{newer['id']}/revoke", json={"reason": "x"}, headers=admin
    )
    assert_error(again, 409)

    client.delete(f"/api/v1/certifications/{older['id']}", headers=admin)
    assert current()["id"] == newer["id"]  # only the revoked one is left
    page = client.get("/api/v1/products", query_string={"status": "revoked"}).get_json()
    assert [item["id"] for item in page["items"]] == [product.id]
    history = client.get(url).get_json()
    assert [item["id"] for item in history] == [newer["id"]]


def test_correcting_a_certification_recomputes_its_validity(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    certification = CertificationFactory()
    url = f"/api/v1/certifications/{certification.id}"
    patched = client.patch(url, json={"decision_date": "2025-09-30"}, headers=admin).get_json()
    assert patched["valid_until"] == "2028-09-30"
    refused = client.patch(url, json={"score": 75}, headers=admin)  # 3★ needs 50-69
    assert "score" in assert_error(refused, 422)["errors"]["json"]
    assert client.get(url).get_json()["score"] == 60

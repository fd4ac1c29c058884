"""Producers and products through the API: who may write, bad input refused, delete or archive."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.models import EcommerceListing, Producer, Product
from market.core.access import Role
from tests.factories.catalog import THUC_PHAN, CertificationFactory, ProductFactory
from tests.market.test_app import assert_error

PRODUCER = {
    "name": "HTX Chè Shan tuyết Phja Đén",
    "producer_type": "cooperative",
    "tax_code": "4800123456",
    "commune_code": THUC_PHAN,
}


def count(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def make_product(client: FlaskClient, admin: dict[str, str], **changes: Any) -> dict[str, Any]:
    producer = client.post("/api/v1/producers", json=PRODUCER, headers=admin).get_json()
    body = {
        "producer_id": producer["id"],
        "name": "Chè Shan tuyết",
        "group_code": "FOOD",
        "subgroup_code": "1.5",
        "unit": "gói 200 g",
        "origin_commune_code": THUC_PHAN,
        "description": "Chè búp tươi hái trên núi cao.",
    } | changes
    response = client.post("/api/v1/products", json=body, headers=admin)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_an_admin_creates_a_producer_and_a_product_that_anyone_reads(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    product = make_product(client, admin)
    assert product["producer"]["name"] == PRODUCER["name"]
    assert product["current_certification"] is None
    read = client.get(f"/api/v1/products/{product['id']}").get_json()
    assert read["name"] == "Chè Shan tuyết" and read["subgroup_code"] == "1.5"
    producer = client.get(f"/api/v1/producers/{product['producer_id']}").get_json()
    assert producer["tax_code"] == "4800123456"


def test_a_branch_tax_code_is_kept_in_the_10_3_form(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    body = PRODUCER | {"tax_code": "4800123456001"}
    created = client.post("/api/v1/producers", json=body, headers=admin).get_json()
    assert created["tax_code"] == "4800123456-001"


def test_updating_a_product_and_its_producer_changes_what_search_finds(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    product = make_product(client, admin)
    client.patch(f"/api/v1/products/{product['id']}", json={"name": "Trà xanh"}, headers=admin)
    client.patch(
        f"/api/v1/producers/{product['producer_id']}", json={"name": "HTX Núi Đá"}, headers=admin
    )
    found = client.get("/api/v1/products", query_string={"q": "nui da tra"}).get_json()
    assert [item["id"] for item in found["items"]] == [product["id"]]
    read = client.get(f"/api/v1/products/{product['id']}").get_json()
    assert read["description"] == "Chè búp tươi hái trên núi cao."  # PATCH kept it


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tax_code": "12345"}, "tax_code"),
        ({"tax_code": "0101234567-01"}, "tax_code"),
        ({"commune_code": "99999"}, "commune_code"),
        ({"commune_code": "1273"}, "commune_code"),
        ({"producer_type": "farmer"}, "producer_type"),
        ({"name": ""}, "name"),
    ],
)
def test_a_bad_producer_is_refused_naming_the_field_and_nothing_is_saved(
    client: FlaskClient, admin: dict[str, str], session: Session, changes: dict, field: str
) -> None:
    response = client.post("/api/v1/producers", json=PRODUCER | changes, headers=admin)
    assert field in assert_error(response, 422)["errors"]["json"]
    assert count(session, Producer) == 0


def test_a_second_producer_with_the_same_tax_code_is_a_conflict(
    client: FlaskClient, admin: dict[str, str], session: Session
) -> None:
    client.post("/api/v1/producers", json=PRODUCER, headers=admin)
    response = client.post("/api/v1/producers", json=PRODUCER, headers=admin)
    assert "tax_code" in assert_error(response, 409)["errors"]["json"]
    assert count(session, Producer) == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"group_code": "SNACKS"}, "group_code"),
        ({"subgroup_code": "9.9"}, "subgroup_code"),
        ({"subgroup_code": "2.1"}, "subgroup_code"),  # a beverage sub-group under FOOD
        ({"origin_commune_code": "00000"}, "origin_commune_code"),
        ({"producer_id": 999999}, "producer_id"),
        ({"unit": ""}, "unit"),
    ],
)
def test_a_bad_product_is_refused_naming_the_field_and_nothing_is_saved(
    client: FlaskClient, admin: dict[str, str], session: Session, changes: dict, field: str
) -> None:
    producer = client.post("/api/v1/producers", json=PRODUCER, headers=admin).get_json()
    body = {
        "producer_id": producer["id"],
        "name": "Miến dong",
        "group_code": "FOOD",
        "subgroup_code": "1.3",
        "unit": "gói",
        "origin_commune_code": THUC_PHAN,
    } | changes
    response = client.post("/api/v1/products", json=body, headers=admin)
    assert field in assert_error(response, 422)["errors"]["json"]
    assert count(session, Product) == 0


@pytest.mark.parametrize("role", [Role.VENDOR, Role.OFFICIAL, None])
def test_only_admins_write_the_catalog(
    client: FlaskClient, auth: Callable[..., dict[str, str]], session: Session, role: Role | None
) -> None:
    product = ProductFactory()
    certification = CertificationFactory(product_id=product.id)
    headers = auth(role) if role else {}
    expected = 403 if role else 401
    writes = [
        ("post", "/api/v1/producers", PRODUCER),
        ("patch", f"/api/v1/producers/{product.producer_id}", {"name": "x"}),
        ("delete", f"/api/v1/producers/{product.producer_id}", None),
        ("post", "/api/v1/products", {}),
        ("patch", f"/api/v1/products/{product.id}", {"name": "x"}),
        ("delete", f"/api/v1/products/{product.id}", None),
        ("post", f"/api/v1/products/{product.id}/certifications", {}),
        ("patch", f"/api/v1/certifications/{certification.id}", {"score": 61}),
        ("delete", f"/api/v1/certifications/{certification.id}", None),
        ("post", f"/api/v1/certifications/{certification.id}/revoke", {"reason": "x"}),
        ("post", f"/api/v1/products/{product.id}/ecommerce-listings", {}),
    ]
    for method, url, body in writes:
        assert_error(getattr(client, method)(url, json=body, headers=headers), expected)
    assert client.get(f"/api/v1/products/{product.id}").get_json()["name"] == product.name
    assert count(session, Producer) == 1


def test_deleting_an_unreferenced_product_removes_it(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    product = make_product(client, admin)
    response = client.delete(f"/api/v1/products/{product['id']}", headers=admin)
    assert response.get_json() == {"id": product["id"], "outcome": "deleted", "archived_at": None}
    assert_error(client.get(f"/api/v1/products/{product['id']}"), 404)
    assert client.get("/api/v1/products", query_string={"q": "che shan"}).get_json()["total"] == 0


def test_deleting_a_referenced_product_archives_it_and_keeps_its_references(
    client: FlaskClient, admin: dict[str, str], session: Session
) -> None:
    product = make_product(client, admin)
    listing = client.post(
        f"/api/v1/products/{product['id']}/ecommerce-listings",
        json={"platform": "postmart_buudien", "url": "https://postmart.vn/san-pham/123"},
        headers=admin,
    ).get_json()
    response = client.delete(f"/api/v1/products/{product['id']}", headers=admin)
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "archived"
    assert client.get(f"/api/v1/ecommerce-listings/{listing['id']}").status_code == 200
    assert client.get(f"/api/v1/products/{product['id']}").get_json()["archived_at"]
    assert client.get("/api/v1/products").get_json()["total"] == 0
    every = client.get("/api/v1/products", query_string={"include_archived": "true"}).get_json()
    assert [item["id"] for item in every["items"]] == [product["id"]]
    assert count(session, EcommerceListing) == 1


def test_a_certified_product_is_archived_not_deleted(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    certification = CertificationFactory()
    response = client.delete(f"/api/v1/products/{certification.product_id}", headers=admin)
    assert response.get_json()["outcome"] == "archived"


def test_a_producer_with_products_cannot_be_deleted(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    product = make_product(client, admin)
    assert_error(client.delete(f"/api/v1/producers/{product['producer_id']}", headers=admin), 409)
    client.delete(f"/api/v1/products/{product['id']}", headers=admin)
    response = client.delete(f"/api/v1/producers/{product['producer_id']}", headers=admin)
    assert response.status_code == 204


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"platform": "shopee", "url": "not a url"}, "url"),
        ({"platform": "shopee", "url": "ftp://shopee.vn/x"}, "url"),
        ({"platform": "amazon", "url": "https://amazon.com/x"}, "platform"),
        (
            {
                "platform": "voso",
                "url": "https://voso.vn/x",
                "listed_at": "2026-01-02T00:00:00+07:00",
                "delisted_at": "2026-01-01T00:00:00+07:00",
            },
            "delisted_at",
        ),
    ],
)
def test_a_bad_ecommerce_listing_is_refused_naming_the_field(
    client: FlaskClient, admin: dict[str, str], session: Session, body: dict, field: str
) -> None:
    product = ProductFactory()
    url = f"/api/v1/products/{product.id}/ecommerce-listings"
    response = client.post(url, json=body, headers=admin)
    assert field in assert_error(response, 422)["errors"]["json"]
    assert count(session, EcommerceListing) == 0


def test_an_ecommerce_listing_is_delisted_and_deleted(
    client: FlaskClient, admin: dict[str, str]
) -> None:
    product = ProductFactory()
    url = f"/api/v1/products/{product.id}/ecommerce-listings"
    listing = client.post(
        url, json={"platform": "tiktok_shop", "url": "https://tiktok.com/@htx"}, headers=admin
    ).get_json()
    patched = client.patch(
        f"/api/v1/ecommerce-listings/{listing['id']}",
        json={"delisted_at": "2099-01-01T00:00:00+07:00"},
        headers=admin,
    ).get_json()
    delisted = datetime.fromisoformat(patched["delisted_at"])
    assert delisted == datetime(2098, 12, 31, 17, tzinfo=UTC)
    assert [item["platform"] for item in client.get(url).get_json()] == ["tiktok_shop"]
    deleted = client.delete(f"/api/v1/ecommerce-listings/{listing['id']}", headers=admin)
    assert deleted.status_code == 204
    assert client.get(url).get_json() == []


def test_product_groups_are_the_six_of_qd_148_with_their_subgroups(client: FlaskClient) -> None:
    groups = client.get("/api/v1/product-groups").get_json()
    assert [group["code"] for group in groups] == [
        "FOOD",
        "BEVERAGE",
        "MEDICINAL",
        "HANDICRAFT",
        "ORNAMENTAL",
        "TOURISM",
    ]
    food = groups[0]
    assert [sub["code"] for sub in food["subgroups"]][:4] == ["1.1", "1.2", "1.3", "1.4"]
    assert "quoted in domain.md" in food["subgroups"][0]["source"]
    assert all(
        sub["parent_code"] == group["code"] for group in groups for sub in group["subgroups"]
    )

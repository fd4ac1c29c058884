"""A shopper finds products by typing as Vietnamese users do: no accents, unfinished words."""

from typing import Any

from flask.testing import FlaskClient

from catalog.models import ProducerType
from tests.factories.catalog import CertificationFactory, ProducerFactory, ProductFactory

HA_NOI_COMMUNE = "00004"  # Phường Ba Đình, Hà Nội (province 01)


def names(client: FlaskClient, **query: Any) -> list[str]:
    response = client.get("/api/v1/products", query_string=query)
    assert response.status_code == 200, response.get_json()
    return [item["name"] for item in response.get_json()["items"]]


def test_a_shopper_finds_a_product_typed_without_accents(client: FlaskClient) -> None:
    ProductFactory(name="Cà phê Arabica Cầu Đất")
    ProductFactory(name="Miến dong Nguyên Bình")
    ProductFactory(name="Mật ong bạc hà", group_code="FOOD", subgroup_code="1.2")
    ProductFactory(name="Gạo nếp cái hoa vàng")
    assert names(client, q="ca phe") == ["Cà phê Arabica Cầu Đất"]
    assert names(client, q="mien dong") == ["Miến dong Nguyên Bình"]
    assert names(client, q="MAT ONG") == ["Mật ong bạc hà"]
    assert names(client, q="Mật Ong") == ["Mật ong bạc hà"]
    assert names(client, q="ca ph") == ["Cà phê Arabica Cầu Đất"]  # still typing
    assert names(client, q="cà phê, arabica!") == ["Cà phê Arabica Cầu Đất"]
    assert names(client, q="tra sua") == []
    assert names(client, q="  ") == [  # blank: everything, by name as a Vietnamese reads it
        "Cà phê Arabica Cầu Đất",
        "Gạo nếp cái hoa vàng",
        "Mật ong bạc hà",
        "Miến dong Nguyên Bình",
    ]


def test_a_name_match_ranks_above_a_description_only_match(client: FlaskClient) -> None:
    ProductFactory(name="Bánh gai Ninh Giang", description="Ăn kèm cà phê sáng rất ngon.")
    ProductFactory(name="Cà phê Robusta Đắk Lắk", description="Rang mộc.")
    ProductFactory(name="Chè lam", description="Hợp với trà, cà phê và cả cà phê sữa.")
    assert names(client, q="ca phe")[0] == "Cà phê Robusta Đắk Lắk"
    assert len(names(client, q="ca phe")) == 3


def test_the_producer_name_is_searched_too(client: FlaskClient) -> None:
    producer = ProducerFactory(name="HTX Thảo dược Bảo Lạc")
    ProductFactory(producer_id=producer.id, name="Trà giảo cổ lam")
    assert names(client, q="bao lac") == ["Trà giảo cổ lam"]


def test_filters_combine_and_pages_are_counted_in_a_stable_order(client: FlaskClient) -> None:
    household = ProducerFactory(producer_type=ProducerType.HOUSEHOLD_BUSINESS)
    for n in range(5):
        CertificationFactory(
            product_id=ProductFactory(name=f"Mật ong {n}", producer_id=household.id).id,
            stars=4,
            score=75,
        )
    CertificationFactory(product_id=ProductFactory(name="Mật ong ba sao").id)
    ProductFactory(name="Mật ong Hà Nội", origin_commune_code=HA_NOI_COMMUNE)
    ProductFactory(name="Rượu ngô", group_code="BEVERAGE", subgroup_code="2.1")

    query = {"province": "04", "group": "FOOD", "stars": 4, "status": "active", "page_size": 2}
    first = client.get("/api/v1/products", query_string=query).get_json()
    second = client.get("/api/v1/products", query_string=query | {"page": 2}).get_json()
    assert first["total"] == second["total"] == 5
    assert [i["name"] for i in first["items"] + second["items"]] == [
        f"Mật ong {n}" for n in range(4)
    ]

    assert names(client, province="01") == ["Mật ong Hà Nội"]
    assert names(client, commune=HA_NOI_COMMUNE) == ["Mật ong Hà Nội"]
    assert names(client, group="BEVERAGE") == ["Rượu ngô"]
    assert names(client, subgroup="2.1") == ["Rượu ngô"]
    assert len(names(client, producer_type="household_business")) == 5
    assert names(client, stars=3) == ["Mật ong ba sao"]
    assert names(client, q="mat ong", stars=3, province="04") == ["Mật ong ba sao"]


def test_sorting_by_stars_and_newest_breaks_ties_by_id(client: FlaskClient) -> None:
    plain = ProductFactory(name="A không sao")
    three = CertificationFactory(product_id=ProductFactory(name="B ba sao").id).product
    five = CertificationFactory(
        product_id=ProductFactory(name="C năm sao").id, stars=5, score=92, issuing_level="central"
    ).product
    assert names(client, sort="stars") == [five.name, three.name, plain.name]
    assert names(client, sort="newest") == [five.name, three.name, plain.name]
    assert names(client, sort="name") == [plain.name, three.name, five.name]


def test_bad_filters_name_the_field(client: FlaskClient) -> None:
    for query, field in (
        ({"group": "SNACKS"}, "group"),
        ({"subgroup": "9.9"}, "subgroup"),
        ({"stars": 2}, "stars"),
        ({"status": "valid"}, "status"),
        ({"province": "4"}, "province"),
        ({"commune": "abc"}, "commune"),
        ({"producer_type": "farmer"}, "producer_type"),
        ({"sort": "price"}, "sort"),
    ):
        response = client.get("/api/v1/products", query_string=query)
        assert response.status_code == 422
        assert field in response.get_json()["errors"]["query"]

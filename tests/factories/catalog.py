"""Factories for the catalog: producers, products and certifications, made through the services.

Products need their folded search text and certifications their product's current pointer, so
these factories call the real services instead of inserting rows.
"""

from datetime import date

import factory

from catalog import services
from catalog.models import Certification, IssuingLevel, Producer, ProducerType, Product
from tests.factories import current_session

THUC_PHAN = "01273"  # Phường Thục Phán, Cao Bằng (province 04)


class ProducerFactory(factory.Factory):
    class Meta:
        model = Producer

    name = factory.Sequence(lambda n: f"HTX Nông sản {n}")
    producer_type = ProducerType.COOPERATIVE
    commune_code = THUC_PHAN
    tax_code = None

    @classmethod
    def _create(cls, model_class: type[Producer], **values: object) -> Producer:
        return services.create_producer(current_session(), **values)  # type: ignore[arg-type]


class ProductFactory(factory.Factory):
    class Meta:
        model = Product

    producer_id = factory.LazyFunction(lambda: ProducerFactory().id)
    name = factory.Sequence(lambda n: f"Sản phẩm {n}")
    group_code = "FOOD"
    subgroup_code = "1.3"
    unit = "hộp"
    origin_commune_code = THUC_PHAN
    description = ""

    @classmethod
    def _create(cls, model_class: type[Product], **values: object) -> Product:
        return services.create_product(current_session(), **values)  # type: ignore[arg-type]


class CertificationFactory(factory.Factory):
    class Meta:
        model = Certification

    product_id = factory.LazyFunction(lambda: ProductFactory().id)
    stars = 3
    score = 60
    decision_number = factory.Sequence(lambda n: f"{n}/QĐ-UBND")
    decision_date = date(2025, 8, 1)
    issuing_level = IssuingLevel.PROVINCE

    @classmethod
    def _create(cls, model_class: type[Certification], **values: object) -> Certification:
        product_id = values.pop("product_id")
        return services.record_certification(current_session(), product_id, **values)  # type: ignore[arg-type]

"""Time the product list, the accent-free search and the listings through the Flask test client.

Loads 20,000 OCOP products (with producers and certifications in the national mixes: stars
76/23/1 %, about 78 % food) and the 3,321 communes into a fresh migrated database, then a market
layer: 300 markets in real communes across the provinces, 3,000 vendors (each with a vendor
account; some hold a second stall), their stalls, and 50,000 listings (about 60 % OCOP products,
the rest free-titled goods such as "Nước mía" or "Rau cải"; log-normal prices in whole dong; some
out of stock, archived, or at closed stalls). Then prints the median and p95 latency of each
request to GET /api/v1/products and GET /api/v1/listings. SQLite in a temporary file by default;
`--database-url postgresql+psycopg://…` runs on PostgreSQL and EMPTIES that database first.
`--explain` prints the plan of every SQL statement of the requests over the target (all of them
with `--explain all`).

    .venv/bin/python benchmarks/bench_catalog.py [--database-url URL] [--products 20000]
        [--markets 300] [--vendors 3000] [--listings 50000] [--explain [all]]
"""

import argparse
import itertools
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, func, insert, select, text, update
from sqlalchemy.orm import Session

from catalog.models import Certification, IssuingLevel, Producer, ProducerType, Product
from catalog.services import VALIDITY_MONTHS, add_months
from market import migrate
from market.accounts.models import User
from market.app import create_app
from market.core.db import create_db_engine
from market.core.principals import Role
from market.core.text import fold
from market.markets.models import Market, MarketKind, Stall, StallCategory
from market.places.models import Commune
from market.places.services import load_places
from market.vendors.models import Listing, Vendor
from payments.banks import bank_by_bin

TARGET_MS = 20.0
REQUESTS = 200
BATCH = 2_000

# (name stem, group, sub-group, unit, weight): food about 78 %, as in Lào Cai and Long An.
KINDS = [
    ("Cà phê rang xay", "FOOD", "1.3", "gói 500 g", 6),
    ("Mật ong rừng", "FOOD", "1.2", "chai 500 ml", 6),
    ("Miến dong", "FOOD", "1.3", "gói 500 g", 5),
    ("Gạo nếp", "FOOD", "1.2", "túi 5 kg", 8),
    ("Nước mắm", "FOOD", "1.4", "chai 500 ml", 6),
    ("Chè Shan tuyết", "FOOD", "1.5", "hộp 200 g", 6),
    ("Lạp xưởng", "FOOD", "1.3", "gói 500 g", 5),
    ("Bưởi da xanh", "FOOD", "1.1", "kg", 6),
    ("Nấm hương", "FOOD", "1.2", "gói 200 g", 5),
    ("Măng khô", "FOOD", "1.2", "gói 500 g", 5),
    ("Tương ớt", "FOOD", "1.4", "chai 250 ml", 5),
    ("Hồng treo gió", "FOOD", "1.3", "hộp 500 g", 5),
    ("Thịt trâu gác bếp", "FOOD", "1.3", "gói 500 g", 6),
    ("Rượu ngô men lá", "BEVERAGE", "2.1", "chai 500 ml", 4),
    ("Nước ép chanh leo", "BEVERAGE", "2.2", "chai 330 ml", 3),
    ("Tinh dầu quế", "MEDICINAL", "3.3", "lọ 10 ml", 2),
    ("Cao atiso", "MEDICINAL", "3.1", "hộp", 2),
    ("Xà phòng thảo mộc", "MEDICINAL", "3.2", "bánh", 1),
    ("Mây tre đan", "HANDICRAFT", "4.1", "chiếc", 3),
    ("Thổ cẩm dệt tay", "HANDICRAFT", "4.2", "tấm", 2),
    ("Lan hồ điệp", "ORNAMENTAL", "5.1", "chậu", 1),
    ("Homestay bản", "TOURISM", "6.1", "đêm", 2),
]
PRODUCER_TYPES = [  # Dec 2024 mix: 32 % co-operatives, 22 % enterprises, 32 % households
    (ProducerType.COOPERATIVE, "HTX", 32),
    (ProducerType.ENTERPRISE, "Công ty TNHH", 22),
    (ProducerType.HOUSEHOLD_BUSINESS, "Hộ kinh doanh", 32),
    (ProducerType.COOPERATIVE_GROUP, "Tổ hợp tác", 14),
]
WORDS = "ngon sạch truyền thống thơm đặc sản vùng cao làng nghề thủ công tự nhiên".split()
PRODUCTS = "/api/v1/products"
LISTINGS = "/api/v1/listings"
QUERIES = {
    "list: province+group+stars+status, page 2": {
        "province": "04",
        "group": "FOOD",
        "stars": 3,
        "status": "active",
        "page": 2,
        "page_size": 20,
    },
    "search 'ca phe'": {"q": "ca phe", "page_size": 20},
    "search 'mien dong'": {"q": "mien dong", "page_size": 20},
    "search 'mat ong'": {"q": "mat ong", "page_size": 20},
    "search 'ca ph'": {"q": "ca ph", "page_size": 20},
}


# Markets: (kind, name prefix, weight, classes 1/2/3 weights or None, schedule, size factor).
DAILY = [{"days": [1, 2, 3, 4, 5, 6, 7], "opens": "05:00", "closes": "18:00"}]
MARKET_KINDS = [
    (MarketKind.TRADITIONAL, "Chợ", 50, (5, 25, 70), DAILY, 1.0),
    (MarketKind.MARKET_4_0, "Chợ 4.0", 25, (15, 35, 50), DAILY, 1.3),
    (
        MarketKind.CASHLESS_STREET,
        "Tuyến phố không dùng tiền mặt",
        8,
        None,
        [{"days": [1, 2, 3, 4, 5, 6, 7], "opens": "07:00", "closes": "22:00"}],
        0.6,
    ),
    (
        MarketKind.WALKING_STREET,
        "Phố đi bộ",
        10,
        None,
        [{"days": [5, 6, 7], "opens": "19:00", "closes": "23:00"}],
        0.8,
    ),
    (MarketKind.OCOP_POINT, "Điểm bán sản phẩm OCOP", 7, None, DAILY, 0.3),
]
# Stall categories and their weights among stalls; OCOP products go to ocop_products stalls
# (handicrafts to crafts_souvenirs), free-titled goods to the stalls of their category.
STALL_CATEGORIES = {
    StallCategory.FRESH_PRODUCE: 22,
    StallCategory.MEAT_FISH: 10,
    StallCategory.COOKED_FOOD: 14,
    StallCategory.DRINKS: 9,
    StallCategory.OCOP_PRODUCTS: 22,
    StallCategory.CRAFTS_SOUVENIRS: 6,
    StallCategory.CLOTHING: 8,
    StallCategory.HOUSEHOLD: 6,
    StallCategory.SERVICES: 3,
}
# Free-titled goods: (title, unit, median price in dong, stall category, weight).
GOODS = [
    ("Rau cải", "bó", 10_000, StallCategory.FRESH_PRODUCE, 6),
    ("Rau muống", "bó", 8_000, StallCategory.FRESH_PRODUCE, 6),
    ("Cà chua", "kg", 25_000, StallCategory.FRESH_PRODUCE, 4),
    ("Bắp cải", "kg", 15_000, StallCategory.FRESH_PRODUCE, 3),
    ("Khoai lang", "kg", 20_000, StallCategory.FRESH_PRODUCE, 3),
    ("Chuối tiêu", "nải", 30_000, StallCategory.FRESH_PRODUCE, 3),
    ("Cam sành", "kg", 35_000, StallCategory.FRESH_PRODUCE, 3),
    ("Hành lá", "bó", 5_000, StallCategory.FRESH_PRODUCE, 3),
    ("Mật ong nuôi", "chai 500 ml", 150_000, StallCategory.FRESH_PRODUCE, 1),
    ("Thịt lợn ba chỉ", "kg", 140_000, StallCategory.MEAT_FISH, 4),
    ("Thịt bò", "kg", 280_000, StallCategory.MEAT_FISH, 3),
    ("Gà ta", "kg", 120_000, StallCategory.MEAT_FISH, 3),
    ("Cá chép", "kg", 70_000, StallCategory.MEAT_FISH, 2),
    ("Trứng gà", "chục", 35_000, StallCategory.MEAT_FISH, 3),
    ("Phở bò", "bát", 45_000, StallCategory.COOKED_FOOD, 4),
    ("Bánh mì pate", "cái", 20_000, StallCategory.COOKED_FOOD, 4),
    ("Xôi xéo", "gói", 15_000, StallCategory.COOKED_FOOD, 3),
    ("Bún chả", "suất", 40_000, StallCategory.COOKED_FOOD, 3),
    ("Bánh cuốn", "đĩa", 30_000, StallCategory.COOKED_FOOD, 2),
    ("Nước mía", "cốc", 10_000, StallCategory.DRINKS, 4),
    ("Trà đá", "cốc", 5_000, StallCategory.DRINKS, 3),
    ("Cà phê sữa đá", "cốc", 25_000, StallCategory.DRINKS, 4),
    ("Sinh tố bơ", "cốc", 30_000, StallCategory.DRINKS, 2),
    ("Nước dừa", "quả", 20_000, StallCategory.DRINKS, 2),
    ("Móc khóa", "cái", 15_000, StallCategory.CRAFTS_SOUVENIRS, 1),
    ("Tranh Đông Hồ", "bức", 150_000, StallCategory.CRAFTS_SOUVENIRS, 1),
    ("Áo phông", "chiếc", 120_000, StallCategory.CLOTHING, 3),
    ("Nón lá", "chiếc", 50_000, StallCategory.CLOTHING, 2),
    ("Dép tổ ong", "đôi", 40_000, StallCategory.CLOTHING, 2),
    ("Chổi rơm", "cái", 35_000, StallCategory.HOUSEHOLD, 2),
    ("Rổ nhựa", "cái", 25_000, StallCategory.HOUSEHOLD, 2),
    ("Nồi nhôm", "cái", 150_000, StallCategory.HOUSEHOLD, 1),
    ("Sửa điện thoại", "lần", 100_000, StallCategory.SERVICES, 1),
    ("Cắt tóc", "lần", 40_000, StallCategory.SERVICES, 1),
]
GOODS_QUALIFIERS = ["", "", "", " sạch", " quê", " loại 1", " tươi", " nhà làm"]
# Median shelf prices of the OCOP product kinds, in dong.
PRODUCT_PRICES = {
    "Cà phê rang xay": 180_000,
    "Mật ong rừng": 250_000,
    "Miến dong": 70_000,
    "Gạo nếp": 150_000,
    "Nước mắm": 90_000,
    "Chè Shan tuyết": 200_000,
    "Lạp xưởng": 160_000,
    "Bưởi da xanh": 50_000,
    "Nấm hương": 120_000,
    "Măng khô": 130_000,
    "Tương ớt": 35_000,
    "Hồng treo gió": 220_000,
    "Thịt trâu gác bếp": 450_000,
    "Rượu ngô men lá": 120_000,
    "Nước ép chanh leo": 25_000,
    "Tinh dầu quế": 90_000,
    "Cao atiso": 150_000,
    "Xà phòng thảo mộc": 40_000,
    "Mây tre đan": 180_000,
    "Thổ cẩm dệt tay": 400_000,
    "Lan hồ điệp": 350_000,
    "Homestay bản": 500_000,
}
FAMILY = "Nguyễn Trần Lê Phạm Hoàng Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Nông Hà Lò Sầm".split()
MIDDLE = "Thị Văn Đức Minh Ngọc Thu Hữu Quang Thanh Kim".split()
GIVEN = "Hoa Lan Mai Hương Hùng Dũng Tuấn Hà Linh Thảo Bình An Phúc Nga Sơn Hải Yến Cường".split()
BANK_BINS = [  # the banks stallholders use most, by weight
    ("970405", 25),  # Agribank
    ("970436", 15),  # Vietcombank
    ("970418", 12),  # BIDV
    ("970415", 12),  # VietinBank
    ("970422", 14),  # MB
    ("970407", 8),  # Techcombank
    ("970432", 5),  # VPBank
    ("970423", 4),  # TPBank
    ("970416", 3),  # ACB
    ("970403", 2),  # Sacombank
]


def prepare(url: str) -> Engine:
    """Migrate an empty database and load the communes."""
    engine = create_db_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    with Session(engine) as session, session.begin():
        load_places(session)
    return engine


def insert_batches(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        session.execute(insert(model), rows[start : start + BATCH])
        print(f"\r  {model.__tablename__}: {min(start + BATCH, len(rows)):,}", end="", flush=True)
    print()


def certification_rows(rng: random.Random, product_ids: list[int]) -> list[dict[str, Any]]:
    """One decision per product, a renewal for some, a revocation for a few."""
    rows: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    for product_id in product_ids:
        first = date(2019, 1, 1) + timedelta(days=rng.randrange(0, 7 * 365))
        decisions = [first]
        if rng.random() < 0.15 and add_months(first, VALIDITY_MONTHS) < date(2026, 11, 1):
            decisions.append(add_months(first, VALIDITY_MONTHS) - timedelta(days=10))
        for number, day in enumerate(decisions):
            stars = rng.choices([3, 4, 5], weights=[76, 23, 1])[0]
            score = rng.randrange(*{3: (50, 70), 4: (70, 90), 5: (90, 101)}[stars])
            level = IssuingLevel.CENTRAL if stars == 5 else IssuingLevel.PROVINCE
            rows.append(
                {
                    "id": len(rows) + 1,
                    "product_id": product_id,
                    "stars": stars,
                    "score": score,
                    "decision_number": f"{rng.randrange(1, 3000)}/QĐ-UBND-{number}",
                    "decision_date": day,
                    "issuing_level": level,
                    "valid_until": add_months(day, VALIDITY_MONTHS),
                    "revoked_at": now if rng.random() < 0.03 else None,
                    "created_at": now,
                }
            )
    return rows


def load_catalog(engine: Engine, products: int, seed: int = 2024) -> None:
    """Insert producers, products and certifications; point products at the current one."""
    rng = random.Random(seed)
    started = time.perf_counter()
    with Session(engine) as session, session.begin():
        communes = session.execute(
            select(Commune.code, Commune.short_name).order_by(Commune.code)
        ).all()
        now = datetime.now(UTC)
        producer_rows = []
        for producer_id in range(1, products * 100 // 184 + 1):  # 1.84 products per producer
            kind, prefix, _ = rng.choices(PRODUCER_TYPES, weights=[w for *_, w in PRODUCER_TYPES])[
                0
            ]
            code, place = rng.choice(communes)
            producer_rows.append(
                {
                    "id": producer_id,
                    "name": f"{prefix} {rng.choice(WORDS).capitalize()} {place} {producer_id}",
                    "producer_type": kind,
                    "tax_code": f"{4_800_000_000 + producer_id:010d}",
                    "commune_code": code,
                    "created_at": now,
                }
            )
        insert_batches(session, Producer, producer_rows)
        product_rows = []
        for product_id in range(1, products + 1):
            stem, group, subgroup, unit, _ = rng.choices(KINDS, weights=[k[-1] for k in KINDS])[0]
            producer = rng.choice(producer_rows)
            code, place = rng.choice(communes)
            name = f"{stem} {place}"
            description = " ".join(rng.choices(WORDS, k=8)).capitalize() + "."
            product_rows.append(
                {
                    "id": product_id,
                    "producer_id": producer["id"],
                    "name": name,
                    "group_code": group,
                    "subgroup_code": subgroup,
                    "description": description,
                    "unit": unit,
                    "origin_commune_code": code,
                    "search_name": fold(name),
                    "search_text": fold(f"{name} {producer['name']} {description}"),
                    "created_at": now - timedelta(minutes=product_id),
                }
            )
        insert_batches(session, Product, product_rows)
        certifications = certification_rows(rng, [row["id"] for row in product_rows])
        insert_batches(session, Certification, certifications)
        current: dict[int, dict[str, Any]] = {}
        for row in certifications:  # the latest non-revoked decision, else the latest revoked
            key = (row["revoked_at"] is None, row["decision_date"], row["id"])
            best = current.get(row["product_id"])
            if best is None or key > (
                best["revoked_at"] is None,
                best["decision_date"],
                best["id"],
            ):
                current[row["product_id"]] = row
        pointers = [
            {"id": pid, "current_certification_id": row["id"]} for pid, row in current.items()
        ]
        for start in range(0, len(pointers), BATCH):
            session.execute(update(Product), pointers[start : start + BATCH])
    # A bulk load leaves the GIN index's new entries in its pending list until vacuum runs.
    analyze(engine)
    print(f"  loaded in {time.perf_counter() - started:.1f} s")


def price(rng: random.Random, median: int, sigma: float = 0.35) -> int:
    """A log-normal price around `median`, in whole dong, rounded as stalls round them."""
    raw = median * rng.lognormvariate(0, sigma)
    step = 500 if raw < 20_000 else 1_000
    return max(step, round(raw / step) * step)


def person(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def load_market(
    engine: Engine, markets: int, vendors: int, listings: int, seed: int = 2025
) -> dict[str, Any]:
    """Insert markets, vendor accounts, vendors, stalls and listings; describe what was made.

    Markets sit in distinct random communes, so provinces get markets in proportion to their
    communes; a market's size is log-normal (class 1 larger). Vendors hold one stall, 15 % a
    second one in the same province. Listings go to stalls of the matching category, weighted by
    a log-normal stall size; half the OCOP products a stall lists come from its own province.
    """
    rng = random.Random(seed)
    started = time.perf_counter()
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        communes = session.execute(
            select(Commune.code, Commune.short_name, Commune.province_code).order_by(Commune.code)
        ).all()
        products = session.execute(
            select(
                Product.id,
                Product.name,
                Product.unit,
                Product.group_code,
                Commune.province_code,
            )
            .join(Commune, Commune.code == Product.origin_commune_code)
            .order_by(Product.id)
        ).all()

        market_rows: list[dict[str, Any]] = []
        market_size: list[float] = []
        for market_id, (code, place, _province) in enumerate(
            rng.sample(communes, markets), start=1
        ):
            kind, prefix, _, classes, schedule, factor = rng.choices(
                MARKET_KINDS, weights=[k[2] for k in MARKET_KINDS]
            )[0]
            market_class = rng.choices([1, 2, 3], weights=classes)[0] if classes else None
            name = f"{prefix} {place}"
            market_rows.append(
                {
                    "id": market_id,
                    "name": name,
                    "search_name": fold(name),
                    "commune_code": code,
                    "kind": kind,
                    "market_class": market_class,
                    "address": f"Số {rng.randrange(1, 300)}, {place}",
                    "schedule": schedule,
                    "created_at": now - timedelta(days=rng.randrange(30, 900)),
                }
            )
            market_size.append(
                factor
                * {1: 3.0, 2: 1.5, 3: 1.0, None: 1.0}[market_class]
                * rng.lognormvariate(0, 0.6)
            )
        insert_batches(session, Market, market_rows)
        province_of_commune = {code: province for code, _, province in communes}
        province_of_market = {
            row["id"]: province_of_commune[row["commune_code"]] for row in market_rows
        }
        markets_in_province: dict[str, list[int]] = {}
        for market_id, province in province_of_market.items():
            markets_in_province.setdefault(province, []).append(market_id)

        user_rows: list[dict[str, Any]] = []
        vendor_rows: list[dict[str, Any]] = []
        stall_rows: list[dict[str, Any]] = []
        bins = [b for b, _ in BANK_BINS if bank_by_bin(b)]
        bin_weights = [w for b, w in BANK_BINS if bank_by_bin(b)]
        next_code: dict[int, int] = {}
        market_ids = [row["id"] for row in market_rows]
        categories = list(STALL_CATEGORIES)
        category_weights = list(STALL_CATEGORIES.values())
        for vendor_id in range(1, vendors + 1):
            name = person(rng)
            user_rows.append(
                {"id": vendor_id, "name": name, "role": Role.VENDOR, "created_at": now}
            )
            category = rng.choices(categories, weights=category_weights)[0]
            vendor_rows.append(
                {
                    "id": vendor_id,
                    "user_id": vendor_id,
                    "display_name": f"{category_label(category)} {name.split()[-1]}",
                    "phone": f"0{rng.choice('35789')}{rng.randrange(10**8):08d}",
                    "bank_bin": rng.choices(bins, weights=bin_weights)[0],
                    "account_number": f"{rng.randrange(10**12, 10**13)}",
                    "account_holder": fold(name).upper(),
                    "created_at": now,
                }
            )
            first = rng.choices(market_ids, weights=market_size)[0]
            places = [first]
            if rng.random() < 0.15:
                nearby = [m for m in markets_in_province[province_of_market[first]] if m != first]
                if nearby:
                    places.append(rng.choice(nearby))
            for market_id in places:
                number = next_code[market_id] = next_code.get(market_id, 0) + 1
                stall_rows.append(
                    {
                        "id": len(stall_rows) + 1,
                        "market_id": market_id,
                        "vendor_id": vendor_id,
                        "code": f"{'ABCDEFGH'[number % 8]}{number // 8 + 1}",
                        "name": f"{category_label(category)} {name.split()[-1]}",
                        "category": category,
                        "created_at": now,
                        "closed_at": now if rng.random() < 0.02 else None,
                    }
                )
        insert_batches(session, User, user_rows)
        insert_batches(session, Vendor, vendor_rows)
        insert_batches(session, Stall, stall_rows)

        # Stalls by category, each with a log-normal size; OCOP stalls list most products.
        by_category: dict[StallCategory, tuple[list[dict[str, Any]], list[float]]] = {}
        for stall in stall_rows:
            stalls, weights = by_category.setdefault(stall["category"], ([], []))
            stalls.append(stall)
            weights.append(rng.lognormvariate(0, 0.7))
        cumulative = {
            category: (stalls, list(itertools.accumulate(weights)))
            for category, (stalls, weights) in by_category.items()
        }
        products_by_province: dict[str, list[Any]] = {}
        for product in products:
            products_by_province.setdefault(product.province_code, []).append(product)
        goods_weights = list(itertools.accumulate(g[-1] for g in GOODS))
        listing_rows = []
        for listing_id in range(1, listings + 1):
            if products and rng.random() < 0.6:
                product = rng.choice(products)
                category = (
                    StallCategory.CRAFTS_SOUVENIRS
                    if product.group_code == "HANDICRAFT"
                    else StallCategory.OCOP_PRODUCTS
                )
                stalls, weights = cumulative[category]
                stall = rng.choices(stalls, cum_weights=weights)[0]
                local = products_by_province.get(province_of_market[stall["market_id"]])
                if local and rng.random() < 0.5:
                    product = rng.choice(local)
                stem = next(k for k in PRODUCT_PRICES if product.name.startswith(k))
                title, unit, amount = product.name, product.unit, PRODUCT_PRICES[stem]
                product_id = product.id
            else:
                title, unit, amount, category, _ = rng.choices(GOODS, cum_weights=goods_weights)[0]
                title += rng.choice(GOODS_QUALIFIERS)
                stalls, weights = cumulative[category]
                stall = rng.choices(stalls, cum_weights=weights)[0]
                product_id = None
            created = now - timedelta(minutes=rng.randrange(0, 400 * 24 * 60))
            listing_rows.append(
                {
                    "id": listing_id,
                    "vendor_id": stall["vendor_id"],
                    "stall_id": stall["id"],
                    "product_id": product_id,
                    "title": title,
                    "search_title": fold(title),
                    "unit": unit,
                    "price_vnd": price(rng, amount),
                    "stock": 0 if rng.random() < 0.08 else max(1, int(rng.lognormvariate(3, 1))),
                    "created_at": created,
                    "archived_at": now if rng.random() < 0.03 else None,
                }
            )
        insert_batches(session, Listing, listing_rows)

        live = session.execute(
            select(Stall.market_id, func.count())
            .select_from(Listing)
            .join(Stall, Stall.id == Listing.stall_id)
            .where(Listing.archived_at.is_(None), Stall.closed_at.is_(None))
            .group_by(Stall.market_id)
        ).all()
    per_market = dict(live)
    per_province: dict[str, int] = {}
    for market_id, count in per_market.items():
        province = province_of_market[market_id]
        per_province[province] = per_province.get(province, 0) + count
    busiest_market = max(per_market, key=lambda m: (per_market[m], -m))
    busiest_province = max(per_province, key=lambda p: (per_province[p], p))
    analyze(engine)
    print(
        f"  {len(market_rows):,} markets in {len(markets_in_province)} provinces,"
        f" {len(vendor_rows):,} vendors, {len(stall_rows):,} stalls,"
        f" {len(listing_rows):,} listings"
        f" ({sum(r['product_id'] is not None for r in listing_rows) / max(1, listings):.0%} OCOP"
        f" products, {sum(r['stock'] == 0 for r in listing_rows) / max(1, listings):.0%} out of"
        f" stock, {sum(r['archived_at'] is not None for r in listing_rows) / max(1, listings):.0%}"
        f" archived); loaded in {time.perf_counter() - started:.1f} s"
    )
    print(
        f"  listings: market {busiest_market} ({per_market[busiest_market]:,} live listings,"
        f" the most) and province {busiest_province} ({per_province[busiest_province]:,},"
        f" the most); median {statistics.median(per_market.values()):.0f} per market"
    )
    return {"market": busiest_market, "province": busiest_province}


def category_label(category: StallCategory) -> str:
    return {
        StallCategory.FRESH_PRODUCE: "Rau quả",
        StallCategory.MEAT_FISH: "Thịt cá",
        StallCategory.COOKED_FOOD: "Quán",
        StallCategory.DRINKS: "Giải khát",
        StallCategory.OCOP_PRODUCTS: "Đặc sản OCOP",
        StallCategory.CRAFTS_SOUVENIRS: "Lưu niệm",
        StallCategory.CLOTHING: "Quần áo",
        StallCategory.HOUSEHOLD: "Đồ gia dụng",
        StallCategory.SERVICES: "Dịch vụ",
    }[category]


def analyze(engine: Engine) -> None:
    """Refresh the planner's statistics (and, on PostgreSQL, flush GIN pending lists)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))


def listing_queries(where: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The listing requests, against the market and the province with the most listings."""
    return {
        "listings: market+in_stock, price_asc, page 2": (
            LISTINGS,
            {
                "market": where["market"],
                "in_stock": "true",
                "sort": "price_asc",
                "page": 2,
                "page_size": 20,
            },
        ),
        "listings: province+FOOD+4 stars": (
            LISTINGS,
            {"province": where["province"], "group": "FOOD", "stars": 4, "page_size": 20},
        ),
        "listings: search 'mat ong'": (LISTINGS, {"q": "mat ong", "page_size": 20}),
        "listings: province+price 50,000-200,000": (
            LISTINGS,
            {
                "province": where["province"],
                "min_price": 50_000,
                "max_price": 200_000,
                "page_size": 20,
            },
        ),
    }


def measure(
    url: str, queries: dict[str, tuple[str, dict[str, Any]]]
) -> tuple[dict[str, tuple[float, float, int]], dict[str, list[tuple[str, Any]]]]:
    """Return (median ms, p95 ms, total) for each query, through the Flask test client, and
    the SQL statements (with parameters) that one request of each runs."""
    # The limiter stays on (its cost is part of a request) with a limit the loop cannot reach.
    app = create_app({"DATABASE_URL": url, "RATELIMIT_SEARCH": "1000000/minute"})
    client = app.test_client()
    engine = app.extensions["database"].engine
    results, statements = {}, {}
    for name, (path, query) in queries.items():
        for _ in range(10):  # warm up caches and the connection pool
            body = client.get(path, query_string=query).get_json()
        timings = []
        for _ in range(REQUESTS):
            started = time.perf_counter()
            response = client.get(path, query_string=query)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.get_json()
        results[name] = (
            statistics.median(timings),
            statistics.quantiles(timings, n=20)[-1],
            body["total"],
        )
        seen: list[tuple[str, Any]] = []

        def record(conn, cursor, statement, parameters, context, executemany, seen=seen):
            seen.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", record)
        client.get(path, query_string=query)
        event.remove(engine, "before_cursor_execute", record)
        statements[name] = seen
    engine.dispose()
    return results, statements


def explain(url: str, statements: list[tuple[str, Any]]) -> None:
    """Print the plan of each statement: EXPLAIN QUERY PLAN, or EXPLAIN (ANALYZE, BUFFERS)."""
    engine = create_db_engine(url)
    postgresql = engine.dialect.name == "postgresql"
    with engine.connect() as connection:
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            print("\n    " + " ".join(statement.split()))
            print(f"    parameters: {parameters}")
            prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgresql else "EXPLAIN QUERY PLAN "
            rows = connection.exec_driver_sql(prefix + statement, parameters).all()
            for row in rows:
                if postgresql:
                    print(f"      {row[0]}")
                else:  # (id, parent, notused, detail): indent by depth
                    depth, parents = 0, {r[0]: r[1] for r in rows}
                    parent = row[1]
                    while parent:
                        depth, parent = depth + 1, parents.get(parent, 0)
                    print(f"      {'  ' * depth}{row[3]}")
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (the database is emptied)")
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--markets", type=int, default=300)
    parser.add_argument("--vendors", type=int, default=3_000)
    parser.add_argument("--listings", type=int, default=50_000, help="0: no market layer")
    parser.add_argument(
        "--explain",
        nargs="?",
        const="over",
        choices=["over", "all"],
        help="print the plans of the requests over the target (or of all)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        engine = prepare(url)
        print(f"{engine.dialect.name}: loading {args.products:,} products")
        load_catalog(engine, args.products)
        queries = {name: (PRODUCTS, query) for name, query in QUERIES.items()}
        if args.listings:
            print(
                f"{engine.dialect.name}: loading {args.markets:,} markets, {args.vendors:,}"
                f" vendors and {args.listings:,} listings"
            )
            queries |= listing_queries(
                load_market(engine, args.markets, args.vendors, args.listings)
            )
        engine.dispose()
        results, statements = measure(url, queries)
        print(
            f"\n{'request':45} {'median':>9} {'p95':>9} {'matches':>8}   target ≤{TARGET_MS:.0f} ms"
        )
        over = False
        for name, (median, p95, total) in results.items():
            flag = "ok" if median <= TARGET_MS else "OVER"
            over |= median > TARGET_MS
            print(f"{name:45} {median:7.2f}ms {p95:7.2f}ms {total:8,}   {flag}")
        if args.explain:
            for name, (median, _, _) in results.items():
                if args.explain == "all" or median > TARGET_MS:
                    print(
                        f"\n{name} ({median:.2f} ms median): {queries[name][0]}"
                        f"?{'&'.join(f'{k}={v}' for k, v in queries[name][1].items())}"
                    )
                    explain(url, statements[name])
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())

"""A small fixed demo data set: accounts to sign in with, and one OCOP sales point in Cao Bằng
whose vendor can sell at once. The simulator adds the Kim Đồng walking street beside it.
"""

import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog import services as catalog
from catalog.models import IssuingLevel, ProducerType, Product
from market.accounts.models import User
from market.accounts.services import create_user, issue_token, set_password
from market.core.principals import Principal, Role
from market.markets import services as markets
from market.markets.models import Market, MarketKind, StallCategory
from market.vendors import services as vendors
from market.vendors.models import Vendor

THUC_PHAN = "01273"  # Phường Thục Phán, Cao Bằng (GSO code since 1 July 2025)
DEMO_MARKET = "Điểm bán sản phẩm OCOP Thục Phán"
# Name, role and web login (a phone number, as vendors sign in) of each demo account.
DEMO_ACCOUNTS = (
    ("Quản trị viên (demo)", Role.ADMIN, "0912000000"),
    ("Cán bộ Sở Công Thương Cao Bằng (demo)", Role.OFFICIAL, "0912000002"),
    ("Nông Thị Hoa (demo)", Role.VENDOR, "0912000001"),
)


@dataclass(frozen=True)
class WebLogin:
    """A demo account's sign-in for the web pages; the password is drawn afresh on each run."""

    user: User
    login: str
    password: str


@dataclass(frozen=True)
class DemoData:
    tokens: list[tuple[User, str]]
    market: Market
    logins: list[WebLogin]


def create_demo_data(session: Session) -> DemoData:
    """Create what is missing of the demo set; give each demo account a fresh token and password.

    Nothing secret is in the repository: tokens and passwords are random and shown once.
    """
    users = [_account(session, name, role) for name, role, _login in DEMO_ACCOUNTS]
    tokens = [(user, issue_token(session, user, label="demo").token) for user in users]
    logins = []
    for user, (_name, _role, login) in zip(users, DEMO_ACCOUNTS, strict=True):
        password = secrets.token_urlsafe(9)
        set_password(session, user, login, password)
        logins.append(WebLogin(user, login, password))
    market = session.scalar(select(Market).where(Market.name == DEMO_MARKET))
    if market is None:
        market = _ocop_point(session, users[2])
    return DemoData(tokens, market, logins)


def _account(session: Session, name: str, role: Role) -> User:
    user = session.scalar(select(User).where(User.name == name, User.role == role))
    return user or create_user(session, name, role)


def _ocop_point(session: Session, owner: User) -> Market:
    """An OCOP sales point in Thục Phán, open every day 08:00-17:00 ([seed] for the demo)."""
    market = markets.create_market(
        session,
        name=DEMO_MARKET,
        commune_code=THUC_PHAN,
        kind=MarketKind.OCOP_POINT,
        schedule=[{"days": [1, 2, 3, 4, 5, 6, 7], "opens": "08:00", "closes": "17:00"}],
        address="Phường Thục Phán, Cao Bằng",
    )
    actor = Principal(owner.id, owner.role)
    vendor = session.scalar(select(Vendor).where(Vendor.user_id == owner.id))
    if vendor is None:
        vendor = vendors.register_vendor(
            session,
            actor,
            display_name="Quầy mật ong và nước mía bà Hoa",
            bank_bin="970436",
            account_number="0011001234567",
            account_holder="NONG THI HOA",
        )
    stall = markets.open_stall(
        session,
        actor,
        market_id=market.id,
        code="OC-01",
        name="Mật ong bạc hà và nước mía",
        category=StallCategory.OCOP_PRODUCTS,
    )
    honey = _certified_honey(session)
    vendors.create_listing(
        session, actor, stall_id=stall.id, product_id=honey.id, price_vnd=250_000, stock=40
    )
    vendors.create_listing(
        session, actor, stall_id=stall.id, title="Nước mía", unit="cốc", price_vnd=10_000, stock=500
    )
    return market


def _certified_honey(session: Session) -> Product:
    producer = catalog.create_producer(
        session,
        name="HTX Mật ong Bạc hà Cao Bằng",
        producer_type=ProducerType.COOPERATIVE,
        commune_code=THUC_PHAN,
    )
    honey = catalog.create_product(
        session,
        producer_id=producer.id,
        name="Mật ong bạc hà Cao Bằng",
        group_code="FOOD",
        subgroup_code="1.2",
        unit="chai 500 ml",
        origin_commune_code=THUC_PHAN,
        description="Mật ong từ hoa bạc hà cao nguyên đá, sản phẩm OCOP 4 sao (dữ liệu demo).",
    )
    catalog.record_certification(
        session,
        honey.id,
        stars=4,
        score=78,
        decision_number="828/QĐ-UBND (demo)",
        decision_date=date(2025, 9, 15),
        issuing_level=IssuingLevel.PROVINCE,
    )
    return honey

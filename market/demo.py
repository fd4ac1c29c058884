"""A small fixed demo data set; the simulator replaces it with simulated markets."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from market.accounts.models import User
from market.accounts.services import create_user, issue_token
from market.core.principals import Role

DEMO_ACCOUNTS = (
    ("Quản trị viên (demo)", Role.ADMIN),
    ("Cán bộ Sở Công Thương Cao Bằng (demo)", Role.OFFICIAL),
    ("Nông Thị Hoa (demo)", Role.VENDOR),
)


def create_demo_accounts(session: Session) -> list[tuple[User, str]]:
    """Create the demo accounts that are missing and issue each a fresh token."""
    issued = []
    for name, role in DEMO_ACCOUNTS:
        user = session.scalar(select(User).where(User.name == name, User.role == role))
        if user is None:
            user = create_user(session, name, role)
        issued.append((user, issue_token(session, user, label="demo").token))
    return issued

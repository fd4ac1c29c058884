"""Load and query places."""

import csv
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from market.core.db import get_or_404
from market.core.text import fold
from market.places.models import Commune, Province


@dataclass(frozen=True)
class LoadResult:
    provinces_added: int
    provinces_updated: int
    communes_added: int
    communes_updated: int


def _rows(filename: str) -> list[dict[str, str]]:
    text = resources.files("market.data").joinpath(filename).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _upsert(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> tuple[int, int]:
    """Insert new rows and update changed ones, keyed by `code`; return (added, updated)."""
    existing = {row.code: row for row in session.scalars(select(model))}
    added = updated = 0
    for values in rows:
        current = existing.get(values["code"])
        if current is None:
            session.add(model(**values))
            added += 1
        elif any(getattr(current, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(current, key, value)
            updated += 1
    session.flush()
    return added, updated


def load_places(session: Session) -> LoadResult:
    """Load the bundled provinces and communes, updating rows that changed; safe to run again."""
    provinces = [
        {**row, "latitude": float(row["latitude"]), "longitude": float(row["longitude"])}
        for row in _rows("provinces.csv")
    ]
    communes = [
        {
            **row,
            "search_name": fold(row["name"]),
            "latitude": float(row["latitude"]),
            "longitude": float(row["longitude"]),
            "area_km2": float(row["area_km2"]) if row["area_km2"] else None,
        }
        for row in _rows("communes.csv")
    ]
    return LoadResult(*_upsert(session, Province, provinces), *_upsert(session, Commune, communes))


def list_provinces(session: Session) -> list[Province]:
    """Return every province in code order."""
    return list(session.scalars(select(Province).order_by(Province.code)))


def get_province(session: Session, code: str) -> Province:
    """Return a province by GSO code or raise NotFound."""
    return get_or_404(
        session,
        Province,
        code,
        "province with code",
        "code",
        " GET /api/v1/provinces lists them.",
    )


def get_commune(session: Session, code: str) -> Commune:
    """Return a commune by GSO code or raise NotFound."""
    return get_or_404(
        session, Commune, code, "commune with code", "code", " GET /api/v1/communes lists them."
    )


def commune_query(province_code: str | None = None, text: str | None = None) -> Select[Any]:
    """Select communes by province and by name typed with or without accents, in code order."""
    query = select(Commune).order_by(Commune.code)
    if province_code:
        query = query.where(Commune.province_code == province_code)
    if text and fold(text):
        query = query.where(Commune.search_name.contains(fold(text), autoescape=True))
    return query


def count_communes(session: Session, province_code: str) -> int:
    """Return how many communes a province has."""
    return (
        session.scalar(
            select(func.count()).select_from(Commune).where(Commune.province_code == province_code)
        )
        or 0
    )

"""Ranked product search as Vietnamese users type: without accents, the last word unfinished.

Both dialects search the folded columns `search_name` (the product's name) and `search_text`
(name, producer and description), weighting a match in the name above one elsewhere:
SQLite through the FTS5 external-content table `products_fts` (kept in step by triggers), PostgreSQL
through the generated column `products.search_vector`, a weighted `tsvector` of the two columns,
and its GIN index. Migration 0002 creates both; the models do not map them.
"""

import re
from typing import Any

from sqlalchemy import ColumnElement, Select, column, func, literal_column, table

from catalog.models import Product
from market.core.text import fold

SQLITE_FTS = table("products_fts", column("rowid"))
SQLITE_WEIGHTS = (10.0, 1.0)  # bm25 weights of search_name, search_text
PG_VECTOR = "products.search_vector"


def search_terms(text: str) -> list[str]:
    """Split typed text into folded words: "Cà  phê-sữa" -> ["ca", "phe", "sua"]."""
    return re.findall(r"[^\W_]+", fold(text))


def apply_search(
    query: Select[Any], dialect: str, terms: list[str]
) -> tuple[Select[Any], ColumnElement[Any]]:
    """Keep the products matching every term (the last one as a prefix); return the ordering."""
    if dialect == "sqlite":
        match = " ".join(f'"{term}"' for term in terms) + "*"
        fts: ColumnElement[Any] = literal_column("products_fts")
        query = query.join(SQLITE_FTS, SQLITE_FTS.c.rowid == Product.id).where(
            fts.op("MATCH")(match)
        )
        return query, func.bm25(fts, *SQLITE_WEIGHTS).asc()
    if dialect == "postgresql":
        tsquery = func.to_tsquery(
            literal_column("'simple'::regconfig"), " & ".join([*terms[:-1], f"{terms[-1]}:*"])
        )
        vector: ColumnElement[Any] = literal_column(PG_VECTOR)
        query = query.where(vector.op("@@")(tsquery))
        return query, func.ts_rank(vector, tsquery).desc()
    raise NotImplementedError(f"product search is not implemented on {dialect}")

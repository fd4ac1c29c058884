"""The OCOP product groups and sub-groups, read once from catalog/data/product_groups.csv.

The database stores the codes as strings, so a change of the list is a data change, not a migration.
"""

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class ProductGroup:
    """A group (no parent) or a sub-group of QĐ 148/2023's classification."""

    code: str
    parent_code: str | None
    name_vi: str
    name_en: str
    source: str


@cache
def product_groups() -> dict[str, ProductGroup]:
    """Return every group and sub-group by code, in the file's order."""
    text = resources.files("catalog.data").joinpath("product_groups.csv").read_text("utf-8")
    return {
        row["code"]: ProductGroup(
            code=row["code"],
            parent_code=row["parent_code"] or None,
            name_vi=row["name_vi"],
            name_en=row["name_en"],
            source=row["source"],
        )
        for row in csv.DictReader(text.splitlines())
    }


def group_codes() -> list[str]:
    """Return the codes of the six groups."""
    return [code for code, group in product_groups().items() if group.parent_code is None]


def subgroup_codes() -> list[str]:
    """Return the codes of every sub-group."""
    return [code for code, group in product_groups().items() if group.parent_code is not None]


def group_tree() -> list[dict[str, object]]:
    """Return the groups, each with its sub-groups."""
    groups = product_groups().values()
    return [
        {**vars(group), "subgroups": [sub for sub in groups if sub.parent_code == group.code]}
        for group in groups
        if group.parent_code is None
    ]

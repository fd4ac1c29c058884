"""The pages, by who uses them; importing this module registers them all on `blp`."""

from market.web import account, official, shop, vendor
from market.web.blueprint import blp

__all__ = ["account", "blp", "official", "shop", "vendor"]

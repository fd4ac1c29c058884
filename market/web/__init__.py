"""Server-rendered pages for vendors, shoppers and officials, in Vietnamese first."""

from market.web.views import blp

__all__ = ["blp"]

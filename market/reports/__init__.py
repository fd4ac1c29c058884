"""Cashless-adoption reports: indicator values, their charts and printable documents."""

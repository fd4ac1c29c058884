"""Vendors, their payout bank accounts, and what they list for sale."""

"""Checkout: orders at a stall, their stock, and handing them to payments."""

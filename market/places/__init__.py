"""Provinces and communes of Vietnam."""

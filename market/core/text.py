"""Text folding for search: how Vietnamese users type without accents."""

import unicodedata

# đ/Đ are letters of their own, not d with a combining mark, so decomposition leaves them alone.
_LETTERS = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str) -> str:
    """Return `text` lower-cased, without diacritics, single-spaced: "Cà Phê" -> "ca phe"."""
    decomposed = unicodedata.normalize("NFD", text.translate(_LETTERS))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())

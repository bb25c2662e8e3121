"""Small wording helpers shared by the tabs."""
from __future__ import annotations


def count(n: int, one: str, many: str) -> str:
    """``one`` or ``many`` (each with a ``{0:,}`` for the number) as English needs: "1 product", "3 products"."""
    return (one if n == 1 else many).format(n)

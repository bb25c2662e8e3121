"""Small wording helpers shared by the tabs."""
from __future__ import annotations

from shopai.wording import chance  # noqa: F401  (the tabs take it from here with the rest)


def count(n: int, one: str, many: str) -> str:
    """``one`` or ``many`` (each with a ``{0:,}`` for the number) as English needs: "1 product", "3 products"."""
    return (one if n == 1 else many).format(n)


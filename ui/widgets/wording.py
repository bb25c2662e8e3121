"""Small wording helpers shared by the tabs."""
from __future__ import annotations


def count(n: int, one: str, many: str) -> str:
    """``one`` or ``many`` (each with a ``{0:,}`` for the number) as English needs: "1 product", "3 products"."""
    return (one if n == 1 else many).format(n)


def chance(p: float | None) -> str:
    """A model's probability as a whole percent, never a certain 0% or 100% that it cannot know."""
    if p is None:
        return ""
    pct = float(p) * 100
    if pct >= 99.5:
        return ">99%"
    if pct < 0.5:
        return "<1%"
    return f"{pct:.0f}%"

"""Wording shared by the app's window and its command line."""
from __future__ import annotations


def chance(p: float | None) -> str:
    """A model's probability as a whole percent, never a certain 0% or 100% that it cannot know."""
    if p is None:
        return ""
    pct = float(p) * 100
    if pct > 99:
        return ">99%"
    if pct < 1:  # also 0.5, which rounding half to even would write "0%"
        return "<1%"
    return f"{pct:.0f}%"

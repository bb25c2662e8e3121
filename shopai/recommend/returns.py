"""Which purchases a customer kept: credit lines (returns) take back the purchases made before them."""
from __future__ import annotations

from typing import Sequence

# (order id, customer id, ordered_at ISO, order status, product id, quantity)
Line = Sequence


def kept_purchases(lines: list[Line]) -> tuple[list[Line], set[tuple[int, int]]]:
    """The paid purchase lines a customer kept, in their given order, and the (customer, product) pairs
    whose every purchase was taken back.

    A credit line (negative quantity, like the "C" credit invoices of a UK shop's log) takes back the
    customer's latest earlier purchases of the product, up to its quantity; a purchase taken back in full
    is not a sale, one taken back in part still is. A credit with no earlier purchase (one made before the
    log starts) takes back nothing, and never a purchase made after it.
    """
    by_pair: dict[tuple[int, int], list[int]] = {}
    for n, line in enumerate(lines):
        by_pair.setdefault((line[1], line[4]), []).append(n)
    kept: list[int] = []
    returned: set[tuple[int, int]] = set()
    for pair, rows in by_pair.items():
        # by time; at the same moment the purchase comes first (a credit then can take it back)
        rows.sort(key=lambda n: (lines[n][2] or "", float(lines[n][5] or 0) < 0))
        open_: list[list[float]] = []  # [line number, quantity not taken back]
        for n in rows:
            qty = float(lines[n][5] or 0)
            if qty > 0 and lines[n][3] == "paid":
                open_.append([n, qty])
            elif qty < 0:
                left = -qty
                for held in reversed(open_):
                    if left <= 0:
                        break
                    take = min(held[1], left)
                    held[1] -= take
                    left -= take
        still = [int(n) for n, rest in open_ if rest > 1e-9]
        kept += still
        if open_ and not still:
            returned.add(pair)
    return [lines[n] for n in sorted(kept)], returned

"""Purchase histories as sparse matrices, shared by every model, the bench and the app.

A history is one entry per (basket, item) pair: the row (customer), the item index and the basket's
time in days. Models turn it into the matrices they need (counts, time-decayed profiles) through
the cached helpers here, so the same code scores the bench's held-out customers and a live customer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

DAY = 86400.0


@dataclass
class History:
    """Purchases of ``n_rows`` customers over ``n_items`` items.

    ``row``, ``item``, ``basket``, ``t`` are aligned arrays with one entry per (basket, item) pair;
    ``t`` is in days; ``now`` is the moment the history ends (decay is measured back from it);
    ``user_index`` maps each row to the training customer it is (or -1), so neighbour models can
    leave the customer out of their own neighbourhood.
    """

    row: np.ndarray
    item: np.ndarray
    basket: np.ndarray
    t: np.ndarray
    n_rows: int
    n_items: int
    now: float
    user_index: np.ndarray | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def counts(self) -> sp.csr_matrix:
        """Number of baskets of each customer holding each item."""
        if "counts" not in self._cache:
            data = np.ones(len(self.row), dtype=np.float32)
            m = sp.csr_matrix((data, (self.row, self.item)), shape=(self.n_rows, self.n_items))
            m.sum_duplicates()
            self._cache["counts"] = m
        return self._cache["counts"]

    def binary(self) -> sp.csr_matrix:
        if "binary" not in self._cache:
            m = self.counts().copy()
            m.data[:] = 1.0
            self._cache["binary"] = m
        return self._cache["binary"]

    def decayed(self, half_life: float) -> sp.csr_matrix:
        """TIFU-style profile: each basket weighted by 0.5**(age/half_life), divided by the weights' sum.

        An entry is the decayed share of the customer's baskets that held the item (0..1).
        """
        key = ("decayed", round(float(half_life), 6))
        if key not in self._cache:
            age = np.maximum(self.now - self.t, 0.0)
            w = np.power(0.5, age / max(half_life, 1e-6)).astype(np.float32)
            m = sp.csr_matrix((w, (self.row, self.item)), shape=(self.n_rows, self.n_items))
            m.sum_duplicates()
            # Sum of basket weights per row: one weight per distinct basket.
            _, first = np.unique(self.basket, return_index=True)
            bw = np.bincount(self.row[first], weights=w[first], minlength=self.n_rows).astype(np.float64)
            scale = np.divide(1.0, bw, out=np.zeros(bw.shape), where=bw > 0).astype(np.float32)
            self._cache[key] = sp.csr_matrix(sp.diags(scale) @ m)
        return self._cache[key]

    def baskets_per_row(self) -> np.ndarray:
        _, first = np.unique(self.basket, return_index=True)
        return np.bincount(self.row[first], minlength=self.n_rows)

    def take(self, rows: np.ndarray) -> "History":
        """The history of a subset of rows, renumbered 0..len(rows)-1 in the given order."""
        rows = np.asarray(rows)
        remap = np.full(self.n_rows, -1, dtype=np.int64)
        remap[rows] = np.arange(len(rows))
        keep = remap[self.row] >= 0
        ui = None if self.user_index is None else self.user_index[rows]
        return History(remap[self.row[keep]], self.item[keep], self.basket[keep], self.t[keep],
                       len(rows), self.n_items, self.now, ui)


@dataclass
class Log:
    """A cleaned purchase log: one entry per (basket, customer, item) with times in days.

    ``items`` are the item keys (SKUs or product ids) and ``titles`` their text, indexed like
    ``item``; ``users`` the customer keys indexed like ``user``.
    """

    user: np.ndarray
    item: np.ndarray
    basket: np.ndarray
    t: np.ndarray
    users: list
    items: list
    titles: list[str]

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_users(self) -> int:
        return len(self.users)

    def window(self, start: float | None = None, end: float | None = None) -> np.ndarray:
        mask = np.ones(len(self.t), dtype=bool)
        if start is not None:
            mask &= self.t >= start
        if end is not None:
            mask &= self.t < end
        return mask

    def history(self, mask: np.ndarray, now: float) -> History:
        """History of every customer (rows = all users) using only the entries in ``mask``."""
        return History(self.user[mask], self.item[mask], self.basket[mask], self.t[mask],
                       self.n_users, self.n_items, now, np.arange(self.n_users))

    def truth(self, mask: np.ndarray) -> dict[int, set[int]]:
        """Items each customer bought in the entries of ``mask`` (the held-out period)."""
        out: dict[int, set[int]] = {}
        for u, i in zip(self.user[mask].tolist(), self.item[mask].tolist()):
            out.setdefault(u, set()).add(i)
        return out


def build_log(user_keys, item_keys, basket_keys, seconds, catalog: dict | None = None) -> Log:
    """Make a :class:`Log` from aligned raw columns (one per purchase line).

    ``catalog`` maps item key -> title and may hold items never sold (they become indices too,
    so content-based scoring can reach them). Duplicate (basket, item) lines are merged.
    """
    users, u_idx = np.unique(np.asarray(user_keys, dtype=object).astype(str), return_inverse=True)
    catalog = dict(catalog or {})
    sold = [str(k) for k in item_keys]
    item_list = sorted(set(sold) | {str(k) for k in catalog})
    pos = {k: i for i, k in enumerate(item_list)}
    i_idx = np.fromiter((pos[k] for k in sold), dtype=np.int64, count=len(sold))
    _, b_idx = np.unique(np.asarray(basket_keys, dtype=object).astype(str), return_inverse=True)
    t = np.asarray(seconds, dtype=np.float64) / DAY
    # Merge duplicate (basket, item) lines.
    key = b_idx.astype(np.int64) * (len(item_list) + 1) + i_idx
    _, first = np.unique(key, return_index=True)
    first.sort()
    titles = [str(catalog.get(k, "") or "") for k in item_list]
    return Log(u_idx[first].astype(np.int64), i_idx[first], b_idx[first].astype(np.int64), t[first],
               users.tolist(), item_list, titles)


PRODUCT_CODE = re.compile(r"^\d{5}[A-Za-z]{0,2}$")


def is_product_code(code: str) -> bool:
    """Retail stock codes that are real products (5 digits and an optional letter suffix)."""
    return bool(PRODUCT_CODE.match(str(code).strip()))

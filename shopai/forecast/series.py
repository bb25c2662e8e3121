"""Weekly price and sales series (weeks start on Monday) built from raw sale records.

Everything here is plain numpy so the batch path (fit all products) and the bench share it. The
database side lives in :mod:`shopai.forecast.data`. Cleaning is visible, never silent: every week
keeps flags saying whether it was observed, filled, or an outlier that was capped.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Iterable, Sequence

import numpy as np

WHATS = ("sales", "price")

# Codes that are fees, postage, vouchers or adjustments rather than products (see the retail
# PROVENANCE.md): never forecast them.
_NON_PRODUCT = re.compile(
    r"^(POST|DOT|M|D|C2|CRUK|PADS|B|S|BANK CHARGES|AMAZONFEE|GIFT_\d+_.*|DCGS.*)$", re.IGNORECASE
)


def is_product_code(sku: str) -> bool:
    return not _NON_PRODUCT.match((sku or "").strip())


def monday(d: date | datetime | str) -> date:
    """The Monday that starts the week holding ``d`` (ISO strings accepted)."""
    if isinstance(d, str):
        d = datetime.fromisoformat(d.strip().replace(" ", "T")[:19])
    if isinstance(d, datetime):
        d = d.date()
    return d - timedelta(days=d.weekday())


def week_index(d: date, start: date) -> int:
    return (d - start).days // 7


@dataclass
class WeeklySeries:
    """One regular weekly series. ``values`` is what the models see (cleaned); ``raw`` is as observed."""

    key: str
    what: str
    start: date
    values: np.ndarray
    raw: np.ndarray
    observed: np.ndarray
    outlier: np.ndarray
    notes: list[str] = field(default_factory=list)
    title: str = ""

    def __len__(self) -> int:
        return len(self.values)

    @property
    def weeks(self) -> list[date]:
        return [self.start + timedelta(weeks=i) for i in range(len(self.values))]

    @property
    def last_week(self) -> date:
        return self.start + timedelta(weeks=len(self.values) - 1)

    def future_weeks(self, horizon: int) -> list[date]:
        last = self.last_week
        return [last + timedelta(weeks=i + 1) for i in range(horizon)]

    @property
    def n_observed(self) -> int:
        return int(self.observed.sum())


def _count(n: int, noun: str) -> str:
    """'1 week', '3 weeks': the note reads as English, not 'week(s)'."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def cap_outliers(v: np.ndarray, positive_only: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Cap huge values (one 80,000-unit order in a series of tens) at a robust upper fence.

    Returns (capped values, outlier mask). Uses the non-zero weeks' quartiles; leaves short series be.
    """
    v = np.asarray(v, dtype=float)
    mask = np.zeros(len(v), dtype=bool)
    nz = v[v > 0] if positive_only else v[np.isfinite(v)]
    if len(nz) < 5:
        return v.copy(), mask
    q25, q50, q75 = np.quantile(nz, [0.25, 0.5, 0.75])
    fence = max(q75 + 6.0 * (q75 - q25), 4.0 * q50)
    mask = v > fence
    out = v.copy()
    out[mask] = fence
    return out, mask


def sales_series(
    key: str,
    records: Iterable[tuple[str | date, float]],
    end_week: date | None = None,
    start_week: date | None = None,
    title: str = "",
) -> WeeklySeries:
    """Units sold per week from (when, quantity) records, any order, duplicates summed.

    Weeks between the first sale and ``end_week`` with no sale are zeros (observed: a week with no
    sales is a real zero for a shop that was open). Non-positive or non-finite quantities are dropped.
    """
    per_week: dict[date, float] = {}
    for when, qty in records:
        try:
            q = float(qty)
        except (TypeError, ValueError):
            continue
        if not np.isfinite(q) or q <= 0:
            continue
        w = monday(when)
        per_week[w] = per_week.get(w, 0.0) + q
    notes: list[str] = []
    if not per_week:
        start = start_week or end_week or monday(date.today())
        n = 0 if end_week is None else week_index(end_week, start) + 1
        z = np.zeros(max(n, 0))
        return WeeklySeries(key, "sales", start, z, z.copy(), np.ones(len(z), bool), np.zeros(len(z), bool),
                            ["no sales recorded"], title)
    start = start_week or min(per_week)
    end = max(end_week or max(per_week), max(per_week))
    n = week_index(end, start) + 1
    raw = np.zeros(n)
    for w, q in per_week.items():
        i = week_index(w, start)
        if 0 <= i < n:
            raw[i] += q
    values, outlier = cap_outliers(raw)
    if outlier.any():
        notes.append(f"{_count(int(outlier.sum()), 'unusually large week')} capped for fitting")
    zeros = int((raw == 0).sum())
    if zeros:
        notes.append(f"{_count(zeros, 'week')} with no sales")
    return WeeklySeries(key, "sales", start, values, raw, np.ones(n, bool), outlier, notes, title)


def price_series(
    key: str,
    records: Iterable[tuple[str | date, float, bool]],
    end_week: date | None = None,
    list_changes: Iterable[tuple[str | date, float]] = (),
    title: str = "",
) -> WeeklySeries:
    """Typical unit price per week from (when, unit price, has_customer) sale records.

    Shops often run two price lists (registered customers vs walk-ins); mixing them makes the price
    jump with the customer mix, so when most sale weeks have customer lines only those are used.
    Weeks without a sale take the last known price (from a sale or a list-price change), flagged as
    not observed. Prices more than 3x away from the series median are outliers, replaced by it.
    """
    rows = []
    for rec in records:
        when, price = rec[0], rec[1]
        cust = bool(rec[2]) if len(rec) > 2 else True
        count = int(rec[3]) if len(rec) > 3 else 1
        try:
            p = float(price)
        except (TypeError, ValueError):
            continue
        if np.isfinite(p) and p > 0 and count > 0:
            rows.append((monday(when), p, cust, count))
    changes = []
    for when, price in list_changes:
        try:
            p = float(price)
        except (TypeError, ValueError):
            continue
        if np.isfinite(p) and p > 0:
            w = monday(when)
            if end_week is None or w <= end_week:  # a price set after the last order is not history
                changes.append((w, p))
    notes: list[str] = []
    if not rows and not changes:
        return WeeklySeries(key, "price", end_week or monday(date.today()), np.zeros(0), np.zeros(0),
                            np.zeros(0, bool), np.zeros(0, bool), ["no prices recorded"], title)
    weeks_all = {r[0] for r in rows}
    weeks_cust = {r[0] for r in rows if r[2]}
    use_cust = bool(weeks_all) and len(weeks_cust) >= 0.5 * len(weeks_all)
    if use_cust and any(not r[2] for r in rows):
        rows = [r for r in rows if r[2]]
        notes.append("registered-customer price list used (walk-in prices differ)")
    by_week: dict[date, list[tuple[float, int]]] = {}
    for w, p, _, count in rows:
        by_week.setdefault(w, []).append((p, count))
    point = {w: _weighted_median(ps) for w, ps in by_week.items()}
    for w, p in changes:
        point.setdefault(w, p)
    start = min(point)
    end = max(end_week or max(point), max(point))
    n = week_index(end, start) + 1
    raw = np.full(n, np.nan)
    for w, p in point.items():
        raw[week_index(w, start)] = p
    observed = np.isfinite(raw)
    med = float(np.nanmedian(raw))
    outlier = observed & ((raw > 3 * med) | (raw < med / 3))
    clean = raw.copy()
    clean[outlier] = np.nan
    if outlier.any():
        notes.append(f"{_count(int(outlier.sum()), 'unusual price')} ignored")
    values = _ffill(clean, fallback=med)
    gaps = int((~observed).sum())
    if gaps:
        notes.append(f"{_count(gaps, 'week')} without a sale: last price carried forward")
    return WeeklySeries(key, "price", start, values, raw, observed, outlier, notes, title)


def _weighted_median(pairs: list[tuple[float, int]]) -> float:
    pairs = sorted(pairs)
    total = sum(c for _, c in pairs)
    acc = 0
    for p, c in pairs:
        acc += c
        if acc * 2 >= total:
            return float(p)
    return float(pairs[-1][0])


def _ffill(x: np.ndarray, fallback: float) -> np.ndarray:
    out = np.array(x, dtype=float)
    last = np.nan
    for i in range(len(out)):
        if np.isfinite(out[i]):
            last = out[i]
        else:
            out[i] = last
    # leading gaps: take the first known value
    finite = np.isfinite(out)
    if finite.any():
        out[~finite] = out[finite][0]
    else:
        out[:] = fallback
    return out


def demand_class(y: Sequence[float]) -> str:
    """Syntetos-Boylan class of a sales series: smooth, erratic, intermittent or lumpy."""
    y = np.asarray(y, dtype=float)
    nz = y[y > 0]
    if len(nz) == 0:
        return "intermittent"
    adi = len(y) / len(nz)
    cv2 = (np.std(nz) / np.mean(nz)) ** 2 if len(nz) > 1 else 0.0
    if adi < 1.32:
        return "smooth" if cv2 < 0.49 else "erratic"
    return "intermittent" if cv2 < 0.49 else "lumpy"

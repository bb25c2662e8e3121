"""Per-customer purchase histories and the features every model reads at a cut date.

Everything works in whole days (days since 1970-01-01). A *cut* ``c`` splits time: purchase days
``<= c`` are the past a model may see; ``(c, c + h]`` is the future it is scored against. Every
function here that builds features at a cut only looks at events on or before that cut — the time
split of :mod:`shopai.customers.evaluate` relies on that, and a test checks it.

A purchase is a *day* with at least one paid order (two invoices on one day are one visit, as in the
usual BG/NBD set-up); its value is the sum of those orders. Cancellations and returns (orders with
status 'cancelled'/'returned' and a negative total: credit notes) are kept apart as refunds: they lower net
spend, they are not visits. An order cancelled or refunded as a whole (positive total) is neither. Guest orders (no customer) only count towards the shop's last order date.

Where the orders come with their lines, each purchase day also knows its basket: how many lines and the
sum of their unit prices (so the mean price per line). Broad baskets of cheap items are what the shop's
regular trade buyers order; the basket features carry that. Without lines they are zero for everyone
and change nothing.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shopai.jobs import UserError

EPOCH = np.datetime64("1970-01-01", "D")
SEQ_LEN = 16          # the last purchases a sequence model sees
SEQ_FEATURES = 5
STATIC_NAMES = (
    "log_recency", "log_tenure", "log_visits", "log_mean_value", "log_total", "log_mean_gap",
    "gap_cv", "log_overdue", "log_n30", "log_n90", "log_n180", "log_refunds", "log_orders_per_visit",
    "log_lines_per_visit", "log_lines", "log_price_per_line",
)


def to_day(ts) -> int:
    return int((np.datetime64(pd.Timestamp(ts).date(), "D") - EPOCH).astype(int))


def day_to_iso(day: int) -> str:
    return str(EPOCH + np.timedelta64(int(day), "D"))


@dataclass
class Events:
    """Purchase days and refunds of every identified customer, sorted by customer then day."""

    ids: list[str]                    # external customer id per customer index
    cust: np.ndarray                  # int, customer index per purchase day
    day: np.ndarray                   # int, day number
    value: np.ndarray                 # float, basket value of that day (paid orders)
    orders: np.ndarray                # int, paid orders on that day
    lines: np.ndarray                 # int, order lines bought that day (0 where lines are unknown)
    price_sum: np.ndarray             # float, sum of those lines' unit prices
    refund_cust: np.ndarray
    refund_day: np.ndarray
    refund_value: np.ndarray          # float, <= 0
    last_day: int                     # the shop's last order date (guests and refunds included)
    first_day: int
    notes: list[str] = field(default_factory=list)   # plain-words remarks about dropped input

    @property
    def n_customers(self) -> int:
        return len(self.ids)

    @property
    def span_days(self) -> int:
        return int(self.last_day - self.first_day)

    def before(self, cut: int) -> "Events":
        """Only what was known at the end of day ``cut`` (the time split's past)."""
        keep = self.day <= cut
        rkeep = self.refund_day <= cut
        return Events(self.ids, self.cust[keep], self.day[keep], self.value[keep], self.orders[keep],
                      self.lines[keep], self.price_sum[keep],
                      self.refund_cust[rkeep], self.refund_day[rkeep], self.refund_value[rkeep],
                      min(self.last_day, cut), self.first_day, list(self.notes))

    @classmethod
    def from_orders(cls, frame: pd.DataFrame, now: _dt.datetime | None = None) -> "Events":
        """Build from one row per order: columns ``customer`` (str or None for guests), ``ordered_at``
        (datetime or ISO text), ``status`` ('paid'/'cancelled'/'returned'), ``value`` (order total),
        and optionally ``lines`` (order lines) and ``price_sum`` (sum of their unit prices).

        Rows with unreadable dates or dates after today are dropped and said in :attr:`notes`.
        """
        notes: list[str] = []
        if frame is None or len(frame) == 0:
            raise UserError("The shop has no orders yet: import orders first.")
        df = frame[["customer", "ordered_at", "status", "value"]].copy()
        for col in ("lines", "price_sum"):
            df[col] = (pd.to_numeric(frame[col], errors="coerce").fillna(0.0).clip(lower=0.0)
                       if col in frame else 0.0)
        df["ordered_at"] = pd.to_datetime(df["ordered_at"], errors="coerce", format="mixed")
        bad = int(df["ordered_at"].isna().sum())
        if bad:
            notes.append(f"{bad} orders with an unreadable date were left out.")
        df = df[df["ordered_at"].notna()]
        now = now or _dt.datetime.now()
        future = df["ordered_at"] > pd.Timestamp(now) + pd.Timedelta(days=1)
        if future.any():
            notes.append(f"{int(future.sum())} orders dated in the future were left out.")
            df = df[~future]
        if df.empty:
            raise UserError("The shop has no orders with a usable date.")
        df["value"] = pd.to_numeric(df["value"], errors="coerce").fillna(0.0).astype(float)
        df["dayn"] = ((df["ordered_at"].dt.normalize() - pd.Timestamp("1970-01-01")).dt.days).astype(np.int64)
        last_day = int(df["dayn"].max())
        first_day = int(df["dayn"].min())
        known = df[df["customer"].notna() & (df["customer"].astype(str).str.strip() != "")].copy()
        guests = len(df) - len(known)
        if guests:
            notes.append(f"{guests} guest orders (no customer) are not part of any history.")
        known["customer"] = known["customer"].astype(str)
        paid = known[known["status"] == "paid"]
        # credits only: an order cancelled or refunded as a whole keeps its positive total and is neither
        refunds = known[known["status"].isin(["cancelled", "returned"]) & (known["value"] < 0)]
        ids = sorted(paid["customer"].unique().tolist())
        index = {cid: i for i, cid in enumerate(ids)}
        g = (paid.groupby(["customer", "dayn"], sort=True)
             .agg(value=("value", "sum"), orders=("value", "size"), lines=("lines", "sum"),
                  price_sum=("price_sum", "sum")).reset_index())
        g["ci"] = g["customer"].map(index)
        g = g.sort_values(["ci", "dayn"], kind="stable")
        refunds = refunds[refunds["customer"].isin(index)]
        r = refunds.assign(ci=refunds["customer"].map(index)).sort_values(["ci", "dayn"], kind="stable")
        return cls(
            ids=ids,
            cust=g["ci"].to_numpy(np.int64), day=g["dayn"].to_numpy(np.int64),
            value=np.maximum(g["value"].to_numpy(float), 0.0), orders=g["orders"].to_numpy(np.int64),
            lines=g["lines"].to_numpy(float).round().astype(np.int64), price_sum=g["price_sum"].to_numpy(float),
            refund_cust=r["ci"].to_numpy(np.int64), refund_day=r["dayn"].to_numpy(np.int64),
            refund_value=-np.abs(r["value"].to_numpy(float)),
            last_day=last_day, first_day=first_day, notes=notes,
        )


def load_events(db, now: _dt.datetime | None = None) -> Events:
    """Read the shop's orders (one row each, value = order total or the sum of its lines; its line count
    and the sum of the lines' unit prices)."""
    rows = db.conn.execute(
        "SELECT c.external_id, o.ordered_at, o.status, "
        "CASE WHEN o.total <> 0 THEN o.total ELSE coalesce(l.amount, 0) END, "
        "coalesce(l.n, 0), coalesce(l.price_sum, 0) "
        "FROM orders o LEFT JOIN customers c ON c.id = o.customer_id "
        "LEFT JOIN (SELECT order_id, sum(quantity * unit_price) AS amount, count(*) AS n, "
        "           sum(abs(unit_price)) AS price_sum FROM order_lines GROUP BY order_id) l ON l.order_id = o.id"
    ).fetchall()
    frame = pd.DataFrame(rows, columns=["customer", "ordered_at", "status", "value", "lines", "price_sum"])
    return Events.from_orders(frame, now=now)


@dataclass
class Snapshot:
    """What is known about each customer at the end of day ``cut``."""

    cut: int
    cust: np.ndarray          # customer indices in the population (>= 1 purchase day <= cut)
    visits: np.ndarray        # purchase days
    first: np.ndarray
    last: np.ndarray
    total: np.ndarray         # gross basket value
    refunds: np.ndarray       # >= 0, refunded amount
    orders: np.ndarray
    mean_gap: np.ndarray      # nan for one-visit customers
    static: np.ndarray        # [n, len(STATIC_NAMES)] raw (unscaled) features
    seq: np.ndarray           # [n, SEQ_LEN, SEQ_FEATURES], right-aligned, zero padded on the left
    seq_len: np.ndarray       # real events per row (1..SEQ_LEN)

    @property
    def recency(self) -> np.ndarray:
        return (self.cut - self.last).astype(float)

    @property
    def tenure(self) -> np.ndarray:
        return (self.cut - self.first).astype(float)

    @property
    def mean_value(self) -> np.ndarray:
        return self.total / np.maximum(self.visits, 1)

    def rfm(self) -> np.ndarray:
        """Recency, frequency, monetary on log scales: the baseline's three inputs."""
        return np.column_stack([np.log1p(self.recency), np.log1p(self.visits), np.log1p(self.mean_value)])

    def bgnbd_inputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x repeat visits, t_x, T) in weeks, as BG/NBD wants them."""
        x = (self.visits - 1).astype(float)
        return x, (self.last - self.first) / 7.0, (self.cut - self.first) / 7.0


def snapshot(ev: Events, cut: int) -> Snapshot:
    """Features at ``cut`` for every customer with at least one purchase day on or before it."""
    keep = ev.day <= cut
    cust, day, value, orders = ev.cust[keep], ev.day[keep], ev.value[keep], ev.orders[keep]
    lines, price_sum = ev.lines[keep].astype(float), ev.price_sum[keep]
    if len(cust) == 0:
        empty = np.zeros(0)
        return Snapshot(cut, empty.astype(int), empty, empty, empty, empty, empty, empty, empty,
                        np.zeros((0, len(STATIC_NAMES))), np.zeros((0, SEQ_LEN, SEQ_FEATURES)), empty.astype(int))
    pop, start, counts = np.unique(cust, return_index=True, return_counts=True)
    end = start + counts - 1
    first, last = day[start], day[end]
    total = np.add.reduceat(value, start)
    n_orders = np.add.reduceat(orders, start)
    n_lines = np.add.reduceat(lines, start)
    prices = np.add.reduceat(price_sum, start)
    same = np.r_[False, cust[1:] == cust[:-1]]
    gap = np.where(same, np.r_[0, np.diff(day)], 0).astype(float)
    gsum = np.add.reduceat(gap, start)
    gsq = np.add.reduceat(gap ** 2, start)
    ng = counts - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_gap = np.where(ng > 0, gsum / np.maximum(ng, 1), np.nan)
        var = np.where(ng > 1, gsq / np.maximum(ng, 1) - mean_gap ** 2, 0.0)
        cv = np.where(ng > 1, np.sqrt(np.maximum(var, 0)) / np.maximum(mean_gap, 1), 0.0)
    age = cut - day

    def recent(days: int) -> np.ndarray:
        return np.add.reduceat((age < days).astype(float), start)

    rkeep = ev.refund_day <= cut
    ref = np.zeros(ev.n_customers)
    np.add.at(ref, ev.refund_cust[rkeep], -ev.refund_value[rkeep])
    refunds = ref[pop]
    recency = (cut - last).astype(float)
    tenure = (cut - first).astype(float)
    mg = np.where(np.isnan(mean_gap), tenure + 30.0, mean_gap)
    static = np.column_stack([
        np.log1p(recency), np.log1p(tenure), np.log1p(counts), np.log1p(total / counts), np.log1p(total),
        np.log1p(mg), np.clip(cv, 0, 5), np.log1p(recency) - np.log1p(mg),
        np.log1p(recent(30)), np.log1p(recent(90)), np.log1p(recent(180)), np.log1p(refunds),
        np.log1p(n_orders / counts),
        np.log1p(n_lines / counts), np.log1p(n_lines), np.log1p(prices / np.maximum(n_lines, 1)),
    ])
    # sequences: the last SEQ_LEN purchase days of each customer, right-aligned
    pos_from_end = np.repeat(end, counts) - np.arange(len(cust))
    take = pos_from_end < SEQ_LEN
    row = np.searchsorted(pop, cust[take])
    col = SEQ_LEN - 1 - pos_from_end[take]
    seq = np.zeros((len(pop), SEQ_LEN, SEQ_FEATURES), dtype=np.float32)
    seq[row, col, 0] = np.log1p(gap[take]) / 5.0
    seq[row, col, 1] = np.log1p(value[take]) / 8.0
    seq[row, col, 2] = age[take] / 365.0
    seq[row, col, 3] = 1.0
    seq[row, col, 4] = np.log1p(lines[take]) / 5.0
    return Snapshot(cut, pop, counts.astype(float), first, last, total, refunds, n_orders.astype(float),
                    mean_gap, static.astype(float), seq, np.minimum(counts, SEQ_LEN))


def labels(ev: Events, snap: Snapshot, horizon: int = 90) -> dict[str, np.ndarray]:
    """What each customer of ``snap`` did in ``(cut, cut + horizon]``: bought in 30/90 days, net spend."""
    c = snap.cut
    n = ev.n_customers
    win = (ev.day > c) & (ev.day <= c + horizon)
    win30 = (ev.day > c) & (ev.day <= c + 30)
    b90 = np.zeros(n, bool)
    b90[ev.cust[win]] = True
    b30 = np.zeros(n, bool)
    b30[ev.cust[win30]] = True
    spend = np.zeros(n)
    np.add.at(spend, ev.cust[win], ev.value[win])
    rwin = (ev.refund_day > c) & (ev.refund_day <= c + horizon)
    np.add.at(spend, ev.refund_cust[rwin], ev.refund_value[rwin])
    return {"bought30": b30[snap.cust].astype(float), "bought90": b90[snap.cust].astype(float),
            "spend90": np.maximum(spend[snap.cust], 0.0)}


def monthly_spend(ev: Events, months: int = 12) -> np.ndarray:
    """[n_customers, months] gross spend per 30-day block ending at the last order date (sparklines)."""
    out = np.zeros((ev.n_customers, months))
    block = (ev.last_day - ev.day) // 30
    keep = block < months
    np.add.at(out, (ev.cust[keep], months - 1 - block[keep]), ev.value[keep])
    return out

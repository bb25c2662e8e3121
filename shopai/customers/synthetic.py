"""A small deterministic shop with known customer behaviour, for tests and demos.

Regulars buy at their own rhythm (7–45 days) with some jitter; about half of them stop at some
point; occasional buyers come once or twice. Two planted customers: ``PLANT`` buys every 14 days,
then stops ~100 days before the end; ``STEADY`` buys every 14 days to the end. Also guest orders,
a cancellation with a negative line, and optional orders dated in the future.
"""
from __future__ import annotations

import datetime as _dt

import numpy as np

START = _dt.datetime(2023, 1, 2, 10, 0)


def orders(days: int = 330, regulars: int = 70, occasional: int = 50, seed: int = 7) -> list[tuple]:
    """(order_no, customer or None, datetime, status, total) tuples."""
    rng = np.random.default_rng(seed)
    out: list[tuple] = []

    def add(cust, day, status="paid", total=None):
        if day < 0 or day > days:
            return
        when = START + _dt.timedelta(days=int(day), hours=int(rng.integers(0, 8)))
        value = round(float(total if total is not None else rng.gamma(2.0, 30.0)), 2)
        out.append((f"S{len(out) + 1:06d}", cust, when, status, value))

    for i in range(regulars):
        gap = float(rng.uniform(7, 45))
        start = float(rng.uniform(0, days * 0.4))
        stop = float(rng.uniform(start + 3 * gap, days)) if rng.random() < 0.5 else days + 1
        t = start
        while t <= min(stop, days):
            add(f"R{i:03d}", round(t))
            t += max(1.0, rng.normal(gap, gap * 0.2))
    for i in range(occasional):
        t = float(rng.uniform(0, days))
        add(f"O{i:03d}", round(t))
        if rng.random() < 0.4:
            add(f"O{i:03d}", round(t + rng.uniform(10, 120)))
    for t in range(0, days - 100, 14):
        add("PLANT", t, total=40.0)
    for t in range(0, days + 1, 14):
        add("STEADY", t, total=40.0)
    last = days
    add("STEADY", last, total=40.0)
    for t in range(0, days, 9):                     # guests
        add(None, t)
    add("R000", days // 2, status="cancelled", total=-25.0)
    return out


def build(db_path: str, future_orders: int = 0, **kwargs) -> dict:
    """Write the synthetic orders (and one line each) into the shop at ``db_path``; returns counts."""
    from shopai.store import open_store, transaction

    rows = orders(**kwargs)
    db = open_store(db_path)
    try:
        with transaction(db) as conn:
            names = sorted({r[1] for r in rows if r[1]})
            conn.executemany("INSERT OR IGNORE INTO customers (external_id, name) VALUES (?, ?)",
                             [(c, f"Customer {c}") for c in names])
            ids = dict(conn.execute("SELECT external_id, id FROM customers").fetchall())
            conn.execute("INSERT OR IGNORE INTO products (sku, title, price) VALUES ('GIFT', 'Gift box', 10)")
            pid = conn.execute("SELECT id FROM products WHERE sku = 'GIFT'").fetchone()[0]
            future = [(f"F{i:04d}", "STEADY", _dt.datetime.now() + _dt.timedelta(days=400 + i), "paid", 99.0)
                      for i in range(future_orders)]
            for no, cust, when, status, total in rows + future:
                iso = when.strftime("%Y-%m-%dT%H:%M:%S")
                cur = conn.execute(
                    "INSERT INTO orders (external_id, customer_id, ordered_at, status, total) VALUES (?,?,?,?,?)",
                    (no, ids.get(cust), iso, status, total))
                qty = -1 if total < 0 else 1
                conn.execute("INSERT INTO order_lines (order_id, product_id, quantity, unit_price, ordered_at) "
                             "VALUES (?,?,?,?,?)", (cur.lastrowid, pid, qty, abs(total), iso))
    finally:
        db.conn.close()
    return {"orders": len(rows) + future_orders}

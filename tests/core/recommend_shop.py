"""A tiny shop with a planted buying pattern, shared by the recommendation tests (core and UI).

Three groups of customers; each group buys from its own 8 products (plus two products everybody
buys now and then). ``pattern=False`` draws every basket from all products instead, which the
models must then fail to exploit.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

GROUPS = 3
PER_GROUP = 8
NAMES = [
    ["red tea cup", "blue tea cup", "tea pot white", "tea towel", "teaspoon set", "tea caddy tin",
     "milk jug", "sugar bowl"],
    ["garden hose", "garden gloves", "seed tray", "plant pot large", "watering can", "trowel steel",
     "garden twine", "pruning shears"],
    ["notebook lined", "ballpoint pens", "pencil case", "stapler", "paper clips", "sticky notes",
     "desk tidy", "ring binder"],
]


def group_of_product(pid_index: int) -> int:
    return pid_index // PER_GROUP


def make_shop(db, pattern: bool = True, customers: int = 60, orders_each: int = 6, seed: int = 1,
              start: datetime = datetime(2024, 1, 1)) -> dict:
    """Fill ``db`` (a migrated, empty shop); returns {'groups': {external_id: group}, 'skus': [...]}."""
    rng = random.Random(seed)
    conn = db.conn
    skus = []
    for g in range(GROUPS):
        for j in range(PER_GROUP):
            sku = f"P{g}{j}"
            skus.append(sku)
            conn.execute("INSERT INTO products (sku, title, description, price, stock) VALUES (?, ?, '', 2.5, 10)",
                         (sku, NAMES[g][j]))
    for sku, title in (("POP1", "gift bag"), ("POP2", "greeting card")):
        skus.append(sku)
        conn.execute("INSERT INTO products (sku, title, description, price, stock) VALUES (?, ?, '', 1.0, 50)",
                     (sku, title))
    pid = {row[1]: row[0] for row in conn.execute("SELECT id, sku FROM products")}
    groups = {}
    order_no = 0
    for c in range(customers):
        ext = str(10000 + c)
        g = c % GROUPS
        groups[ext] = g
        cid = conn.execute("INSERT INTO customers (external_id, name) VALUES (?, ?)", (ext, f"Customer {c}")).lastrowid
        # Each customer has a few favourites in their group they buy again and again.
        favourites = rng.sample(range(PER_GROUP), 4)
        for o in range(orders_each):
            day = start + timedelta(days=rng.randint(0, 180), hours=rng.randint(8, 18))
            order_no += 1
            when = day.strftime("%Y-%m-%dT%H:%M:%S")
            oid = conn.execute("INSERT INTO orders (external_id, customer_id, ordered_at, status, total) "
                               "VALUES (?, ?, ?, 'paid', 0)", (f"O{order_no}", cid, when)).lastrowid
            if pattern:
                picks = {f"P{g}{rng.choice(favourites)}" for _ in range(3)}
            else:
                picks = {rng.choice(skus[:-2]) for _ in range(3)}
            if rng.random() < 0.3:
                picks.add(rng.choice(["POP1", "POP2"]))
            for sku in picks:
                conn.execute("INSERT INTO order_lines (order_id, product_id, quantity, unit_price, ordered_at) "
                             "VALUES (?, ?, 1, 2.5, ?)", (oid, pid[sku], when))
    return {"groups": groups, "skus": skus}


def add_order(db, external_customer: str | None, skus: list[str], when: str, status: str = "paid",
              qty: float = 1, number: str | None = None) -> int:
    conn = db.conn
    cid = None
    if external_customer is not None:
        row = conn.execute("SELECT id FROM customers WHERE external_id = ?", (external_customer,)).fetchone()
        cid = row[0] if row else conn.execute("INSERT INTO customers (external_id) VALUES (?)",
                                              (external_customer,)).lastrowid
    n = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
    oid = conn.execute("INSERT INTO orders (external_id, customer_id, ordered_at, status) VALUES (?, ?, ?, ?)",
                       (number or f"X{n + 1}", cid, when, status)).lastrowid
    for sku in skus:
        pid = conn.execute("SELECT id FROM products WHERE sku = ?", (sku,)).fetchone()[0]
        conn.execute("INSERT INTO order_lines (order_id, product_id, quantity, unit_price, ordered_at) "
                     "VALUES (?, ?, ?, 2.0, ?)", (oid, pid, qty, when))
    return oid

"""Reading weekly series out of the shop database (paid orders, positive quantities, price list changes)."""
from __future__ import annotations

from datetime import date
from typing import Any

import sqlite_utils

from shopai.forecast.series import WeeklySeries, is_product_code, monday, price_series, sales_series
from shopai.jobs import UserError
from shopai.store.orders import NOT_FUTURE, after_tomorrow, future_note

# Monday on or before a timestamp, in SQLite.
_WEEK = "date(l.ordered_at, '-6 days', 'weekday 1')"
_PAID = (
    "FROM order_lines l JOIN orders o ON o.id = l.order_id "
    "WHERE o.status = 'paid' AND l.quantity > 0 AND l.unit_price > 0 AND l.product_id IS NOT NULL "
    f"AND o.ordered_at {NOT_FUTURE}"
)


def last_week(db: sqlite_utils.Database) -> date | None:
    """The week (Monday) of the last order in the database, orders dated after today left out; forecasts
    start the week after."""
    row = db.conn.execute(f"SELECT max(ordered_at) FROM orders WHERE ordered_at {NOT_FUTURE}").fetchone()
    return monday(row[0]) if row and row[0] else None


def find_product(db: sqlite_utils.Database, sku: str) -> dict[str, Any]:
    sku = (sku or "").strip()
    if not sku:
        raise UserError("Give a product SKU to forecast.")
    row = db.conn.execute(
        "SELECT id, sku, title, category, stock, price FROM products WHERE sku = ? COLLATE NOCASE", (sku,)
    ).fetchone()
    if not row:
        raise UserError(f"No product with SKU '{sku}' in this shop.")
    return dict(zip(("id", "sku", "title", "category", "stock", "price"), row))


def category_products(db: sqlite_utils.Database, category: str) -> list[int]:
    ids = [r[0] for r in db.conn.execute("SELECT id FROM products WHERE category = ?", (category,))]
    if not ids:
        raise UserError(f"No products in category '{category}'.")
    return ids


def _in(ids: list[int]) -> str:
    return ",".join(str(int(i)) for i in ids)


def _sales_rows(db, ids: list[int] | None):
    where = f" AND l.product_id IN ({_in(ids)})" if ids is not None else ""
    return db.conn.execute(
        f"SELECT l.product_id, {_WEEK}, sum(l.quantity) {_PAID}{where} GROUP BY 1, 2"
    ).fetchall()


def _price_rows(db, ids: list[int] | None):
    where = f" AND l.product_id IN ({_in(ids)})" if ids is not None else ""
    return db.conn.execute(
        f"SELECT l.product_id, {_WEEK}, l.unit_price, o.customer_id IS NOT NULL, count(*) {_PAID}{where} "
        "GROUP BY 1, 2, 3, 4"
    ).fetchall()


def _future_orders(db, ids: list[int] | None) -> dict[int, int]:
    """Per product, its paid orders dated after today (left out of its series)."""
    where = f" AND l.product_id IN ({_in(ids)})" if ids is not None else ""
    return dict(db.conn.execute(
        "SELECT l.product_id, count(DISTINCT o.id) FROM order_lines l JOIN orders o ON o.id = l.order_id "
        f"WHERE o.status = 'paid' AND l.quantity > 0 AND {after_tomorrow('o.ordered_at')}{where} GROUP BY 1"))


def _note_future(s: WeeklySeries, n: int) -> WeeklySeries:
    if n:
        s.notes.append(future_note(n).rstrip("."))
    return s


def _changes(db, ids: list[int] | None):
    where = f" WHERE product_id IN ({_in(ids)})" if ids is not None else ""
    return db.conn.execute(f"SELECT product_id, changed_at, price FROM price_history{where}").fetchall()


def load_series(
    db: sqlite_utils.Database, what: str, sku: str | None = None, category: str | None = None
) -> tuple[WeeklySeries, dict[str, Any]]:
    """One product's (or one category's) weekly series, with the product row (or a category stub)."""
    if what not in ("sales", "price"):
        raise UserError(f"Unknown series '{what}': choose price or sales.")
    end = last_week(db)
    if sku:
        product = find_product(db, sku)
        ids, key, title = [product["id"]], product["sku"], product["title"]
    elif category:
        ids = category_products(db, category)
        key, title = f"category:{category}", category
        product = {"id": None, "sku": key, "title": category, "category": category, "stock": None, "price": None}
    else:
        raise UserError("Pick a product or a category.")
    future = sum(_future_orders(db, ids).values())
    if what == "sales":
        s = sales_series(key, [(w, q) for _, w, q in _sales_rows(db, ids)], end_week=end, title=title)
        if not (s.raw > 0).any():
            raise UserError(f"'{title}' has no paid sales yet: there is nothing to forecast.")
    else:
        changes = [(at, p) for _, at, p in _changes(db, ids)] if sku else []
        s = price_series(key, [(w, p, c, n) for _, w, p, c, n in _price_rows(db, ids)], end_week=end,
                         list_changes=changes, title=title)
        if len(s.values) == 0:
            raise UserError(f"'{title}' has no prices recorded yet: there is nothing to forecast.")
    return _note_future(s, future), product


def load_all(db: sqlite_utils.Database, what: str, min_points: int = 1) -> list[WeeklySeries]:
    """Every product's series (fees, postage and vouchers left out, and archived products: no longer sold), all
    ending the same week."""
    end = last_week(db)
    if end is None:
        return []
    products = {pid: (sku, title) for pid, sku, title in db.conn.execute(
                "SELECT id, sku, title FROM products WHERE status != 'archived'") if is_product_code(sku)}
    grouped: dict[int, list] = {}
    if what == "sales":
        for pid, w, q in _sales_rows(db, None):
            grouped.setdefault(pid, []).append((w, q))
    else:
        for pid, w, p, c, n in _price_rows(db, None):
            grouped.setdefault(pid, []).append((w, p, c, n))
    changes: dict[int, list] = {}
    if what == "price":
        for pid, at, p in _changes(db, None):
            changes.setdefault(pid, []).append((at, p))
    future = _future_orders(db, None)
    out = []
    for pid, recs in grouped.items():
        if pid not in products:
            continue
        sku, title = products[pid]
        if what == "sales":
            s = sales_series(sku, recs, end_week=end, title=title)
        else:
            s = price_series(sku, recs, end_week=end, list_changes=changes.get(pid, ()), title=title)
        if len(s.values) >= min_points and s.n_observed >= 1:
            out.append(_note_future(s, future.get(pid, 0)))
    return out

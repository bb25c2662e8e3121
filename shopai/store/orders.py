"""Order and customer queries for the Orders tab and the CLI."""
from __future__ import annotations

import re
from typing import Any, Iterable

import sqlite_utils

from shopai.store.db import in_chunks, like_pattern

ORDER_COLUMNS = ("id", "external_id", "customer", "ordered_at", "status", "lines", "total", "country")
SORTABLE = {"external_id": "o.external_id", "customer": "c.external_id", "ordered_at": "o.ordered_at",
            "status": "o.status", "total": "o.total", "id": "o.id", "country": "o.country"}


def order_ids(
    db: sqlite_utils.Database,
    text: str = "",
    customer_id: int | None = None,
    order_by: str = "ordered_at",
    descending: bool = True,
    guest_label: str | None = None,
) -> list[int]:
    """Order ids, filtered by order number / customer id prefix or one customer, sorted in SQL.
    ``guest_label``: what the table shows for an order without a customer ("Guest"); text that begins
    it (at least 3 letters) finds those orders too."""
    if order_by not in SORTABLE:
        raise ValueError(f"cannot sort by {order_by!r}")
    where, params = [], []
    if text.strip():
        t = text.strip()
        guests = bool(guest_label) and len(t) >= 3 and guest_label.casefold().startswith(t.casefold())
        where.append("(o.external_id LIKE ? ESCAPE '\\' OR c.external_id LIKE ? ESCAPE '\\' "
                     "OR c.name LIKE ? ESCAPE '\\'" + (" OR o.customer_id IS NULL)" if guests else ")"))
        params += [like_pattern(t), like_pattern(t), like_pattern(t, prefix=False)]
    if customer_id is not None:
        where.append("o.customer_id = ?")
        params.append(customer_id)
    sql = "SELECT o.id FROM orders o LEFT JOIN customers c ON c.id = o.customer_id"
    if where:
        sql += " WHERE " + " AND ".join(where)
    direction = "DESC" if descending else "ASC"
    sql += f" ORDER BY {SORTABLE[order_by]} {direction}, o.id {direction}"
    return [r[0] for r in db.conn.execute(sql, params)]


def fetch_rows(db: sqlite_utils.Database, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for chunk, marks in in_chunks(ids):
        cur = db.conn.execute(
            "SELECT o.id, o.external_id, c.external_id, o.ordered_at, o.status, "
            "(SELECT count(*) FROM order_lines l WHERE l.order_id = o.id), o.total, o.country "
            f"FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE o.id IN ({marks})",
            chunk,
        )
        for row in cur:
            out[row[0]] = dict(zip(ORDER_COLUMNS, row))
    return out


def lines(db: sqlite_utils.Database, order_id: int) -> list[dict[str, Any]]:
    cur = db.conn.execute(
        "SELECT l.id, coalesce(p.sku, l.deleted_sku), coalesce(p.title, l.deleted_title || ' (deleted)', "
        "'(deleted product)'), l.quantity, l.unit_price, "
        "l.quantity * l.unit_price, p.id FROM order_lines l LEFT JOIN products p ON p.id = l.product_id "
        "WHERE l.order_id = ? ORDER BY l.id",
        (order_id,),
    )
    cols = ("id", "sku", "title", "quantity", "unit_price", "amount", "product_id")
    return [dict(zip(cols, r)) for r in cur]


def customer_summary(db: sqlite_utils.Database, customer_id: int) -> dict[str, Any] | None:
    row = db.conn.execute(
        "SELECT c.id, c.external_id, c.name, c.country, count(o.id), coalesce(sum(o.total), 0), "
        "min(o.ordered_at), max(o.ordered_at) FROM customers c LEFT JOIN orders o "
        "ON o.customer_id = c.id AND o.status = 'paid' WHERE c.id = ? GROUP BY c.id",
        (customer_id,),
    ).fetchone()
    if not row:
        return None
    cols = ("id", "external_id", "name", "country", "orders", "spend", "first_order", "last_order")
    return dict(zip(cols, row))


def customer_id_for(db: sqlite_utils.Database, external_id: str) -> int | None:
    """The customer with this id as in the imported orders. Typed the way a person types it, it is read the
    way the import stores ids: spaces trimmed, an e-mail address in lower case, "17850.0" as 17850."""
    text = str(external_id)
    row = db.conn.execute("SELECT id FROM customers WHERE external_id = ?", (text,)).fetchone()
    if row is None:
        key = text.strip()
        if key.endswith(".0") and key[:-2].isdigit():
            key = key[:-2]
        key = key.lower() if "@" in key else key
        if key != text:
            row = db.conn.execute("SELECT id FROM customers WHERE external_id = ?", (key,)).fetchone()
    return row[0] if row else None


def stats(db: sqlite_utils.Database) -> dict[str, int]:
    """How much the shop holds: products, customers, orders, order lines."""
    out = {}
    for table in ("products", "customers", "orders", "order_lines"):
        out[table] = db.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return out


def has_orders(db: sqlite_utils.Database) -> bool:
    """Whether the shop has any order (of any status)."""
    return db.conn.execute("SELECT EXISTS (SELECT 1 FROM orders)").fetchone()[0] == 1


# Orders dated more than a day after this computer's clock (a typing error, a test order, a clock set wrong)
# are left out of what the models learn and of where forecasts start.
_TOMORROW = "strftime('%Y-%m-%dT%H:%M:%S', 'now', 'localtime', '+1 day')"
# SQL, after a date column: a date no later than tomorrow (an unreadable date is not one either)
NOT_FUTURE = f"<= {_TOMORROW}"


def after_tomorrow(column: str) -> str:
    """SQL: ``column`` is a readable date more than a day after today (unreadable ones are not)."""
    return f"({column} GLOB '[0-9][0-9][0-9][0-9]-*' AND {column} > {_TOMORROW})"


def future_orders(db: sqlite_utils.Database) -> int:
    """How many orders are dated more than a day after today (the models leave them out)."""
    return db.conn.execute(f"SELECT count(*) FROM orders WHERE {after_tomorrow('ordered_at')}").fetchone()[0]


def future_note(n: int) -> str:
    """The sentence that says ``n`` orders dated in the future were left out ('' for none)."""
    if not n:
        return ""
    return f"{n:,} order{' is' if n == 1 else 's are'} dated after today and left out."


def search_customers(db: sqlite_utils.Database, text: str = "", limit: int = 50) -> list[dict[str, Any]]:
    """Customers whose id starts with ``text`` or whose name contains it, the most loyal first. An id in
    Chinese characters (a name used as the id: 张伟) is matched anywhere too, as a name is ("伟")."""
    t = (text or "").strip()
    where, params = "", []
    if t:
        where = "WHERE c.external_id LIKE ? ESCAPE '\\' OR c.name LIKE ? ESCAPE '\\' OR c.email LIKE ? ESCAPE '\\'"
        inside = bool(re.search(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]", t))
        params = [like_pattern(t, prefix=not inside), like_pattern(t, prefix=False), like_pattern(t)]
    cur = db.conn.execute(
        "SELECT c.id, c.external_id, coalesce(c.name, ''), "
        "(SELECT count(*) FROM orders o WHERE o.customer_id = c.id AND o.status = 'paid') AS n "
        f"FROM customers c {where} ORDER BY n DESC, c.external_id LIMIT ?",
        [*params, int(limit)],
    )
    return [dict(zip(("id", "external_id", "name", "orders"), r)) for r in cur]

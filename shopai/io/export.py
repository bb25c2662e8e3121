"""CSV export of the catalog and the orders, safe to open in a spreadsheet.

Files are UTF-8 with a BOM (so Excel reads Chinese and accented titles right). Every text cell goes through
:func:`safe_cell`: a cell that a spreadsheet would run as a formula (starting with = + - @, a tab or a
carriage return) gets a leading apostrophe; plain numbers, negative ones included, stay numbers.
"""
from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

import sqlite_utils

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

CATALOG_HEADER = ["sku", "title", "description", "category", "vendor", "price", "cost", "stock", "image_path",
                  "created_at", "updated_at"]
ORDERS_HEADER = ["order_id", "ordered_at", "status", "customer_id", "customer_name", "email", "country", "sku",
                 "title", "quantity", "unit_price", "line_total"]
_QUANTITY = ORDERS_HEADER.index("quantity")


def safe_cell(value: Any) -> Any:
    """A value safe to put in a spreadsheet cell: formulas neutralised with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def write_csv(path: str | os.PathLike, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write a CSV (UTF-8 with BOM, every cell through :func:`safe_cell`) atomically; returns the row count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    n = 0
    try:
        with open(tmp, "w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f, lineterminator="\r\n")
            writer.writerow([safe_cell(h) for h in header])
            for row in rows:
                writer.writerow([safe_cell(v) for v in row])
                n += 1
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n


def export_catalog(db: sqlite_utils.Database, path: str | os.PathLike) -> int:
    """Every product, sorted by SKU; a category in the shop's tree is written as its path ("Home > Kitchen >
    Mugs"), which the importer reads back into the same tree. Returns how many rows were written."""
    paths = category_paths(db)
    i = CATALOG_HEADER.index("category")
    cur = db.conn.execute(f"SELECT {', '.join(CATALOG_HEADER)} FROM products ORDER BY sku")
    rows = ([*r[:i], paths.get(r[i], r[i]), *r[i + 1:]] for r in cur)
    return write_csv(path, CATALOG_HEADER, rows)


def category_paths(db: sqlite_utils.Database) -> dict[str, str]:
    """Each category that has a parent, as "Root > … > Name" (a loop in the tree is cut where it closes)."""
    parent = {name: pid for name, pid in db.conn.execute(
        "SELECT c.name, p.name FROM categories c LEFT JOIN categories p ON p.id = c.parent_id")}
    out = {}
    for name, up in parent.items():
        if up is None:
            continue
        chain, seen = [name], {name}
        while up is not None and up not in seen:
            chain.append(up)
            seen.add(up)
            up = parent.get(up)
        out[name] = " > ".join(reversed(chain))
    return out


def export_orders(db: sqlite_utils.Database, path: str | os.PathLike) -> int:
    """One row per order line, oldest order first; re-imports as an orders file. Returns the row count."""
    cur = db.conn.execute(
        "SELECT o.external_id, l.ordered_at, o.status, c.external_id, c.name, c.email, o.country, "
        "coalesce(p.sku, l.deleted_sku), coalesce(p.title, l.deleted_title), "
        "l.quantity, "
        "l.unit_price, round(l.quantity * l.unit_price, 2) FROM order_lines l JOIN orders o ON o.id = l.order_id "
        "LEFT JOIN customers c ON c.id = o.customer_id LEFT JOIN products p ON p.id = l.product_id "
        "ORDER BY o.ordered_at, o.id, l.id")
    return write_csv(path, ORDERS_HEADER, (_whole(row) for row in cur))


def _whole(row: tuple) -> list:
    """Quantities like 6.0 written as 6."""
    return [int(v) if isinstance(v, float) and v.is_integer() and i == _QUANTITY else v for i, v in enumerate(row)]

"""What the catalog and orders imports share: the preview and report records, opening a file with its
mapping, the imports table, and undo."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from shopai.io import formats
from shopai.io.sniff import RowProblem, Table, read_table
from shopai.jobs import UserError
from shopai.store.db import in_chunks, transaction

SAMPLE_ROWS = 20
BATCH = 5000
MAX_PROBLEMS = 10_000


@dataclass
class ImportPreview:
    """A dry run: what an import of this file would do. Nothing is written."""

    kind: str
    format: str
    encoding: str
    delimiter: str
    columns: list[str]
    mapping: dict[str, str | None]
    fields: list[str]
    required_fields: list[str]
    rows_total: int = 0
    rows_ok: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    sample: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    would_create: int = 0
    would_update: int = 0
    day_first: bool | None = None
    # columns read where a field's mapped column is empty, in order ({"image": ["Image Src"]} for Shopify)
    fallback: dict[str, list[str]] = field(default_factory=dict)

    @property
    def missing_required(self) -> list[str]:
        return missing_fields(self.kind, self.mapping)


@dataclass
class ImportReport:
    """What an import did. ``problems`` hold plain-words reasons for each skipped (or noted) row."""

    import_id: int
    kind: str
    format: str
    created: int = 0
    updated: int = 0
    skipped: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{self.created:,} created", f"{self.updated:,} updated", f"{self.skipped:,} skipped"]
        return f"Import {self.import_id} ({self.format} {self.kind}): " + ", ".join(parts) + "."


def _missing_orders(mapping: dict[str, str | None]) -> list[str]:
    missing = [f for f in ("order_id", "ordered_at", "quantity") if not mapping.get(f)]
    if not mapping.get("unit_price") and not mapping.get("line_total"):
        missing.append("unit_price")
    if not mapping.get("sku") and not mapping.get("title"):
        missing.append("sku")
    return missing


def missing_fields(kind: str, mapping: dict[str, str | None]) -> list[str]:
    if kind == "orders":
        return _missing_orders(mapping)
    if kind == "catalog" and mapping.get("sku"):
        return []  # no title column: rows can still update the shop's products by SKU
    _, required = formats.fields_for(kind)
    return [f for f in required if not mapping.get(f)]


@dataclass
class Source:
    """A file opened for import: its table, format and mapping, and column indexes per field."""

    table: Table
    kind: str
    format: str
    mapping: dict[str, str | None]
    index: dict[str, int | None]
    # a known export's further columns for a field, read where the mapped one is empty (Shopify: a row's
    # "Variant Image" is usually empty, its "Image Src" is not); only while the field keeps the format's column
    fallback: dict[str, list[int]] = field(default_factory=dict)

    def getter(self, name: str):
        i = self.index.get(name)
        if i is None:
            return lambda values: ""
        rest = self.fallback.get(name)
        if rest:
            return lambda values: next((values[j] for j in (i, *rest) if values[j].strip()), values[i])
        return lambda values: values[i]


class WrongKind(UserError):
    """The file is clearly of the other kind (a Shopify orders export picked as a catalog): ``kind`` is the
    kind it is, ``what`` says so ("orders.csv is a Shopify orders export, not a catalog")."""

    def __init__(self, what: str, kind: str) -> None:
        super().__init__(f"{what}: import it as {formats.AS_KIND[kind]}.")
        self.what, self.kind = what, kind


def open_source(path: str | os.PathLike, kind: str, mapping: dict[str, str | None] | None = None) -> Source:
    if kind not in ("catalog", "orders"):
        raise UserError(f"Unknown import kind {kind!r}: use 'catalog' or 'orders'.")
    table = read_table(path)
    samples = table.sample(200)
    if not samples:
        raise UserError(f"{Path(path).name} has a header but no rows.")
    wrong = formats.wrong_kind(table.header, kind, overridden=bool(mapping))
    if wrong:
        raise WrongKind(f"{Path(path).name} {wrong[1]}", wrong[0])
    try:
        fmt, resolved = formats.resolve_mapping(table.header, samples, kind, mapping)
    except ValueError as exc:
        raise UserError(f"Column mapping: {exc}.") from None
    index = {f: (table.header.index(c) if c else None) for f, c in resolved.items()}
    # the catalog import reads a known export's next column where a row's mapped one is empty (orders: not yet)
    fallback = {f: [table.header.index(c) for c in cols[1:]]
                for f, cols in formats.alternatives(table.header, kind).items()
                if kind == "catalog" and resolved.get(f) == cols[0]}
    return Source(table, kind, fmt, resolved, index, fallback)


def require_mapping(src: Source) -> None:
    missing = missing_fields(src.kind, src.mapping)
    if missing:
        labels = ", ".join(formats.FIELD_LABELS.get(f, f) for f in missing)
        raise UserError(f"{src.table.path.name}: no column found for {labels}; choose one with "
                        f"--map {missing[0]}=COLUMN (columns: {', '.join(src.table.header[:12])}).")


def now_iso() -> str:
    return datetime.now().strftime("%Y-%m-%dT%H:%M:%S")


def start_import(conn, kind: str, path: str | os.PathLike, fmt: str) -> int:
    cur = conn.execute("INSERT INTO imports (kind, file, format, started_at) VALUES (?, ?, ?, ?)",
                       (kind, str(Path(path).resolve()), fmt, now_iso()))
    return cur.lastrowid


def finish_import(conn, import_id: int, rows_ok: int, rows_skipped: int) -> None:
    conn.execute("UPDATE imports SET rows_ok = ?, rows_skipped = ? WHERE id = ?",
                 (rows_ok, rows_skipped, import_id))


def list_imports(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every import, newest first: id, kind, file, format, started_at, rows_ok, rows_skipped, undone_at."""
    cur = db.conn.execute("SELECT id, kind, file, format, started_at, rows_ok, rows_skipped, undone_at "
                          "FROM imports ORDER BY id DESC")
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r)) for r in cur]


_RESTORABLE = {"products": ("sku", "title", "description", "category", "vendor", "price", "cost", "stock",
                            "image_path", "status", "updated_at"),
               "customers": ("name", "email", "country"),
               # an orders import that re-read an order already in the shop (a later export: refunded since)
               "orders": ("status", "total")}


def db_file(db: sqlite_utils.Database) -> str:
    """The file behind a connection (its "main" database)."""
    return next(row[2] for row in db.conn.execute("PRAGMA database_list") if row[1] == "main")


def undo_import(db: sqlite_utils.Database, import_id: int) -> dict[str, int]:
    """Take back everything an import did: rows it created are deleted, rows it changed get their old
    values back; products and customers it created that later orders refer to are kept (``products_kept``).
    Returns counts per table. Raises UserError if there is no such import or it was undone."""
    row = db.conn.execute("SELECT kind, undone_at FROM imports WHERE id = ?", (import_id,)).fetchone()
    if row is None:
        raise UserError(f"There is no import number {import_id}.")
    if row[1]:
        raise UserError(f"Import {import_id} was already undone on {row[1].replace('T', ' ')}.")
    counts: dict[str, int] = {}
    from shopai.safety.backup import backup_before

    backup_before(db_file(db), "undo")  # throttled; raises UserError (nothing changed) if it fails
    with transaction(db) as conn:
        changes = conn.execute("SELECT table_name, row_id, before_json FROM import_changes WHERE import_id = ? "
                               "ORDER BY rowid DESC", (import_id,)).fetchall()
        restored = 0
        created_categories: list[int] = []
        for table, row_id, before_json in changes:
            before = json.loads(before_json)
            if before is None:
                if table == "price_history":
                    conn.execute("DELETE FROM price_history WHERE id = ?", (row_id,))
                    counts["price_history_deleted"] = counts.get("price_history_deleted", 0) + 1
                elif table == "categories":
                    created_categories.append(row_id)  # once we know which products stay
                elif table == "order_lines":  # a line an orders import added to an order already in the shop
                    conn.execute("DELETE FROM order_lines WHERE id = ?", (row_id,))
                    counts["order_lines_deleted"] = counts.get("order_lines_deleted", 0) + 1
                continue
            cols = [c for c in _RESTORABLE.get(table, ()) if c in before]
            if cols:
                # an import finds a product by its SKU and never changes it: a row with that id and another SKU is
                # a product added after this one was deleted (SQLite hands its id out again), never this one
                same = " AND sku = ?" if table == "products" and "sku" in before else ""
                restored += conn.execute(
                    f"UPDATE {table} SET {', '.join(c + ' = ?' for c in cols)} WHERE id = ?{same}",
                    [before[c] for c in cols] + [row_id] + ([before["sku"]] if same else [])).rowcount
        counts["restored"] = restored
        counts["order_lines_deleted"] = counts.get("order_lines_deleted", 0) + conn.execute(
            "DELETE FROM order_lines WHERE order_id IN (SELECT id FROM orders WHERE import_id = ?)",
            (import_id,)).rowcount
        counts["orders_deleted"] = conn.execute("DELETE FROM orders WHERE import_id = ?", (import_id,)).rowcount
        counts["customers_deleted"] = conn.execute(
            "DELETE FROM customers WHERE import_id = ? AND id NOT IN "
            "(SELECT customer_id FROM orders WHERE customer_id IS NOT NULL)", (import_id,)).rowcount
        # a product that orders imported since still name stays (like a customer): deleting it would leave
        # those order lines pointing at nothing
        unused = "id NOT IN (SELECT product_id FROM order_lines WHERE product_id IS NOT NULL)"
        counts["products_deleted"] = conn.execute(
            f"DELETE FROM products WHERE import_id = ? AND {unused}", (import_id,)).rowcount
        counts["products_kept"] = conn.execute("SELECT count(*) FROM products WHERE import_id = ?",
                                               (import_id,)).fetchone()[0]
        # products an earlier undo kept for this import's orders go now that nothing names them
        counts["products_deleted"] += conn.execute(
            f"DELETE FROM products WHERE import_id IN (SELECT id FROM imports WHERE undone_at IS NOT NULL) "
            f"AND {unused}").rowcount
        # the import's prices go, except the history of the products kept (deleted products took theirs along)
        counts["price_history_deleted"] = counts.get("price_history_deleted", 0) + conn.execute(
            "DELETE FROM price_history WHERE import_id = ? AND product_id NOT IN "
            "(SELECT id FROM products WHERE import_id = ?)", (import_id, import_id)).rowcount
        counts["categories_deleted"], counts["categories_kept"] = _drop_unused_categories(
            conn, import_id, created_categories)
        conn.execute("UPDATE imports SET undone_at = ? WHERE id = ?", (now_iso(), import_id))
        from shopai.store.title_keys import fill_title_keys

        fill_title_keys(conn)  # titles put back: their sort keys again
    return counts


def _drop_unused_categories(conn, import_id: int, created: list[int]) -> tuple[int, int]:
    """Delete the categories an import created (and those an earlier undo kept) that nothing uses any more.

    A category stays while a product is in it or a category that stays lies below it: the products an undo
    keeps (later orders name them) keep their place in the tree, so an export still writes "Home > Mugs".
    The change rows of the categories deleted go too, so the ones left name exactly what an undo kept: a
    later undo (the orders that held those products) deletes them once their products have gone.
    Returns (deleted, kept of this import's)."""
    kept_before = [r[0] for r in conn.execute(
        "SELECT c.row_id FROM import_changes c JOIN imports i ON i.id = c.import_id WHERE c.table_name = "
        "'categories' AND c.before_json = 'null' AND i.undone_at IS NOT NULL AND c.import_id != ?", (import_id,))]
    tree = {cid: (name, parent) for cid, name, parent in conn.execute("SELECT id, name, parent_id FROM categories")}
    candidates = {cid for cid in (*created, *kept_before) if cid in tree}
    if not candidates:
        return 0, 0
    used = {r[0] for r in conn.execute("SELECT DISTINCT category FROM products WHERE category IS NOT NULL")}
    stay = {cid for cid in tree if cid not in candidates or tree[cid][0] in used}
    for cid in list(stay):  # every category above one that stays stays too
        seen = set()
        parent = tree[cid][1]
        while parent in tree and parent not in seen:
            seen.add(parent)
            stay.add(parent)
            parent = tree[parent][1]
    gone = sorted(candidates - stay)
    for chunk, marks in in_chunks(gone):
        conn.execute(f"DELETE FROM categories WHERE id IN ({marks})", chunk)
        conn.execute(f"DELETE FROM import_changes WHERE table_name = 'categories' AND before_json = 'null' "
                     f"AND row_id IN ({marks})", chunk)
    return len(gone), sum(1 for cid in created if cid in tree and cid in stay)


def record_change(conn, import_id: int, table: str, row_id: int, before: dict[str, Any] | None) -> None:
    conn.execute("INSERT INTO import_changes (import_id, table_name, row_id, before_json) VALUES (?, ?, ?, ?)",
                 (import_id, table, row_id, json.dumps(before, ensure_ascii=False)))


def sample_dicts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(r) for r in rows[:SAMPLE_ROWS]]


def start_preview(path: str | os.PathLike, kind: str, mapping: dict[str, str | None] | None):
    """Open ``path`` for a dry run of a ``kind`` import: (source, preview with what is known so far).

    When a required field has no column, the preview already holds that one problem and the row count.
    """
    src = open_source(path, kind, mapping)
    fields, required = formats.fields_for(kind)
    pv = ImportPreview(kind=kind, format=src.format, encoding=src.table.encoding,
                       delimiter=src.table.delimiter, columns=list(src.table.header), mapping=src.mapping,
                       fields=fields, required_fields=required,
                       fallback={f: [src.table.header[j] for j in cols] for f, cols in src.fallback.items()})
    missing = missing_fields(kind, src.mapping)
    if missing:
        pv.rows_total = sum(1 for _ in src.table.records())
        pv.rows_total += sum(1 for p in src.table.problems if p.skipped)  # broken rows are rows too
        pv.problems = [RowProblem(0, "no column chosen for " + ", ".join(formats.FIELD_LABELS[f]
                                                                         for f in missing))]
    return src, pv

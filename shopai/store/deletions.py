"""Deleting products so that the delete can be undone, even after the app was closed.

A delete keeps, in one row of ``product_deletions``, everything it takes away: the products' rows, the rows of
every table that goes with them (``ON DELETE CASCADE``: price history, category suggestions and decisions,
photo embeddings; found from the schema, so a table added later is kept too) and the order lines that named
them. :func:`undo_deletion` puts them all back, with their ids where those are still free, and the order lines
point at their products again. The last :data:`KEEP` deletions are kept, up to :data:`KEEP_BYTES`. :func:`delete_job` and
:func:`undo_job` do the same as jobs, for a worker thread (100,000 products take seconds).
"""
from __future__ import annotations

import base64
import json
import sqlite3
import zlib
from dataclasses import dataclass
from typing import Any, Iterable

import sqlite_utils

from shopai.jobs import Job, Progress, UserError
from shopai.store.db import connect, in_chunks, transaction
from shopai.store.products import FastProductInsert, now_iso

KEEP = 20  # deletions that can still be undone; older ones are forgotten
KEEP_BYTES = 32 * 1024 * 1024  # and no more than this many bytes of them; the newest is kept whatever its size


@dataclass(frozen=True)
class Deletion:
    """One delete that can be undone: its id, how many products, when, and the first titles (to name it)."""

    id: int
    count: int
    deleted_at: str
    titles: list[str]


def delete_products(db: sqlite_utils.Database, product_ids: Iterable[int]) -> Deletion | None:
    """Delete products in one transaction, keeping what :func:`undo_deletion` needs. Their order lines keep
    the product's SKU and title (``deleted_sku`` / ``deleted_title``). None when none of the ids exists."""
    ids = list(dict.fromkeys(int(i) for i in product_ids))
    with transaction(db) as conn:
        kept: dict[str, Any] = {"products": [], "tables": {}, "order_lines": []}
        cascading = _cascading_tables(conn)
        for chunk, marks in in_chunks(ids):
            kept["products"] += _rows(conn, f"SELECT * FROM products WHERE id IN ({marks})", chunk)
            for table in cascading:
                kept["tables"].setdefault(table, []).extend(
                    _rows(conn, f"SELECT * FROM {table} WHERE product_id IN ({marks})", chunk))
            kept["order_lines"] += [list(r) for r in conn.execute(  # [line id, product id]
                f"SELECT id, product_id FROM order_lines WHERE product_id IN ({marks})", chunk)]
        if not kept["products"]:
            return None
        remove_products(conn, ids)
        when = now_iso()
        count = len(kept["products"])
        titles = [p["title"] for p in kept["products"][:3]]
        deletion_id = conn.execute(
            "INSERT INTO product_deletions (deleted_at, count, titles, payload) VALUES (?, ?, ?, ?)",
            (when, count, json.dumps(titles, ensure_ascii=False), _pack(kept))).lastrowid
        _forget_old(conn)
    return Deletion(deletion_id, count, when, titles)


def _forget_old(conn: sqlite3.Connection) -> None:
    """Forget all but the last :data:`KEEP` deletions, and older ones past :data:`KEEP_BYTES` in all."""
    total, forget = 0, []
    sizes = conn.execute("SELECT id, length(payload) FROM product_deletions ORDER BY id DESC").fetchall()
    for n, (deletion_id, size) in enumerate(sizes):
        total += size or 0
        if n >= KEEP or (n > 0 and total > KEEP_BYTES):
            forget.append(deletion_id)
    for chunk, marks in in_chunks(forget):
        conn.execute(f"DELETE FROM product_deletions WHERE id IN ({marks})", chunk)


def remove_products(conn: sqlite3.Connection, ids: list[int]) -> None:
    """The delete itself, inside the caller's transaction: the order lines keep the product's SKU and title,
    the rows go (and what cascades from them). Nothing is kept for an undo."""
    for chunk, marks in in_chunks(ids):
        conn.execute(
            "UPDATE order_lines SET deleted_sku = (SELECT sku FROM products p WHERE p.id = product_id), "
            f"deleted_title = (SELECT title FROM products p WHERE p.id = product_id) WHERE product_id IN ({marks})",
            chunk)
        conn.execute(f"DELETE FROM products WHERE id IN ({marks})", chunk)


def last_deletion(db: sqlite_utils.Database) -> Deletion | None:
    """The newest delete not undone yet, or None."""
    row = db.conn.execute("SELECT id, count, deleted_at, titles FROM product_deletions WHERE undone_at IS NULL "
                          "ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else Deletion(row[0], row[1], row[2], json.loads(row[3]))


@dataclass(frozen=True)
class Restored:
    """What an undo put back: product ids (old id → id now), and the SKUs left out because the catalog has a
    product with that SKU again."""

    ids: dict[int, int]
    skipped_skus: list[str]


def undo_deletion(db: sqlite_utils.Database, deletion_id: int) -> Restored:
    """Put back the products of one delete, with everything that went with them, in one transaction."""
    from shopai.store.title_keys import fill_title_keys

    with transaction(db) as conn:
        row = conn.execute("SELECT payload, undone_at FROM product_deletions WHERE id = ?", (deletion_id,)).fetchone()
        if row is None:
            raise UserError("That delete can no longer be undone (only the last 20 are kept).")
        if row[1] is not None:
            raise UserError("That delete was already undone.")
        kept = read_payload(row[0])
        taken_skus = _existing(conn, "products", "sku", [p["sku"] for p in kept["products"]])
        skipped = [p["sku"] for p in kept["products"] if p["sku"] in taken_skus]
        back = [p for p in kept["products"] if p["sku"] not in taken_skus]
        fast = FastProductInsert(conn, None, len(back))  # the search index filled once, not row by row
        new_id = _insert_all(conn, "products", back, "id")
        fast.finish(list(new_id.values()))
        for table, rows in kept["tables"].items():
            if _table_exists(conn, table):
                _insert_all(conn, table, [{**r, "product_id": new_id[r["product_id"]]} for r in rows
                                          if r["product_id"] in new_id], _surrogate_key(conn, table))
        # the order lines name their product again (a line that an import has tied to another product since stays)
        conn.executemany("UPDATE order_lines SET product_id = ?, deleted_sku = NULL, deleted_title = NULL "
                         "WHERE id = ? AND product_id IS NULL",
                         [(new_id[pid], line_id) for line_id, pid in kept["order_lines"] if pid in new_id])
        fill_title_keys(conn)
        conn.execute("UPDATE product_deletions SET undone_at = ? WHERE id = ?", (now_iso(), deletion_id))
    return Restored(new_id, skipped)


def delete_job(db_path: str, product_ids: Iterable[int]) -> Job[Deletion | None]:
    """:func:`delete_products` as a job (its own connection); it cannot be cancelled once it has started."""
    ids = list(product_ids)
    yield Progress(0, None, f"Deleting {len(ids):,} products", commit=True)
    db = connect(db_path)
    try:
        return delete_products(db, ids)
    finally:
        db.conn.close()


def undo_job(db_path: str, deletion_id: int) -> Job[Restored]:
    """:func:`undo_deletion` as a job (its own connection); it cannot be cancelled once it has started."""
    yield Progress(0, None, "Putting the deleted products back", commit=True)
    db = connect(db_path)
    try:
        return undo_deletion(db, deletion_id)
    finally:
        db.conn.close()


# -- helpers -------------------------------------------------------------------------------------------------
def _pack(kept: dict[str, Any]) -> bytes:
    """What a delete keeps, as compressed JSON (about a tenth of the JSON's size, at the fastest level)."""
    return zlib.compress(json.dumps(kept, ensure_ascii=False).encode("utf-8"), 1)


def read_payload(payload: bytes | str) -> dict[str, Any]:
    """What a delete kept, from its ``payload`` column (compressed JSON; plain JSON read too)."""
    return json.loads(zlib.decompress(payload) if isinstance(payload, bytes) else payload)


def _rows(conn: sqlite3.Connection, sql: str, params: list) -> list[dict[str, Any]]:
    """Rows as dicts that JSON can hold (a BLOB, such as a photo embedding, as ``{"base64": ...}``)."""
    cur = conn.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [{k: {"base64": base64.b64encode(v).decode("ascii")} if isinstance(v, bytes) else v
             for k, v in zip(names, r)} for r in cur.fetchall()]


def _value(v: Any) -> Any:
    return base64.b64decode(v["base64"]) if isinstance(v, dict) and "base64" in v else v


def _cascading_tables(conn: sqlite3.Connection) -> list[str]:
    """Tables whose rows go with a deleted product (a ``product_id`` foreign key with ON DELETE CASCADE)."""
    out = []
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"):
        for fk in conn.execute(f"PRAGMA foreign_key_list('{table}')"):
            if fk[2] == "products" and fk[3] == "product_id" and fk[6].upper() == "CASCADE":
                out.append(table)
                break
    return out


def _table_exists(conn: sqlite3.Connection, table: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone() is not None


def _surrogate_key(conn: sqlite3.Connection, table: str) -> str | None:
    """The table's own integer id column, if its primary key is one (not ``product_id``)."""
    pk = [r[1] for r in conn.execute(f"PRAGMA table_info('{table}')") if r[5]]
    return pk[0] if len(pk) == 1 and pk[0] != "product_id" else None


def _existing(conn: sqlite3.Connection, table: str, column: str, values: list) -> set:
    """Which of ``values`` the table's ``column`` holds now."""
    out: set = set()
    for chunk, marks in in_chunks(values):
        out.update(r[0] for r in conn.execute(f"SELECT {column} FROM {table} WHERE {column} IN ({marks})", chunk))
    return out


def _insert_all(conn: sqlite3.Connection, table: str, rows: list[dict[str, Any]],
                surrogate: str | None) -> dict[int, int]:
    """Insert ``rows``, each with its own id (``surrogate``) where that is free, else with a new one; returns
    {old id: id now}. Columns the table no longer has are left out."""
    if not rows:
        return {}
    have = [r[1] for r in conn.execute(f"PRAGMA table_info('{table}')")]
    cols = [c for c in have if c in rows[0]]
    # a row it pointed to that is gone since (another table's foreign key): pointed at nothing, as SQLite's
    # ON DELETE SET NULL would have done
    for fk in conn.execute(f"PRAGMA foreign_key_list('{table}')").fetchall():
        parent, column, parent_column = fk[2], fk[3], fk[4] or "id"
        if column == "product_id" or column not in cols:
            continue
        there = _existing(conn, parent, parent_column, list({r[column] for r in rows if r[column] is not None}))
        rows = [r if r[column] is None or r[column] in there else {**r, column: None} for r in rows]
    taken = _existing(conn, table, surrogate, [r[surrogate] for r in rows]) if surrogate else set()
    keep = [r for r in rows if surrogate is None or r[surrogate] not in taken]
    conn.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                     [[_value(r.get(c)) for c in cols] for r in keep])
    ids = {r[surrogate]: r[surrogate] for r in keep} if surrogate else {}
    fresh = [c for c in cols if c != surrogate]
    for r in rows:
        if surrogate is not None and r[surrogate] in taken:  # its id went to another row meanwhile: a new one
            cur = conn.execute(f"INSERT INTO {table} ({', '.join(fresh)}) VALUES ({', '.join('?' * len(fresh))})",
                               [_value(r.get(c)) for c in fresh])
            ids[r[surrogate]] = cur.lastrowid
    return ids

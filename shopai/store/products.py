"""Catalog queries: search (FTS5), ordered ids for lazy tables, row fetches, add/edit/delete."""
from __future__ import annotations

import bisect
import math
import re
import unicodedata
import sqlite3
from datetime import datetime
from typing import Any, Iterable

import sqlite_utils

from shopai.jobs import UserError
from shopai.store.db import in_chunks, like_pattern, transaction

PRODUCT_COLUMNS = (
    "id", "sku", "title", "description", "category", "price", "cost", "stock", "image_path",
    "created_at", "updated_at", "vendor", "status",
)
EDITABLE = ("sku", "title", "description", "category", "price", "cost", "stock", "image_path", "vendor", "status")
SORTABLE = {"sku", "title", "category", "price", "cost", "stock", "created_at", "updated_at", "id", "vendor",
            "status"}
#: A product's listing status: only active products are offered to customers (recommendations); drafts (not
#: published yet) and archived ones (no longer sold) stay in the catalog with their sales history.
STATUSES = ("active", "draft", "archived")
STOCK_LIMIT = 1_000_000_000  # SQLite's integers end at 2**63; no shop counts stock beyond this

_TOKEN = re.compile(r"[^\W_]+")  # letters and digits, as FTS5's unicode61 splits words
# Chinese characters (and Japanese kana) are written without spaces: unicode61 keeps a whole run as one
# token, so a word inside "景德镇青花瓷杯" is no token's prefix. Such words are looked for inside the text.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_SEARCHED = ("title", "sku", "description", "category", "vendor")


def now_iso() -> str:
    return datetime.now().strftime("%Y-%m-%dT%H:%M:%S")


def fts_query(text: str, conn: sqlite3.Connection | None = None) -> str | None:
    """Turn what a person typed into a safe FTS5 query: every word must match, each as a prefix (an owner
    types the start of words). None when there is nothing to search for (empty, or only punctuation).

    With ``conn``, a word also matches where it follows Chinese characters in the shop's text ("mug" finds
    "青花mug", "iphone" finds "手机壳iPhone15"): unicode61 keeps such a run as one term."""
    # A word with inner punctuation ("t-light", "3.5") is one phrase of its parts, so "t-light" does not
    # become "t*" AND "light*" (which finds every product with a word starting with t).
    phrases = [" ".join(_TOKEN.findall(word)) for word in (text or "").split()]
    phrases = [p for p in phrases if p]
    if not phrases:
        return None
    parts = []
    for phrase in phrases:
        mixed = _terms_after_cjk(conn, phrase) if conn is not None and " " not in phrase else []
        parts.append(f'("{phrase}"* OR ' + " OR ".join(f'"{t}"' for t in mixed) + ")" if mixed
                     else f'"{phrase}"*')
    return " AND ".join(parts)


_CJK_RANGE = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_AFTER_CJK = re.compile(f"(?<=[{_CJK_RANGE}])[^\\W_{_CJK_RANGE}]+")  # a Latin (or digit) run after one
_MIXED_TERMS = 64  # at most this many such terms per word (a short word could be inside thousands)
# per connection: (the connection, its data version when read, sorted (Latin run, term) pairs)
_mixed_index: dict[int, tuple[sqlite3.Connection, tuple[int, int], list[tuple[str, str]]]] = {}


def _terms_after_cjk(conn: sqlite3.Connection, word: str) -> list[str]:
    """The shop's index terms that hold ``word`` (as a prefix) right after a Chinese or Japanese character:
    "青花mug" for "mu". They are read once per change of the shop (one pass over the terms from U+3040 on,
    the only ones that can hold such a run: none in a shop without such text) and kept per connection."""
    version = (conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes)
    cached = _mixed_index.get(id(conn))
    if cached is None or cached[0] is not conn or cached[1] != version:
        conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.products_terms "
                     "USING fts5vocab(main, products_fts, 'row')")
        rows = conn.execute("SELECT term FROM temp.products_terms WHERE term >= ? AND term GLOB ?",
                            ("\u3040", f"*[{_CJK_RANGE}][a-z0-9]*"))
        pairs = sorted({(run, term) for (term,) in rows if '"' not in term for run in _AFTER_CJK.findall(term)})
        version = (conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes)
        if len(_mixed_index) >= 8:  # a few shops per process; drop the oldest
            _mixed_index.pop(next(iter(_mixed_index)))
        _mixed_index[id(conn)] = cached = (conn, version, pairs)
    pairs, word = cached[2], word.lower()
    out: list[str] = []
    for run, term in pairs[bisect.bisect_left(pairs, (word, "")):]:
        if not run.startswith(word) or len(out) >= _MIXED_TERMS:
            break
        if term not in out:
            out.append(term)
    return out


def _half_width(text: str) -> str:
    """Full-width letters and digits, as a Chinese or Japanese input method types them ("ｉｐｈｏｎｅ"), as ASCII."""
    return unicodedata.normalize("NFKC", text) if any("\uff00" <= ch <= "\uffef" for ch in text) else text


def _split_query(text: str, conn: sqlite3.Connection | None = None) -> tuple[str | None, list[str]]:
    """(FTS5 query for the words without Chinese characters, the words with them: each must occur in
    the title, SKU, description, category or vendor)."""
    plain, cjk = [], []
    for word in _half_width(text or "").split():
        tokens = _TOKEN.findall(word)
        cjk += [t for t in tokens if _CJK.search(t)]
        plain.append("-".join(t for t in tokens if not _CJK.search(t)))
    return fts_query(" ".join(plain), conn), cjk


def _contains(words: list[str]) -> tuple[str, list[str]]:
    """SQL (on ``p``) true when every one of ``words`` occurs in one of the searched columns, and its params."""
    sql, params = [], []
    for word in words:
        sql.append("(" + " OR ".join(f"p.{c} LIKE ? ESCAPE '\\'" for c in _SEARCHED) + ")")
        params += [like_pattern(word, prefix=False)] * len(_SEARCHED)
    return " AND ".join(sql), params


def match_where(db: sqlite_utils.Database, text: str) -> tuple[list[str], list[Any]]:
    """SQL conditions on ``products p`` (to AND together) for the products a search for ``text`` finds, as
    the catalog's search box finds them, and their parameters; none for an empty search."""
    where: list[str] = []
    params: list[Any] = []
    query, words = _split_query(text, db.conn)
    if query:
        where.append("p.id IN (SELECT rowid FROM products_fts WHERE products_fts MATCH ?)")
        params.append(query)
    if words:
        sql, word_params = _contains(words)
        # Only FTS hits are checked when there are other words; alone, one pass over the table (then a sort)
        # is 3x faster than walking the title index and looking up every row.
        where.append(sql if query else f"p.id IN (SELECT p.id FROM products p WHERE {sql})")
        params += word_params
    return where, params


def search_ids(
    db: sqlite_utils.Database,
    text: str = "",
    order_by: str = "title",
    descending: bool = False,
    category: str | None = None,
    limit: int | None = None,
    status: str | None = None,
) -> list[int]:
    """Product ids matching ``text`` (FTS5), ``category`` and ``status`` (one of STATUSES), sorted in SQL."""
    if order_by not in SORTABLE:
        raise ValueError(f"cannot sort by {order_by!r}")
    if status is not None and status not in STATUSES:
        raise ValueError(f"no status {status!r}")
    where, params = match_where(db, text)
    if category:
        where.append("p.category = ?")
        params.append(category)
    if status:
        where.append("p.status = ?")
        params.append(status)
    sql = "SELECT p.id FROM products p"
    if where:
        sql += " WHERE " + " AND ".join(where)
    collate = " COLLATE NOCASE" if order_by in {"sku", "title", "category", "vendor"} else ""
    direction = "DESC" if descending else "ASC"
    # a Chinese title sorts by its pinyin (shopai.store.title_keys); the expression is the index's
    column = "coalesce(p.title_key, p.title)" if order_by == "title" else f"p.{order_by}"
    sql += f" ORDER BY {column}{collate} {direction}, p.id {direction}"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [r[0] for r in db.conn.execute(sql, params)]


def search(db: sqlite_utils.Database, text: str, limit: int = 20) -> list[dict[str, Any]]:
    """Best matches for ``text``, ranked by FTS5's bm25 (title weighted highest); with only Chinese words,
    those found in the title first."""
    query, words = _split_query(text, db.conn)
    if not query and not words:
        return []
    contains, params = _contains(words)
    rank = "bm25(products_fts, 2.0, 10.0, 1.0, 3.0, 3.0)"  # sku, title, description, category, vendor
    if not words:
        # Rank inside FTS first and join products only for the few rows returned.
        sql = (
            f"SELECT p.*, m.rank FROM (SELECT rowid, {rank} AS rank "
            "FROM products_fts WHERE products_fts MATCH ? ORDER BY rank LIMIT ?) m "
            "JOIN products p ON p.id = m.rowid ORDER BY m.rank"
        )
        params = [query, limit]
    elif query:
        sql = (
            f"SELECT p.*, m.rank FROM (SELECT rowid, {rank} AS rank FROM products_fts "
            f"WHERE products_fts MATCH ?) m JOIN products p ON p.id = m.rowid WHERE {contains} ORDER BY m.rank LIMIT ?"
        )
        params = [query, *params, limit]
    else:
        # Only Chinese words, found inside the text (no FTS rank): those in the title first, shortest title first.
        sql = (
            f"SELECT p.*, NULL AS rank FROM products p WHERE {contains} "
            "ORDER BY instr(p.title, ?) = 0, length(p.title), p.title COLLATE NOCASE LIMIT ?"
        )
        params = [*params, words[0], limit]
    cur = db.conn.execute(sql, params)
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, row)) for row in cur]


def fetch_rows(db: sqlite_utils.Database, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Rows for ``ids`` keyed by id (ids that no longer exist are simply missing)."""
    out: dict[int, dict[str, Any]] = {}
    cols = ", ".join(PRODUCT_COLUMNS)
    for chunk, marks in in_chunks(ids):
        cur = db.conn.execute(f"SELECT {cols} FROM products WHERE id IN ({marks})", chunk)
        for row in cur:
            out[row[0]] = dict(zip(PRODUCT_COLUMNS, row))
    return out


def get(db: sqlite_utils.Database, product_id: int | None = None, sku: str | None = None) -> dict | None:
    cols = ", ".join(PRODUCT_COLUMNS)
    if product_id is not None:
        row = db.conn.execute(f"SELECT {cols} FROM products WHERE id = ?", (product_id,)).fetchone()
    else:
        row = db.conn.execute(f"SELECT {cols} FROM products WHERE sku = ?", (sku,)).fetchone()
    return dict(zip(PRODUCT_COLUMNS, row)) if row else None


def validate(fields: dict[str, Any]) -> dict[str, Any]:
    """Clean and check product fields a person entered; raises UserError in plain words."""
    clean = {k: v for k, v in fields.items() if k in EDITABLE}
    for key in ("sku", "title"):
        if key in clean:
            clean[key] = (clean[key] or "").strip()
            if not clean[key]:
                raise UserError(f"A product needs a {key.upper() if key == 'sku' else key}.")
    for key in ("price", "cost"):
        if key in clean and clean[key] not in (None, ""):
            try:
                clean[key] = float(clean[key])
            except (TypeError, ValueError):
                raise UserError(f"The {key} must be a number.") from None
            if not math.isfinite(clean[key]):  # "nan", "inf", "1e400": SQLite would store NULL or inf
                raise UserError(f"The {key} must be a number.")
            if clean[key] < 0:
                raise UserError(f"The {key} cannot be negative.")
        elif key in clean:
            clean[key] = None
    if "stock" in clean and clean["stock"] not in (None, ""):
        try:
            clean["stock"] = int(clean["stock"])
        except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
            raise UserError("Stock must be a whole number.") from None
        if abs(clean["stock"]) > STOCK_LIMIT:
            raise UserError(f"Stock must be a whole number between {-STOCK_LIMIT:,} and {STOCK_LIMIT:,}.")
    elif "stock" in clean:
        clean["stock"] = None
    if "description" in clean and clean["description"] is None:
        clean["description"] = ""
    if "vendor" in clean:
        clean["vendor"] = (clean["vendor"] or "").strip() or None
    if "status" in clean:
        clean["status"] = (clean["status"] or "active").strip().lower()
        if clean["status"] not in STATUSES:
            raise UserError("The status must be active, draft or archived.")
    return clean


def add(db: sqlite_utils.Database, **fields: Any) -> int:
    """Add a product; returns its id. Raises UserError for a duplicate SKU or bad values."""
    clean = validate(fields)
    if "sku" not in clean or "title" not in clean:
        raise UserError("A product needs a SKU and a title.")
    if get(db, sku=clean["sku"]):
        raise UserError(f"There is already a product with SKU {clean['sku']}.")
    cols = ", ".join(clean)
    marks = ", ".join("?" * len(clean))
    with transaction(db) as conn:
        cur = conn.execute(f"INSERT INTO products ({cols}) VALUES ({marks})", list(clean.values()))
        product_id = cur.lastrowid
        _set_title_key(conn, product_id, clean["title"])
        if clean.get("price") is not None:
            conn.execute(
                "INSERT INTO price_history (product_id, price, changed_at, source) VALUES (?, ?, ?, 'edit')",
                (product_id, clean["price"], now_iso()),
            )
    return product_id


def _set_title_key(conn, product_id: int, title: str) -> None:
    from shopai.store.title_keys import title_key

    key = title_key(title)
    if key is not None:
        conn.execute("UPDATE products SET title_key = ? WHERE id = ?", (key, product_id))


def update(db: sqlite_utils.Database, product_id: int, **fields: Any) -> None:
    """Change a product's fields; a price change is recorded in price_history."""
    clean = validate(fields)
    before = get(db, product_id=product_id)
    if before is None:
        raise UserError("That product no longer exists.")
    if "sku" in clean and clean["sku"] != before["sku"] and get(db, sku=clean["sku"]):
        raise UserError(f"There is already a product with SKU {clean['sku']}.")
    if not clean:
        return
    sets = ", ".join(f"{k} = ?" for k in clean)
    with transaction(db) as conn:
        conn.execute(
            f"UPDATE products SET {sets}, updated_at = ? WHERE id = ?",
            [*clean.values(), now_iso(), product_id],
        )
        if "title" in clean:  # (the trigger emptied the old key)
            _set_title_key(conn, product_id, clean["title"])
        if "price" in clean and clean["price"] is not None and clean["price"] != before["price"]:
            conn.execute(
                "INSERT INTO price_history (product_id, price, changed_at, source) VALUES (?, ?, ?, 'edit')",
                (product_id, clean["price"], now_iso()),
            )


ANY_NOT_ACTIVE = "SELECT EXISTS (SELECT 1 FROM products WHERE status != 'active')"


def any_not_active(db: sqlite_utils.Database) -> bool:
    """Whether the shop has a draft or an archived product (read from a partial index: instant)."""
    return bool(db.conn.execute(ANY_NOT_ACTIVE).fetchone()[0])


def set_status(db: sqlite_utils.Database, product_ids: Iterable[int], status: str) -> int:
    """Give these products ``status`` (one of STATUSES) in one transaction; returns how many changed."""
    if status not in STATUSES:
        raise UserError("The status must be active, draft or archived.")
    with transaction(db) as conn:
        return _set_status(conn, product_ids, status)


def _set_status(conn, product_ids: Iterable[int], status: str) -> int:
    n = 0
    for chunk, marks in in_chunks(product_ids):
        n += conn.execute(f"UPDATE products SET status = ?, updated_at = ? WHERE status != ? AND id IN ({marks})",
                          [status, now_iso(), status, *chunk]).rowcount
    return n


def statuses(db: sqlite_utils.Database, product_ids: Iterable[int]) -> dict[int, str]:
    """{id: status} of these products (ids that no longer exist are missing)."""
    out: dict[int, str] = {}
    for chunk, marks in in_chunks(product_ids):
        out.update(db.conn.execute(f"SELECT id, status FROM products WHERE id IN ({marks})", chunk).fetchall())
    return out


def restore_statuses(db: sqlite_utils.Database, before: dict[int, str]) -> int:
    """Give each product back its status in ``before`` (what :func:`statuses` read), in one transaction; returns
    how many changed (an undo of :func:`set_status`)."""
    by_status: dict[str, list[int]] = {}
    for pid, status in before.items():
        if status in STATUSES:
            by_status.setdefault(status, []).append(pid)
    with transaction(db) as conn:
        return sum(_set_status(conn, ids, status) for status, ids in by_status.items())


def delete(db: sqlite_utils.Database, product_ids: Iterable[int]) -> int:
    """Delete products (a delete that can be undone: :mod:`shopai.store.deletions`); their order lines keep
    their history, and the product's SKU and title with it. Returns how many."""
    from shopai.store.deletions import delete_products

    deletion = delete_products(db, product_ids)
    return deletion.count if deletion else 0


def categories(db: sqlite_utils.Database) -> list[str]:
    """Category names in use by products or defined in the category tree."""
    rows = db.conn.execute(
        "SELECT name FROM categories UNION SELECT DISTINCT category FROM products "
        "WHERE category IS NOT NULL AND category != '' ORDER BY 1 COLLATE NOCASE"
    )
    return [r[0] for r in rows]


def choices(db: sqlite_utils.Database, text: str = "", limit: int = 50) -> list[dict[str, Any]]:
    """Products for a picker: the best FTS matches for ``text``, or the first by title when empty."""
    if fts_query(text):
        return search(db, text, limit)
    return list(fetch_rows(db, search_ids(db, "", order_by="title", limit=limit)).values())


class FastProductInsert:
    """Inside one transaction: bulk-insert products with the FTS insert trigger set aside, then index all
    rows of this import in one statement and put the trigger back (about 5x faster than the per-row trigger
    for large imports). Small imports keep the trigger. A rollback restores the trigger too."""

    TRIGGER = "products_ai"

    def __init__(self, conn, import_id: int | None, expected: int, threshold: int = 1000):
        self.conn, self.import_id = conn, import_id
        self.trigger_sql = None
        if expected >= threshold:
            row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                               (self.TRIGGER,)).fetchone()
            if row:
                self.trigger_sql = row[0]
                conn.execute(f"DROP TRIGGER {self.TRIGGER}")

    def finish(self, ids: list[int] | None = None) -> None:
        """Index the rows inserted meanwhile: this import's, or the products ``ids`` (an undone delete's)."""
        if self.trigger_sql is None:
            return
        select = ("INSERT INTO products_fts (rowid, sku, title, description, category, vendor) "
                  "SELECT id, sku, title, description, coalesce(category, ''), coalesce(vendor, '') FROM products ")
        if ids is None:
            self.conn.execute(select + "WHERE import_id = ?", (self.import_id,))
        else:
            for chunk, marks in in_chunks(ids):
                self.conn.execute(select + f"WHERE id IN ({marks})", chunk)
        self.conn.execute(self.trigger_sql)
        self.trigger_sql = None

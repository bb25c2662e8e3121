"""Sorting Chinese titles by their pinyin, as Chinese readers (and Excel) expect.

SQLite compares text by code point, which for Chinese characters is no order a reader knows: "苹果" before
"香蕉" before "橙子" is as good as random. Each title with Chinese characters gets a sort key in
``products.title_key``, its characters written in pinyin with tone numbers ("ping2 guo3"), other characters
as they are, and the Catalog sorts by ``coalesce(title_key, title)``: Chinese titles fall among the Latin
ones by their sound (苹果 among the P's), titles without Chinese sort as before and pay nothing.

A trigger empties the key when a title changes (whatever writes it); :func:`fill_title_keys` computes the
missing ones. It runs after every write of ShopAI's own that can add or rename products, when the key
column is first added, and when the app opens a shop (:func:`fill_when_opening`), so a title renamed by
another program is put in order then; a partial index holding only the titles still waiting for their key
(migration core_0008) makes that a lookup instead of a read of every product.
"""
from __future__ import annotations

import re
import sqlite3
from functools import lru_cache

import sqlite_utils

# Chinese characters: CJK Unified Ideographs and Extension A, and the compatibility ideographs (a GLOB class
# for SQLite, a regex for Python)
CJK_GLOB = "*[㐀-䶿一-鿿豈-﫿]*"
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# the Chinese titles still without their key: written out (not bound) so SQLite can use the partial index on it
DUE = f"title_key IS NULL AND title GLOB '{CJK_GLOB}'"


@lru_cache(maxsize=65536)
def title_key(title: str | None) -> str | None:
    """The sort key of ``title``: None when it has no Chinese characters (it sorts as itself)."""
    if not title or not _CJK.search(title):
        return None
    from pypinyin import Style, lazy_pinyin

    # lazy_pinyin keeps a run of other characters as one item ("iPhone15"): each item is one word of the key
    return " ".join(part.strip() for part in lazy_pinyin(title, style=Style.TONE3, neutral_tone_with_five=True)
                    if part.strip()).lower()


def fill_title_keys(conn: sqlite3.Connection) -> int:
    """Compute the sort key of every Chinese title that lacks one; returns how many. Leaves ``updated_at``
    alone (the product did not change). Run it inside the caller's transaction or on its own."""
    rows = conn.execute(f"SELECT id, title FROM products WHERE {DUE}").fetchall()
    if rows:
        conn.executemany("UPDATE products SET title_key = ? WHERE id = ?", [(title_key(t), i) for i, t in rows])
    return len(rows)


def add_title_keys(conn: sqlite3.Connection) -> None:
    """Migration core_0005: the key column, its index, the trigger that empties it, and the keys."""
    conn.execute("ALTER TABLE products ADD COLUMN title_key TEXT")
    conn.execute("CREATE INDEX products_title_sort ON products(coalesce(title_key, title) COLLATE NOCASE)")
    conn.execute("CREATE TRIGGER products_title_key AFTER UPDATE OF title ON products "
                 "WHEN new.title IS NOT old.title BEGIN UPDATE products SET title_key = NULL WHERE id = new.id; END")
    fill_title_keys(conn)


def fill_when_opening(db: sqlite_utils.Database) -> int:
    """:func:`fill_title_keys` for a shop being opened, in a transaction of its own; a shop that cannot be
    written now (read-only, busy) keeps its keys for later. Returns how many were filled."""
    from shopai.store.db import transaction

    try:
        if db.conn.execute(f"SELECT 1 FROM products WHERE {DUE} LIMIT 1").fetchone() is None:
            return 0
        with transaction(db) as conn:
            return fill_title_keys(conn)
    except sqlite3.OperationalError:
        return 0

"""Schema and migrations. ``PRAGMA user_version`` is the number of migrations applied.

Migrations are append-only: never edit one that has shipped, add a new entry at the end.
"""
from __future__ import annotations

from typing import Any

import sqlite_utils

from shopai.store.title_keys import DUE as TITLE_KEY_DUE, add_title_keys  # (pypinyin: only for Chinese titles)

CORE_0001 = """
CREATE TABLE categories (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    parent_id INTEGER REFERENCES categories(id) ON DELETE SET NULL,
    source TEXT NOT NULL DEFAULT 'shop'
);
CREATE TABLE imports (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    file TEXT NOT NULL,
    format TEXT,
    started_at TEXT NOT NULL,
    rows_ok INTEGER NOT NULL DEFAULT 0,
    rows_skipped INTEGER NOT NULL DEFAULT 0,
    undone_at TEXT
);
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    sku TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    category TEXT,
    price REAL,
    cost REAL,
    stock INTEGER,
    image_path TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%S', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%S', 'now')),
    import_id INTEGER REFERENCES imports(id) ON DELETE SET NULL
);
CREATE INDEX products_category ON products(category);
CREATE INDEX products_title ON products(title COLLATE NOCASE);
CREATE INDEX products_price ON products(price);
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    external_id TEXT NOT NULL UNIQUE,
    name TEXT,
    email TEXT,
    country TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%S', 'now')),
    import_id INTEGER REFERENCES imports(id) ON DELETE SET NULL
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    external_id TEXT NOT NULL UNIQUE,
    customer_id INTEGER REFERENCES customers(id) ON DELETE SET NULL,
    ordered_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'paid' CHECK (status IN ('paid', 'cancelled', 'returned')),
    total REAL NOT NULL DEFAULT 0,
    country TEXT,
    import_id INTEGER REFERENCES imports(id) ON DELETE SET NULL
);
CREATE INDEX orders_customer ON orders(customer_id, ordered_at);
CREATE INDEX orders_date ON orders(ordered_at);
CREATE TABLE order_lines (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    product_id INTEGER REFERENCES products(id) ON DELETE SET NULL,
    quantity REAL NOT NULL,
    unit_price REAL NOT NULL,
    ordered_at TEXT NOT NULL
);
CREATE INDEX order_lines_order ON order_lines(order_id);
CREATE INDEX order_lines_product ON order_lines(product_id, ordered_at);
CREATE TABLE price_history (
    id INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    price REAL NOT NULL,
    changed_at TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'edit'
);
CREATE INDEX price_history_product ON price_history(product_id, changed_at);
-- Rows an import changed (not created), with their values before, so the import can be undone.
CREATE TABLE import_changes (
    import_id INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    table_name TEXT NOT NULL,
    row_id INTEGER NOT NULL,
    before_json TEXT NOT NULL
);
CREATE INDEX import_changes_import ON import_changes(import_id);
-- Trained models and other app state, as JSON.
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE VIRTUAL TABLE products_fts USING fts5(
    sku, title, description, category,
    content='products', content_rowid='id',
    tokenize="unicode61 remove_diacritics 2", prefix='2 3'
);
CREATE TRIGGER products_ai AFTER INSERT ON products BEGIN
    INSERT INTO products_fts(rowid, sku, title, description, category)
    VALUES (new.id, new.sku, new.title, new.description, coalesce(new.category, ''));
END;
CREATE TRIGGER products_ad AFTER DELETE ON products BEGIN
    INSERT INTO products_fts(products_fts, rowid, sku, title, description, category)
    VALUES ('delete', old.id, old.sku, old.title, old.description, coalesce(old.category, ''));
END;
CREATE TRIGGER products_au AFTER UPDATE OF sku, title, description, category ON products BEGIN
    INSERT INTO products_fts(products_fts, rowid, sku, title, description, category)
    VALUES ('delete', old.id, old.sku, old.title, old.description, coalesce(old.category, ''));
    INSERT INTO products_fts(rowid, sku, title, description, category)
    VALUES (new.id, new.sku, new.title, new.description, coalesce(new.category, ''));
END;
"""

CUSTOMERS_0001 = """
-- Scores of the last 'train customers' run, one row per customer (see shopai.customers.train).
CREATE TABLE customer_scores (
    customer_id INTEGER PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    last_order TEXT NOT NULL,
    orders INTEGER NOT NULL,
    visits INTEGER NOT NULL,
    spend REAL NOT NULL,
    recency_days INTEGER NOT NULL,
    p_return_30d REAL,
    p_return_90d REAL,
    expected_spend_90d REAL,
    regular INTEGER NOT NULL DEFAULT 0,
    at_risk INTEGER NOT NULL DEFAULT 0,
    rfm TEXT,
    history TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX customer_scores_risk ON customer_scores(at_risk, p_return_30d);
"""

CORE_0003_VENDOR = """
ALTER TABLE products ADD COLUMN vendor TEXT;
DROP TRIGGER products_ai;
DROP TRIGGER products_ad;
DROP TRIGGER products_au;
DROP TABLE products_fts;
CREATE VIRTUAL TABLE products_fts USING fts5(
    sku, title, description, category, vendor,
    content='products', content_rowid='id',
    tokenize="unicode61 remove_diacritics 2", prefix='2 3'
);
CREATE TRIGGER products_ai AFTER INSERT ON products BEGIN
    INSERT INTO products_fts(rowid, sku, title, description, category, vendor)
    VALUES (new.id, new.sku, new.title, new.description, coalesce(new.category, ''), coalesce(new.vendor, ''));
END;
CREATE TRIGGER products_ad AFTER DELETE ON products BEGIN
    INSERT INTO products_fts(products_fts, rowid, sku, title, description, category, vendor)
    VALUES ('delete', old.id, old.sku, old.title, old.description, coalesce(old.category, ''),
            coalesce(old.vendor, ''));
END;
CREATE TRIGGER products_au AFTER UPDATE OF sku, title, description, category, vendor ON products BEGIN
    INSERT INTO products_fts(products_fts, rowid, sku, title, description, category, vendor)
    VALUES ('delete', old.id, old.sku, old.title, old.description, coalesce(old.category, ''),
            coalesce(old.vendor, ''));
    INSERT INTO products_fts(rowid, sku, title, description, category, vendor)
    VALUES (new.id, new.sku, new.title, new.description, coalesce(new.category, ''), coalesce(new.vendor, ''));
END;
INSERT INTO products_fts(products_fts) VALUES ('rebuild');
"""

# (name, sql or a function of the connection) in the order they apply. Append new migrations at the end; each capability that needs
# tables of its own adds one entry named after it (e.g. "recommend_0001").
MIGRATIONS: list[tuple[str, Any]] = [
    ("core_0001", CORE_0001),
    ("io_0001", "ALTER TABLE price_history ADD COLUMN import_id INTEGER REFERENCES imports(id) ON DELETE SET NULL;\n"
                "CREATE INDEX price_history_import ON price_history(import_id);"),
    ("customers_0001", CUSTOMERS_0001),
    ("forecast_0001", "CREATE TABLE forecast_fits (key TEXT NOT NULL, what TEXT NOT NULL, method TEXT NOT NULL, "
                      "last_week TEXT NOT NULL, format INTEGER NOT NULL, result_json TEXT NOT NULL, "
                      "fitted_at TEXT NOT NULL, PRIMARY KEY (key, what));"),
    ("categorize_0001", "CREATE TABLE categorize_suggestions (product_id INTEGER PRIMARY KEY REFERENCES products(id) "
                        "ON DELETE CASCADE, suggestions_json TEXT NOT NULL, top_category TEXT, confidence REAL, "
                        "status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','accepted','fixed','skipped')), "
                        "decided_category TEXT, created_at TEXT NOT NULL, decided_at TEXT);\n"
                        "CREATE INDEX categorize_suggestions_status ON categorize_suggestions(status, confidence);\n"
                        "CREATE TABLE categorize_decisions (id INTEGER PRIMARY KEY, product_id INTEGER NOT NULL "
                        "REFERENCES products(id) ON DELETE CASCADE, action TEXT NOT NULL, category TEXT, "
                        "previous_category TEXT, previous_status TEXT, created_product INTEGER NOT NULL DEFAULT 0, "
                        "at TEXT NOT NULL);\n"
                        "CREATE TABLE categorize_photos (product_id INTEGER PRIMARY KEY REFERENCES products(id) "
                        "ON DELETE CASCADE, image_path TEXT NOT NULL, dhash TEXT, embedding BLOB, draft INTEGER NOT NULL "
                        "DEFAULT 0, model_stamp TEXT, added_at TEXT NOT NULL);"),
    # a stored photo embedding is usable only with the photo model that made it (categorize_photos.model_stamp
    # = the bundle's stamp); before this, photo import left the stamp empty, so those are read again
    ("categorize_0002", "UPDATE categorize_photos SET embedding = NULL WHERE model_stamp IS NULL;"),
    # an order line keeps the SKU and title of a product deleted from the catalog (filled when it is deleted),
    # so past orders still say what was sold and export/re-import with it
    ("core_0002", "ALTER TABLE order_lines ADD COLUMN deleted_sku TEXT;\n"
                  "ALTER TABLE order_lines ADD COLUMN deleted_title TEXT;"),
    # a product's vendor / brand (Shopify's Vendor column), searched like its category: the search index gets
    # a fifth column, so it is made again and filled from the products
    ("core_0003", CORE_0003_VENDOR),
    # a product's listing status, as Shopify and WooCommerce keep it: drafts and archived products stay in the
    # catalog (and their sales in the history) but are not offered to customers
    ("core_0004", "ALTER TABLE products ADD COLUMN status TEXT NOT NULL DEFAULT 'active' "
                  "CHECK (status IN ('active', 'draft', 'archived'));"),
    # Chinese titles sort by their pinyin (shopai.store.title_keys)
    ("core_0005", add_title_keys),
    # the few drafts and archived products found without reading every product (the Catalog asks whether there
    # are any after each change)
    ("core_0006", "CREATE INDEX products_not_active ON products(status) WHERE status != 'active';"),
    # what a delete of products took away, so that it can be undone (shopai.store.deletions)
    ("core_0007", "CREATE TABLE product_deletions (id INTEGER PRIMARY KEY, deleted_at TEXT NOT NULL, "
                  "count INTEGER NOT NULL, titles TEXT NOT NULL, payload TEXT NOT NULL, undone_at TEXT);"),
    # the Chinese titles still waiting for their sort key, found without reading every product when a shop
    # opens (a title renamed by another program); the query must spell the same condition
    ("core_0008", f"CREATE INDEX products_title_key_due ON products(id) WHERE {TITLE_KEY_DUE};"),
    # -- new migrations go above this line --
]

SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(RuntimeError):
    """The database was written by a newer ShopAI than this one."""


def schema_version(db: sqlite_utils.Database) -> int:
    return db.conn.execute("PRAGMA user_version").fetchone()[0]


def pending_migrations(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    version = schema_version(db)
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"This shop was saved by a newer ShopAI (schema {version}, this version knows {SCHEMA_VERSION})."
        )
    return MIGRATIONS[version:]


def migrate(db: sqlite_utils.Database) -> int:
    """Apply every pending migration, each in its own transaction. Returns the number applied.

    The version is re-read inside each write transaction, so two processes opening the same shop
    at once never apply a migration twice.
    """
    pending_migrations(db)  # refuses a schema newer than this ShopAI
    applied = 0
    conn = db.conn
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = schema_version(db)
            if version >= SCHEMA_VERSION:
                conn.execute("COMMIT")
                return applied
            apply_migration(conn, MIGRATIONS[version][1])
            conn.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied += 1


def apply_migration(conn, migration) -> None:
    """Run one migration on ``conn``, inside the caller's transaction: a script, statement by statement
    (executescript would COMMIT first), or a function of the connection (one that computes values)."""
    if callable(migration):
        migration(conn)
        return
    for statement in _split_sql(migration):
        conn.execute(statement)


def _split_sql(script: str) -> list[str]:
    """Split a script into complete statements (triggers hold semicolons inside BEGIN … END)."""
    import sqlite3

    statements, buf = [], ""
    for line in script.splitlines(keepends=True):
        if not buf and line.strip().startswith("--"):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                statements.append(buf.strip())
            buf = ""
    if buf.strip():
        statements.append(buf.strip())
    return statements

"""What it costs to make deleting products undoable: a delete that keeps everything it takes away
(``shopai.store.deletions``) against the plain delete before it (order lines keep the SKU and title, the rows
go, nothing is kept), and the undo that puts them back.

The shop: ``--products`` made-up products (default 100,000, a big catalog) with one price-history row each
and, on every tenth, an order line; then all of them are deleted at once (Ctrl+A, Delete), the worst case.
Seconds, best of ``--repeat``; the last line is ``verdict: met`` when the undoable delete takes at most
``RATIO`` times the plain one and the undo under ``UNDO_S`` (both run in the background; the window only
waits for the result), else ``verdict: missed: <which>``.

    .venv/bin/python bench/delete_bench.py [--products 100000] [--repeat 2]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

RATIO = 3.0
UNDO_S = 10.0


def _shop(path: str, n: int):
    from shopai.store import open_store

    db = open_store(path)
    c = db.conn
    c.execute("BEGIN")
    c.executemany("INSERT INTO products (sku, title, description, category, price, created_at, updated_at) "
                  "VALUES (?, ?, ?, 'Decor', 2.5, '2026-01-01', '2026-01-01')",
                  [(f"S{i}", f"Made-up product number {i}", "An ordinary description of an ordinary product. " * 2)
                   for i in range(n)])
    c.execute("INSERT INTO price_history (product_id, price, changed_at) SELECT id, price, '2026-01-01' FROM products")
    c.execute("INSERT INTO customers (external_id) VALUES ('K1')")
    c.execute("INSERT INTO orders (external_id, customer_id, ordered_at, status, total) "
              "VALUES ('O1', 1, '2026-02-01T10:00:00', 'paid', 0)")
    c.execute("INSERT INTO order_lines (order_id, product_id, quantity, unit_price, ordered_at) "
              "SELECT 1, id, 1, price, '2026-02-01T10:00:00' FROM products WHERE id % 10 = 0")
    c.execute("COMMIT")
    return db


def _plain_delete(db, ids: list[int]) -> None:
    """The delete before undo existed: the same statements, without the record an undo needs."""
    from shopai.store.db import transaction
    from shopai.store.deletions import remove_products

    with transaction(db) as conn:
        remove_products(conn, ids)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    from shopai.store.deletions import delete_products, undo_deletion

    plain, keeping, undo, size = [], [], [], 0
    with tempfile.TemporaryDirectory() as folder:
        for r in range(args.repeat):
            db = _shop(os.path.join(folder, f"plain{r}.sqlite"), args.products)
            ids = [row[0] for row in db.conn.execute("SELECT id FROM products")]
            t = time.perf_counter()
            _plain_delete(db, ids)
            plain.append(time.perf_counter() - t)
            db.conn.close()
            db = _shop(os.path.join(folder, f"undo{r}.sqlite"), args.products)
            t = time.perf_counter()
            deletion = delete_products(db, ids)
            keeping.append(time.perf_counter() - t)
            size = db.conn.execute("SELECT length(payload) FROM product_deletions").fetchone()[0]
            t = time.perf_counter()
            restored = undo_deletion(db, deletion.id)
            undo.append(time.perf_counter() - t)
            assert len(restored.ids) == args.products
            assert db.conn.execute("SELECT count(*) FROM order_lines WHERE product_id IS NULL").fetchone()[0] == 0
            db.conn.close()
    best_plain, best_keep, best_undo = min(plain), min(keeping), min(undo)
    print(f"{args.products:,} products, each with a price-history row, one in ten in an order; best of {args.repeat}")
    print()
    print("| step | seconds | vs plain delete |")
    print("|---|---:|---:|")
    print(f"| plain delete (before: nothing kept, no undo) | {best_plain:.2f} | 1.00 |")
    print(f"| undoable delete (ours: keeps {size / 1e6:.0f} MB in the shop) | {best_keep:.2f} | "
          f"{best_keep / best_plain:.2f} |")
    print(f"| undo: everything put back | {best_undo:.2f} | {best_undo / best_plain:.2f} |")
    missed = []
    if best_keep > RATIO * best_plain:
        missed.append(f"undoable delete {best_keep / best_plain:.1f}x the plain one > {RATIO}x")
    if best_undo > UNDO_S:
        missed.append(f"undo {best_undo:.1f} s > {UNDO_S} s")
    print("verdict: " + ("met" if not missed else "missed: " + "; ".join(missed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

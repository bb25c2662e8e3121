"""Crash-safety bench: SIGKILL a writer at random moments, then check the shop is sound and whole.

A child process opens the shop and loops over the kinds of writes ShopAI makes:

- ``batch``  — an import-like bulk write through ``shopai.store.transaction``: an ``imports`` row,
  products, orders and order lines, all in one transaction;
- ``import`` — a real catalog import through ``shopai.io.catalog_import.import_job`` (a fresh CSV);
- ``undo``   — ``shopai.io.common.undo_import`` of an earlier catalog import;
- ``drop``   — deleting a whole earlier ``batch`` in one transaction (keeps the file small);
- ``edit``   — ``shopai.store.products.update`` (title + price: FTS trigger and price_history);
- ``train``  — a training-like write: a model file written atomically (temp + fsync + rename),
  then its metadata and 300 weight rows in ``settings`` in one transaction.

Each cycle does one kind of write in turn (so kills land in every kind). The parent waits
until the child is ready, kills it with SIGKILL after a random delay, reopens
the database and checks: ``PRAGMA integrity_check``, the FTS5 index against its content, and
all-or-nothing invariants for every kind of change (counts per batch/import, the newest
price_history row equals the price, all weight rows and the model file agree with the metadata).

A control run does the same ``batch`` writes row by row without a transaction: it must show
partial changes, or the harness could not see them.

    .venv/bin/python bench/crash_bench.py                 # 100 cycles + 20 control cycles
    .venv/bin/python bench/crash_bench.py --cycles 10 --control 0
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BATCH_PRODUCTS = 1500
BATCH_ORDERS = 200
IMPORT_ROWS = 800
EDITS_PER_OP = 10
WEIGHT_ROWS = 300
MODEL_FLOATS = 50_000
SEED_PRODUCTS = 300


# ----------------------------------------------------------------------------- child: the writer


KINDS = ("batch", "import", "edit", "train", "undo", "drop", "delete")


def _child(db_path: str, seed: int, naive: bool, focus: str | None = None) -> None:
    import numpy as np

    from shopai.paths import subdir
    from shopai.store import open_store, products, transaction

    try:
        from shopai.io import catalog_import
        from shopai.io.common import undo_import
    except ImportError:  # the import code is optional for this bench
        catalog_import = undo_import = None

    rng = random.Random(seed)
    db = open_store(db_path)
    conn = db.conn
    workdir = Path(db_path).parent
    tag = f"{seed:x}"
    say = sys.stdout.write

    def batch(k: int) -> None:
        stamp = "2026-01-01T10:00:00"
        prows = [(f"B{tag}-{k}-{i}", f"Batch {k} item {i}", "bulk", 1.0 + i % 50) for i in range(BATCH_PRODUCTS)]

        def write(c: sqlite3.Connection) -> None:
            import_id = c.execute(
                "INSERT INTO imports (kind, file, format, started_at) VALUES ('crashbench', ?, 'bench', ?)",
                (f"batch-{tag}-{k}", stamp)).lastrowid
            c.executemany("INSERT INTO products (sku, title, description, price, import_id) VALUES (?, ?, ?, ?, ?)",
                          [(*r, import_id) for r in prows])
            c.execute("INSERT INTO price_history (product_id, price, changed_at, source) "
                      "SELECT id, price, ?, 'import' FROM products WHERE import_id = ?", (stamp, import_id))
            first = c.execute("SELECT min(id) FROM products WHERE import_id = ?", (import_id,)).fetchone()[0]
            for j in range(BATCH_ORDERS):
                oid = c.execute("INSERT INTO orders (external_id, ordered_at, total, import_id) VALUES (?, ?, ?, ?)",
                                (f"O{tag}-{k}-{j}", stamp, 2.0, import_id)).lastrowid
                c.executemany("INSERT INTO order_lines (order_id, product_id, quantity, unit_price, ordered_at) "
                              "VALUES (?, ?, 1, 1.0, ?)", [(oid, first + j, stamp), (oid, first + j + 1, stamp)])
            c.execute("UPDATE imports SET rows_ok = ? WHERE id = ?", (BATCH_PRODUCTS, import_id))

        if naive:  # the control: every statement commits on its own
            write(conn)
        else:
            with transaction(db) as c:
                write(c)

    def drop() -> None:
        # (a batch whose products are deleted, waiting for an undo, is left alone: the app never drops imports)
        ids = [r[0] for r in conn.execute("SELECT id FROM imports i WHERE kind = 'crashbench' AND EXISTS "
                                          "(SELECT 1 FROM products p WHERE p.import_id = i.id) ORDER BY id")]
        if len(ids) <= 3:
            return
        victim = rng.choice(ids[:-1])
        with transaction(db) as c:
            c.execute("DELETE FROM orders WHERE import_id = ?", (victim,))
            c.execute("DELETE FROM products WHERE import_id = ?", (victim,))
            c.execute("DELETE FROM imports WHERE id = ?", (victim,))

    def delete() -> None:
        """Delete a batch's products as the Catalog does (undoably), or put a deleted batch back."""
        from shopai.store.deletions import delete_products, undo_deletion

        # the oldest waiting delete is put back soon (a record the shop stops keeping would lose its batch)
        waiting = [r[0] for r in conn.execute("SELECT id FROM product_deletions WHERE undone_at IS NULL ORDER BY id")]
        if waiting and (len(waiting) >= 3 or rng.random() < 0.5):
            undo_deletion(db, waiting[0])
            return
        ids = [r[0] for r in conn.execute("SELECT id FROM imports i WHERE kind = 'crashbench' AND EXISTS "
                                          "(SELECT 1 FROM products p WHERE p.import_id = i.id) ORDER BY id")]
        if len(ids) > 1:
            victim = rng.choice(ids[:-1])
            delete_products(db, [r[0] for r in conn.execute("SELECT id FROM products WHERE import_id = ?",
                                                            (victim,))])

    def do_import(k: int) -> None:
        csv = workdir / "csv" / f"catalog-{tag}-{k}.csv"
        csv.parent.mkdir(exist_ok=True)
        lines = ["sku,title,description,price,category"]
        lines += [f"C{tag}-{k}-{i},Imported thing {k}-{i},from a csv,{1 + i % 40}.50,Bench" for i in range(IMPORT_ROWS)]
        csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
        from shopai.jobs import run_job

        run_job(catalog_import.import_job(db_path, csv))

    def undo() -> None:
        rows = conn.execute("SELECT id FROM imports WHERE kind = 'catalog' AND undone_at IS NULL ORDER BY id")
        ids = [r[0] for r in rows]
        if len(ids) > 3:
            undo_import(db, rng.choice(ids[:-1]))

    def edit() -> None:
        hi = conn.execute("SELECT max(id) FROM products").fetchone()[0] or 0
        for _ in range(EDITS_PER_OP):
            pid = rng.randint(1, hi)
            if products.get(db, product_id=pid) is None:
                continue
            products.update(db, pid, title=f"Edited {rng.random():.6f}", price=round(rng.uniform(1, 99), 2))

    def train(k: int) -> None:
        models = subdir(db_path, "models")
        version = f"{tag}-{k}"
        weights = np.random.default_rng(k).standard_normal(MODEL_FLOATS).astype("float32")
        final = models / f"crashbench-{version}.npz"
        tmp = models / f".crashbench-{version}.npz.tmp"
        with open(tmp, "wb") as fh:
            np.savez(fh, weights=weights)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        sha = hashlib.sha256(final.read_bytes()).hexdigest()
        meta = json.dumps({"format": 1, "version": version, "file": final.name, "sha256": sha})
        with transaction(db) as c:
            c.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('crashbench_model', ?)", (meta,))
            c.executemany("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                          [(f"crashbench_w_{i:04d}", version) for i in range(WEIGHT_ROWS)])
        for old in models.glob("crashbench-*.npz"):  # old versions: the committed metadata no longer names them
            if old.name != final.name:
                old.unlink(missing_ok=True)

    ops = ["batch"] * 2 + ["drop"] * 2 + ["edit"] * 4 + ["train"] * 2 + ["delete"] * 2
    if catalog_import is not None:
        ops += ["import"] * 2 + ["undo"] * 2
    # Cycle by cycle the child does one kind of write (with what that kind needs to have something to
    # work on), so over a run the kills land in every kind, short edits included.
    focused = {"batch": ["batch"], "import": ["import"], "edit": ["edit"], "train": ["train"],
               "undo": ["import", "undo", "undo"], "drop": ["batch", "drop", "drop"],
               "delete": ["batch", "delete", "delete"]}
    if focus in focused and set(focused[focus]) <= set(ops):
        ops = focused[focus]
    if naive:
        ops = ["batch"]
    say("ready\n")
    sys.stdout.flush()
    k = 0
    while True:
        k += 1
        op = rng.choice(ops)
        say(f"begin {op}\n")
        sys.stdout.flush()
        {"batch": lambda: batch(k), "drop": drop, "import": lambda: do_import(k), "undo": undo,
         "edit": edit, "train": lambda: train(k), "delete": delete}[op]()
        say(f"end {op}\n")
        sys.stdout.flush()


# ----------------------------------------------------------------------------- parent: the checker


def check(db_path: str) -> tuple[bool, list[str], dict]:
    """(corrupt, partial-change problems, counts) for the shop at ``db_path``, reopened as the app would."""
    try:
        conn = sqlite3.connect(db_path, isolation_level=None, timeout=10)
        result = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        return True, [f"cannot open: {exc}"], {}
    if result != ["ok"]:
        conn.close()
        return True, result[:3], {}
    try:
        conn.execute("INSERT INTO products_fts(products_fts) VALUES ('integrity-check')")
    except sqlite3.DatabaseError as exc:
        conn.close()
        return True, [f"FTS index does not match the products: {exc}"], {}

    problems = []
    q = lambda sql, *a: conn.execute(sql, a).fetchall()  # noqa: E731
    # products deleted and waiting in a delete's record for an undo count as the batch's (all of them, or none)
    waiting: dict[int, int] = {}
    has_deletions = q("SELECT 1 FROM sqlite_master WHERE name = 'product_deletions'")
    from shopai.store.deletions import read_payload

    for (payload,) in q("SELECT payload FROM product_deletions WHERE undone_at IS NULL") if has_deletions else []:
        for p in read_payload(payload)["products"]:
            waiting[p["import_id"]] = waiting.get(p["import_id"], 0) + 1
    batches = q("SELECT id, rows_ok FROM imports WHERE kind = 'crashbench'")
    for import_id, rows_ok in batches:
        n_p = q("SELECT count(*) FROM products WHERE import_id = ?", import_id)[0][0] + waiting.get(import_id, 0)
        n_o = q("SELECT count(*) FROM orders WHERE import_id = ?", import_id)[0][0]
        n_l = q("SELECT count(*) FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.import_id = ?",
                import_id)[0][0]
        if (rows_ok, n_p, n_o, n_l) != (BATCH_PRODUCTS, BATCH_PRODUCTS, BATCH_ORDERS, 2 * BATCH_ORDERS):
            problems.append(f"batch {import_id}: rows_ok={rows_ok} products={n_p} orders={n_o} lines={n_l}")
    orphans = q("SELECT count(*) FROM products WHERE sku LIKE 'B%' AND import_id IS NULL")[0][0]
    orphans += q("SELECT count(*) FROM orders WHERE external_id LIKE 'O%' AND import_id IS NULL")[0][0]
    if orphans:
        problems.append(f"{orphans} batch rows without their batch")
    imports = q("SELECT id, rows_ok, undone_at FROM imports WHERE kind = 'catalog'")
    for import_id, rows_ok, undone in imports:
        n_p = q("SELECT count(*) FROM products WHERE import_id = ?", import_id)[0][0]
        want = 0 if undone else IMPORT_ROWS
        if n_p != want or rows_ok != IMPORT_ROWS:
            problems.append(f"catalog import {import_id}: rows_ok={rows_ok} products={n_p} undone={bool(undone)}")
    stray = q("SELECT count(*) FROM products WHERE sku LIKE 'C%' AND import_id IS NULL")[0][0]
    if stray:
        problems.append(f"{stray} imported products without their import")
    bad_price = q(
        "SELECT count(*) FROM products p LEFT JOIN (SELECT product_id, max(id) AS hid FROM price_history "
        "GROUP BY product_id) h ON h.product_id = p.id LEFT JOIN price_history ph ON ph.id = h.hid "
        "WHERE p.price IS NOT NULL AND (ph.price IS NULL OR ph.price != p.price)")[0][0]
    if bad_price:
        problems.append(f"{bad_price} products whose price and newest price_history row disagree")
    meta = q("SELECT value FROM settings WHERE key = 'crashbench_model'")
    weights = dict(q("SELECT value, count(*) FROM settings WHERE key LIKE 'crashbench_w_%' GROUP BY value"))
    if meta:
        m = json.loads(meta[0][0])
        if weights != {m["version"]: WEIGHT_ROWS}:
            problems.append(f"model {m['version']}: weight rows {weights}")
        model_file = Path(db_path).parent / "models" / m["file"]
        if not model_file.is_file():
            problems.append(f"model file {m['file']} missing")
        elif hashlib.sha256(model_file.read_bytes()).hexdigest() != m["sha256"]:
            problems.append(f"model file {m['file']} does not match its checksum")
    elif weights:
        problems.append("weight rows without model metadata")
    counts = {
        "products": q("SELECT count(*) FROM products")[0][0],
        "batches": len(batches),
        "imports": len(imports),
        "model": json.loads(meta[0][0])["version"] if meta else None,
    }
    conn.close()
    return False, problems, counts


def _seed_shop(db_path: str) -> None:
    from shopai.store import open_store, transaction

    db = open_store(db_path)
    with transaction(db) as c:
        c.executemany("INSERT INTO products (sku, title, price) VALUES (?, ?, ?)",
                      [(f"S{i}", f"Seed product {i}", 5.0) for i in range(SEED_PRODUCTS)])
        c.execute("INSERT INTO price_history (product_id, price, changed_at) "
                  "SELECT id, price, '2026-01-01T00:00:00' FROM products")
    db.conn.close()


def run(cycles: int, workdir: Path, seed: int = 1, max_delay: float = 1.2, naive: bool = False,
        on_cycle=None, min_delay: float = 0.02, kinds: tuple[str, ...] = KINDS) -> dict:
    """Run ``cycles`` kill cycles on a fresh shop in ``workdir`` (cycle by cycle focused on each of
    ``kinds`` in turn); returns the tally."""
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = str(workdir / "shop.sqlite")
    _seed_shop(db_path)
    rng = random.Random(seed)
    tally = {"cycles": 0, "corrupt": 0, "partial": 0, "killed_mid_write": 0, "ops_completed": 0,
             "problems": [], "kinds_interrupted": {}}
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    for cycle in range(cycles):
        child = subprocess.Popen(
            [sys.executable, __file__, "--child", db_path, "--seed", str(rng.randrange(1 << 30)),
             "--focus", kinds[cycle % len(kinds)]] + (["--naive"] if naive else []),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = child.stdout.readline()
        if line.strip() != "ready":
            child.kill()
            err = child.stderr.read()
            child.wait()
            raise RuntimeError(f"the writer did not start: {line!r} {err[-2000:]}")
        seen = ""
        if naive:  # the control's clock starts at its first write, not before: a busy machine may be slow to start it
            seen = child.stdout.readline()
        time.sleep(rng.uniform(min_delay, max_delay))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        out = (seen + child.stdout.read()).split()
        child.stdout.close()
        child.stderr.close()
        events = [(out[i], out[i + 1]) for i in range(0, len(out) - 1, 2)]
        tally["ops_completed"] += sum(1 for e in events if e[0] == "end")
        if events and events[-1][0] == "begin":
            tally["killed_mid_write"] += 1
            kind = events[-1][1]
            tally["kinds_interrupted"][kind] = tally["kinds_interrupted"].get(kind, 0) + 1
        corrupt, problems, counts = check(db_path)
        tally["cycles"] += 1
        tally["corrupt"] += int(corrupt)
        tally["partial"] += int(bool(problems) and not corrupt)
        if problems:
            tally["problems"].append(f"cycle {cycle}: {'; '.join(problems[:2])}")
        tally["last_counts"] = counts
        if on_cycle:
            on_cycle(cycle, corrupt, problems, counts)
        if corrupt and not naive:
            break  # a corrupt file makes every later check meaningless
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--control", type=int, default=20, help="cycles of the no-transaction control")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-delay", type=float, default=1.2, help="longest wait before the kill, seconds")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it")
    parser.add_argument("--child", metavar="DB", help=argparse.SUPPRESS)
    parser.add_argument("--naive", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--focus", choices=KINDS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.seed, args.naive, args.focus)
        return 0

    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="crashbench-"))
    t0 = time.perf_counter()
    ours = run(args.cycles, base / "ours", args.seed, args.max_delay,
               on_cycle=lambda i, c, p, n: (i + 1) % 10 == 0 and print(
                   f"  cycle {i + 1}: products={n.get('products')} batches={n.get('batches')} "
                   f"imports={n.get('imports')}", file=sys.stderr))
    t_ours = time.perf_counter() - t0
    control = None
    if args.control:
        control = run(args.control, base / "control", args.seed + 1, args.max_delay, naive=True)

    def row(name, t):
        return (f"{name:<34} {t['cycles']:>6} {t['killed_mid_write']:>9} {t['ops_completed']:>9} "
                f"{t['corrupt']:>8} {t['partial']:>8}")

    print(f"{'writer':<34} {'cycles':>6} {'mid-write':>9} {'ops done':>9} {'corrupt':>8} {'partial':>8}")
    print(row("ShopAI (transaction, WAL)", ours))
    if control:
        print(row("control: same rows, no transaction", control))
    print(f"interrupted ops (ShopAI): {json.dumps(ours['kinds_interrupted'], sort_keys=True)}")
    print(f"final shop: {json.dumps(ours.get('last_counts', {}))}; {t_ours:.0f} s for {ours['cycles']} cycles")
    for p in ours["problems"][:5]:
        print(f"  problem: {p}")
    if control:
        print(f"control example: {control['problems'][0] if control['problems'] else 'none seen'}")
    print(f"cycles: {ours['cycles']}")
    print(f"corrupt databases: {ours['corrupt']}")
    print(f"partial changes: {ours['partial']}")
    missed = []
    if ours["cycles"] < 100:
        missed.append(f"cycles {ours['cycles']} < 100")
    if ours["corrupt"]:
        missed.append(f"corrupt {ours['corrupt']} > 0")
    if ours["partial"]:
        missed.append(f"partial {ours['partial']} > 0")
    if control is not None and control["partial"] == 0:
        missed.append("control showed no partial change (harness blind)")
    if not args.keep:
        import shutil

        shutil.rmtree(base, ignore_errors=True)
    print("verdict: met" if not missed else f"verdict: missed: {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A long import-like write on one thread, a burst of small edits and reads on another: no "locked"."""
from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from shopai.store import open_store, products, transaction
from shopai.store.db import BUSY_TIMEOUT_MS


def _seed(db_path: str, n: int = 200) -> None:
    db = open_store(db_path)
    with transaction(db) as conn:
        conn.executemany("INSERT INTO products (sku, title, price) VALUES (?, ?, ?)",
                         [(f"S{i}", f"Seed {i}", 1.0) for i in range(n)])
    db.conn.close()


def _long_import(db_path: str, started: threading.Event, hold_s: float, errors: list) -> None:
    """Like an import job: one transaction, rows written in chunks with progress pauses between them."""
    try:
        db = open_store(db_path)
        try:
            with transaction(db) as conn:
                started.set()
                deadline = time.perf_counter() + hold_s
                chunk = 0
                while time.perf_counter() < deadline:
                    conn.executemany("INSERT INTO products (sku, title, price) VALUES (?, ?, ?)",
                                     [(f"I{chunk}-{i}", f"Imported {chunk} {i}", 2.0) for i in range(500)])
                    chunk += 1
                    time.sleep(0.02)  # a progress yield to the UI
        finally:
            db.conn.close()
    except BaseException as exc:  # reported to the test thread
        started.set()
        errors.append(exc)


def test_burst_of_edits_during_a_long_import(db_path):
    _seed(db_path)
    started, errors = threading.Event(), []
    writer = threading.Thread(target=_long_import, args=(db_path, started, 1.5, errors))
    writer.start()
    assert started.wait(10)

    ui = open_store(db_path)  # the UI thread's own connection
    waits, read_waits = [], []
    try:
        for i in range(30):
            t = time.perf_counter()
            assert products.search(ui, f"Seed {i}")  # reads never wait in WAL mode
            read_waits.append(time.perf_counter() - t)
            t = time.perf_counter()
            products.update(ui, i + 1, title=f"Edited {i}", price=3.0 + i)
            waits.append(time.perf_counter() - t)
    finally:
        writer.join(30)
    assert not errors, errors
    assert max(read_waits) < 0.5
    # edits queued behind the import (busy_timeout), none failed with "database is locked"
    assert max(waits) < BUSY_TIMEOUT_MS / 1000
    assert ui.conn.execute("SELECT count(*) FROM products WHERE title LIKE 'Edited %'").fetchone()[0] == 30
    assert ui.conn.execute("SELECT count(*) FROM products WHERE sku LIKE 'I%'").fetchone()[0] >= 500
    assert ui.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ui.conn.close()


def test_many_threads_of_short_writes(db_path):
    _seed(db_path, 50)
    errors = []

    def editor(offset: int) -> None:
        try:
            db = open_store(db_path)
            for i in range(15):
                products.update(db, offset * 10 + (i % 10) + 1, price=float(i + 1))
                products.add(db, sku=f"T{offset}-{i}", title="added", price=1.0)
            db.conn.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=editor, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    db = open_store(db_path)
    assert db.conn.execute("SELECT count(*) FROM products WHERE sku LIKE 'T%'").fetchone()[0] == 60
    db.conn.close()


def test_a_write_held_past_the_busy_timeout_is_what_locks(db_path):
    """The limit, made visible: only a write transaction longer than the busy timeout fails an edit."""
    _seed(db_path, 5)
    holder = open_store(db_path)
    holder.conn.execute("BEGIN IMMEDIATE")
    impatient = sqlite3.connect(db_path, timeout=0.2, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            impatient.execute("BEGIN IMMEDIATE")
    finally:
        holder.conn.execute("ROLLBACK")
        holder.conn.close()
        impatient.close()

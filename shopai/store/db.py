"""Opening the database: one connection per thread, WAL, foreign keys, a busy timeout.

Writes that must be all-or-nothing go through :func:`transaction` and use the raw connection
(``db.conn.execute``/``executemany``): sqlite-utils' own write helpers commit on their own.
"""
from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, TypeVar

import sqlite_utils

BUSY_TIMEOUT_MS = 10_000
IN_CHUNK = 500     # values per IN (...) list: well under SQLite's limit on bound variables

T = TypeVar("T")


def connect(path: str | os.PathLike) -> sqlite_utils.Database:
    """Open the shop database at ``path`` (created if missing) with the house pragmas.

    Does not migrate: call :func:`open_store` for a database the app will use.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return sqlite_utils.Database(conn)


def open_store(path: str | os.PathLike) -> sqlite_utils.Database:
    """Open and migrate the shop database at ``path``."""
    from shopai.store.schema import migrate, pending_migrations, schema_version

    db = connect(path)
    if schema_version(db) > 0 and pending_migrations(db):
        from shopai.safety.backup import backup_before_migration

        try:
            backup_before_migration(path, conn=db.conn)
        except BaseException:  # no migration without a backup (e.g. disk full): say so, change nothing
            db.conn.close()
            raise
    migrate(db)
    return db


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; rolls back on any exception (cancel included)."""
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def like_pattern(text: str, prefix: bool = True) -> str:
    """A LIKE pattern matching ``text`` literally (``%``, ``_`` and ``\\`` escaped; use ``ESCAPE '\\'``):
    ``text%`` when ``prefix``, else ``%text%``."""
    literal = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return literal + "%" if prefix else "%" + literal + "%"


def in_chunks(values: Iterable[T], size: int = IN_CHUNK) -> Iterator[tuple[list[T], str]]:
    """``values`` in lists of at most ``size``, each with its ``?,?,…`` placeholders for ``IN (…)``, so a
    query over any number of ids stays under SQLite's limit on bound variables."""
    values = list(values)
    for start in range(0, len(values), size):
        chunk = values[start:start + size]
        yield chunk, ",".join("?" * len(chunk))

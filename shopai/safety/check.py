"""Is the shop database sound? ``startup_check`` at start, ``examine`` for any file (backups too).

The answer is a :class:`CheckResult` that says, in plain words, what is wrong and which backup
(the newest that passes its own check) can be restored.
"""
from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from shopai.paths import DB_FILENAME
from shopai.safety.backup import BackupInfo, integrity_problems, list_backups

OK = "ok"  # a sound shop
NEW = "new"  # no shop yet (missing or empty file): nothing to check
DAMAGED = "damaged"  # integrity/quick check found problems, or SQLite reports a malformed image
NOT_A_DATABASE = "not_a_database"  # not an SQLite file at all (overwritten, truncated header, wrong file)
TOO_NEW = "too_new"  # written by a newer ShopAI with a schema this version does not know
NOT_A_SHOP = "not_a_shop"  # a sound SQLite file, but not a ShopAI shop
FOREIGN = "foreign"  # startup_check: a file that shows no sign of ever having been a ShopAI shop (a wrong pick)
UNREADABLE = "unreadable"  # could not be opened (permissions, locked by another program, ...)


@dataclass
class CheckResult:
    """What a check found. ``ok`` is true for a sound shop and for no shop yet."""

    path: Path
    status: str
    message: str
    details: list[str] = field(default_factory=list)
    schema_version: int | None = None
    backup: BackupInfo | None = None  # newest good backup to offer when not ok

    @property
    def ok(self) -> bool:
        return self.status in (OK, NEW)

    @property
    def reason(self) -> str:
        """One line: the message, plus the backup to restore when there is one. Another program's database
        with no backups of a shop beside it is just that: "no good backup" would call it a damaged shop."""
        if self.ok or self.status == FOREIGN or (self.status == NOT_A_SHOP and self.backup is None):
            return self.message
        if self.backup is not None:
            return f"{self.message} Newest good backup: {self.backup.path} ({self.backup.created:%Y-%m-%d %H:%M})."
        return f"{self.message} No good backup was found."


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """Read-only; a WAL-mode file (another shop's live database) may need its -shm made: then read-write."""
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=10, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.DatabaseError as exc:
        conn.close()
        if "unable to open" not in str(exc):
            raise
    conn = sqlite3.connect(str(path), timeout=10, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


def examine(path: str | os.PathLike, quick: bool = True, live: bool = False) -> CheckResult:
    """Check one database file. ``quick`` uses ``PRAGMA quick_check`` instead of ``integrity_check``.

    ``live`` is for the shop's own database: it may be in WAL mode with a ``-wal`` file beside it, so
    it is opened read-write (reading changes nothing) instead of read-only.
    """
    from shopai.store.schema import SCHEMA_VERSION

    path = Path(path)
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return CheckResult(path, NEW, "There is no shop here yet.")
    if not path.is_file():
        return CheckResult(path, UNREADABLE, f"{path} is a folder, not a shop database.")
    try:
        with open(path, "rb") as fh:
            header = fh.read(16)
    except OSError as exc:
        return CheckResult(path, UNREADABLE, f"The shop database cannot be read: {exc.strerror or exc}.")
    if header != b"SQLite format 3\x00":
        return CheckResult(
            path, NOT_A_DATABASE,
            f"The shop database file {path.name} is not a database any more (it may have been overwritten or "
            "cut short).",
        )
    conn = None
    try:
        if live:
            conn = sqlite3.connect(str(path), timeout=10, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 10000")
        else:
            conn = _connect_readonly(path)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        problems = integrity_problems(conn, quick=quick)
        if problems:
            return CheckResult(path, DAMAGED, f"The shop database is damaged ({problems[0]}).", problems, version)
        if version > SCHEMA_VERSION:
            return CheckResult(
                path, TOO_NEW,
                f"This shop was saved by a newer ShopAI (schema {version}; this version knows {SCHEMA_VERSION}). "
                "Install the newer ShopAI, or restore an older backup.",
                schema_version=version,
            )
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version == 0 and not tables:
            return CheckResult(path, NEW, "The shop is empty.", schema_version=0)
        if "products" not in tables or version == 0:
            return CheckResult(path, NOT_A_SHOP, "This file is an SQLite database, but not a ShopAI shop.",
                               schema_version=version)
        return CheckResult(path, OK, "The shop database is sound.", schema_version=version)
    except sqlite3.DatabaseError as exc:
        text = str(exc)
        if "not a database" in text or "file is encrypted" in text:
            return CheckResult(path, NOT_A_DATABASE,
                               f"The shop database file {path.name} is not a database any more (it may have been "
                               "overwritten).",
                               [text])
        if "malformed" in text or "corrupt" in text:
            return CheckResult(path, DAMAGED, f"The shop database is damaged ({text}).", [text])
        return CheckResult(path, UNREADABLE, f"The shop database cannot be opened ({text}).", [text])
    finally:
        if conn is not None:
            conn.close()


def newest_good_backup(db_path: str | os.PathLike) -> BackupInfo | None:
    """The newest backup of this shop that passes ``quick_check`` and this version can open."""
    for backup in list_backups(db_path):
        result = examine(backup.path, quick=True)
        if result.status == OK:
            return backup
    return None


def startup_check(db_path: str | os.PathLike) -> CheckResult:
    """Check the shop before opening it: ``PRAGMA quick_check`` + file type + schema version.

    When something is wrong, ``result.backup`` is the newest good backup to offer for restore.
    A file that is no shop and shows no sign of having been one (no backups of its own, and for a
    non-database not the name ShopAI gives its shops) is ``FOREIGN``: the wrong file was picked,
    and no backup should be restored over it.
    """
    result = examine(db_path, quick=True, live=True)
    if result.status in (NOT_A_DATABASE, NOT_A_SHOP) and not list_backups(db_path):
        if result.status == NOT_A_SHOP or result.path.name != DB_FILENAME:
            return CheckResult(result.path, FOREIGN, f"{result.path.name} is not a ShopAI shop.", result.details,
                               result.schema_version)
    if not result.ok:
        result.backup = newest_good_backup(db_path)
    return result

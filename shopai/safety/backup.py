"""Backups of the shop database: online, verified, atomic, throttled and rotating.

Every backup goes through SQLite's online backup API (a consistent copy even while the app writes),
into a temporary file beside the target. The copy is switched to a single-file journal, checked with
``PRAGMA integrity_check``, flushed to disk and only then renamed over the target. A failure at any
step (disk full included) removes the temporary file and leaves every earlier backup as it was.

Automatic backups live in ``subdir(db_path, "backups")`` as ``<stem>-backup-<stamp>-<reason>.sqlite``;
the name sorts by time, so no clock on the file system is trusted for ordering.
"""
from __future__ import annotations

import logging
import os
import re
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from shopai.jobs import UserError
from shopai.paths import subdir

log = logging.getLogger(__name__)

MIN_INTERVAL_S = 600  # automatic backups at most every 10 minutes unless forced
KEEP = 10  # automatic rotation keeps the newest KEEP backups ...
KEEP_PER_REASON = {"migration": 2, "manual": 5, "restore": 2}  # ... plus the newest few of these reasons
PAGES_PER_STEP = -1  # one step = one read snapshot; in WAL mode writers are not blocked meanwhile

_NAME = re.compile(r"^(?P<stem>.+)-backup-(?P<stamp>\d{8}-\d{6}-\d{6})-(?P<reason>[a-z0-9_]+)\.sqlite$")


@dataclass(frozen=True)
class BackupInfo:
    """One backup file in the shop's backups folder."""

    path: Path
    created: datetime
    reason: str

    @property
    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0


def backup_dir(db_path: str | os.PathLike) -> Path:
    return subdir(db_path, "backups")


def _slug(reason: str) -> str:
    slug = re.sub(r"[^a-z0-9_]+", "_", (reason or "manual").lower()).strip("_")
    return slug[:40] or "manual"


def list_backups(db_path: str | os.PathLike) -> list[BackupInfo]:
    """This shop's automatic/manual backups in its backups folder, newest first."""
    folder = Path(db_path).resolve().parent / "backups"  # looking creates nothing
    stem = Path(db_path).stem
    found = []
    for path in folder.glob(f"{stem}-backup-*.sqlite"):
        m = _NAME.match(path.name)
        if not m or m["stem"] != stem:
            continue
        created = datetime.strptime(m["stamp"], "%Y%m%d-%H%M%S-%f")
        found.append(BackupInfo(path, created, m["reason"]))
    found.sort(key=lambda b: b.path.name, reverse=True)
    return found


def _new_backup_path(db_path: str | os.PathLike, reason: str) -> Path:
    folder = backup_dir(db_path)
    stem = Path(db_path).stem
    while True:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        path = folder / f"{stem}-backup-{stamp}-{_slug(reason)}.sqlite"
        if not path.exists():
            return path
        time.sleep(0.001)


def _prepare_destination(conn: sqlite3.Connection) -> None:
    """Hook run on the temporary destination before copying (tests use it to simulate a full disk)."""


def _fsync_path(path: Path, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if directory:  # some platforms (Windows) cannot open a folder; the rename is still atomic
            return
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


def integrity_problems(conn: sqlite3.Connection, quick: bool = False, limit: int = 5) -> list[str]:
    """What ``PRAGMA integrity_check`` (or ``quick_check``) finds; an empty list when the file is sound."""
    pragma = "quick_check" if quick else "integrity_check"
    rows = [r[0] for r in conn.execute(f"PRAGMA {pragma}({int(limit)})")]
    return [] if rows == ["ok"] else rows


def _is_disk_full(exc: BaseException) -> bool:
    import errno

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return True
    return "disk is full" in str(exc) or "No space left" in str(exc)


def copy_database(
    source: sqlite3.Connection, target: str | os.PathLike, verify: bool = True
) -> Path:
    """Copy the database behind ``source`` to ``target`` atomically; returns ``target``.

    Raises :class:`UserError` in plain words when the copy cannot be made (disk full, no
    permission, the copy fails its integrity check). ``target`` is never left half-written.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    dest = None
    try:
        dest = sqlite3.connect(str(tmp), isolation_level=None)
        _prepare_destination(dest)
        source.backup(dest, pages=PAGES_PER_STEP)
        # One self-contained file: no -wal beside the copy.
        dest.execute("PRAGMA journal_mode = DELETE")
        if verify:
            problems = integrity_problems(dest)
            if problems:
                raise UserError(f"The backup copy failed its integrity check: {problems[0]}")
        dest.close()
        dest = None
        _fsync_path(tmp)
        os.replace(tmp, target)
        _fsync_path(target.parent, directory=True)
    except UserError:
        raise
    except (OSError, sqlite3.Error) as exc:
        if _is_disk_full(exc):
            raise UserError(
                f"The disk is full: no backup could be written to {target.parent}. "
                "Free some space; your earlier backups are untouched."
            ) from exc
        raise UserError(f"The backup to {target} failed: {exc}") from exc
    finally:
        if dest is not None:
            try:
                dest.close()
            except sqlite3.Error:
                pass
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal"), tmp.with_name(tmp.name + "-wal"),
                         tmp.with_name(tmp.name + "-shm")):
            try:
                leftover.unlink()
            except FileNotFoundError:
                pass
            except OSError:  # pragma: no cover - best effort
                log.warning("could not remove %s", leftover)
    return target


def _open_source(db_path: str | os.PathLike) -> sqlite3.Connection:
    path = Path(db_path)
    if not path.is_file():
        raise UserError(f"There is no shop database at {path}.")
    conn = sqlite3.connect(str(path), timeout=10, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


def backup_to(db_path: str | os.PathLike, target: str | os.PathLike) -> Path:
    """``shopai-cli backup FILE``: copy the shop to ``target`` (a file, or a folder to put one in)."""
    named_folder = str(target).endswith(("/", os.sep))  # "backups/": a folder, made if it is not there yet
    target = Path(target)
    if named_folder:
        target.mkdir(parents=True, exist_ok=True)
    if target.is_dir():
        target = target / f"{Path(db_path).stem}-backup-{datetime.now():%Y%m%d-%H%M%S}.sqlite"
    if target.resolve() == Path(db_path).resolve():
        raise UserError("The backup file cannot be the shop database itself.")
    conn = _open_source(db_path)
    try:
        return copy_database(conn, target)
    except sqlite3.DatabaseError as exc:
        raise UserError(f"The shop database cannot be read ({exc}); it cannot be backed up.") from exc
    finally:
        conn.close()


def make_backup(
    db_path: str | os.PathLike, reason: str = "manual", conn: sqlite3.Connection | None = None
) -> BackupInfo:
    """A new verified backup in the shop's backups folder (never throttled), then rotation."""
    target = _new_backup_path(db_path, reason)
    own = conn is None
    source = _open_source(db_path) if own else conn
    try:
        copy_database(source, target)
    finally:
        if own:
            source.close()
    rotate(db_path)
    m = _NAME.match(target.name)
    return BackupInfo(target, datetime.strptime(m["stamp"], "%Y%m%d-%H%M%S-%f"), m["reason"])


def rotate(db_path: str | os.PathLike, keep: int = KEEP) -> list[Path]:
    """Delete old backups beyond the newest ``keep`` (plus the newest few per KEEP_PER_REASON)."""
    backups = list_backups(db_path)
    keep_set = {b.path for b in backups[:keep]}
    for reason, n in KEEP_PER_REASON.items():
        keep_set.update(b.path for b in [b for b in backups if b.reason == reason][:n])
    removed = []
    for b in backups:
        if b.path not in keep_set:
            try:
                b.path.unlink()
                removed.append(b.path)
            except OSError:
                log.warning("could not remove old backup %s", b.path)
    return removed


def _last_change(db_path: Path) -> float:
    times = []
    for p in (db_path, db_path.with_name(db_path.name + "-wal")):
        try:
            times.append(p.stat().st_mtime)
        except OSError:
            pass
    return max(times, default=0.0)


def due(db_path: str | os.PathLike, min_interval: float = MIN_INTERVAL_S) -> bool:
    """Whether an automatic backup is worth making now.

    Not when the newest backup is younger than ``min_interval`` seconds, nor when the database
    has not changed since the newest backup was written.
    """
    backups = list_backups(db_path)
    if not backups:
        return True
    newest = backups[0]
    age = (datetime.now() - newest.created).total_seconds()
    if 0 <= age < min_interval:
        return False
    try:
        written = newest.path.stat().st_mtime
    except OSError:
        return True
    return _last_change(Path(db_path)) > written


def _has_user_tables(conn: sqlite3.Connection) -> bool:
    """Whether there is anything worth keeping: a table other than a new shop's empty ones."""
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    if not tables:
        return False
    if "products" not in tables or "orders" not in tables:
        return True  # not (yet) a ShopAI schema: keep it, whatever it is
    for table in ("products", "orders", "customers"):
        if conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]:
            return True
    return False


def auto_backup(
    db_path: str | os.PathLike,
    reason: str,
    force: bool = False,
    min_interval: float = MIN_INTERVAL_S,
    conn: sqlite3.Connection | None = None,
) -> BackupInfo | None:
    """A throttled automatic backup: returns it, or None when skipped (not due, or no shop yet).

    Raises :class:`UserError` when a backup was due but could not be written.
    """
    path = Path(db_path)
    if not path.is_file() or path.stat().st_size == 0:
        return None
    if not force and not due(path, min_interval):
        log.debug("backup (%s) skipped: not due", reason)
        return None
    source = conn if conn is not None else _open_source(path)
    try:
        if not _has_user_tables(source):
            return None
        return make_backup(path, reason, conn=source)
    finally:
        if conn is None:
            source.close()


def backup_before(db_path: str | os.PathLike, reason: str, force: bool = False) -> BackupInfo | None:
    """Call before a bulk change (an import, a mass edit): a throttled backup named after ``reason``.

    Raises :class:`UserError` when the backup was due but failed (e.g. the disk is full); the
    caller should then stop before changing anything.
    """
    return auto_backup(db_path, reason, force=force)


def backup_before_migration(db_path: str | os.PathLike, conn: sqlite3.Connection | None = None) -> BackupInfo | None:
    """Call right before pending migrations run: always backs up (never throttled)."""
    return auto_backup(db_path, "migration", force=True, conn=conn)


def on_close(db_path: str | os.PathLike) -> BackupInfo | None:
    """Call when the app closes: a throttled backup. Never raises; failures are logged."""
    try:
        return auto_backup(db_path, "close")
    except (UserError, OSError, sqlite3.Error) as exc:
        log.warning("backup on close failed: %s", exc)
        return None

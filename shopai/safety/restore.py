"""Restore the shop from a backup: verify it, migrate an older schema, keep the current file aside.

Every connection to the shop must be closed before :func:`restore` runs (the UI closes its own
and reopens after). Steps, each safe to interrupt:

1. the backup must pass ``PRAGMA integrity_check``, be a ShopAI shop and not come from a newer version;
2. it is copied (online backup API) to a temporary file beside the shop and migrated there with
   ``shopai.store.schema.migrate``, then checked again;
3. the current shop file is copied to ``backups/set-aside/`` (its ``-wal``/``-shm`` moved there);
4. the temporary file is renamed over the shop file (atomic).
"""
from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from shopai.jobs import UserError
from shopai.safety import check as _check
from shopai.safety.backup import _fsync_path, backup_dir, copy_database, integrity_problems

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RestoreResult:
    restored_from: Path
    set_aside: Path | None  # where the shop file that was replaced now lies (None: there was none)
    from_version: int
    to_version: int

    @property
    def migrated(self) -> bool:
        return self.to_version != self.from_version


def verify_backup(backup_file: str | os.PathLike) -> int:
    """Raise :class:`UserError` unless ``backup_file`` is a sound ShopAI shop this version can open.

    Returns its schema version.
    """
    path = Path(backup_file)
    if not path.is_file():
        raise UserError(f"There is no backup file at {path}.")
    result = _check.examine(path, quick=False)
    if result.status == _check.OK:
        return int(result.schema_version or 0)
    messages = {
        _check.NEW: "The backup file is empty.",
        _check.NOT_A_DATABASE: "The backup file is not a database (it may be cut short or a different file).",
        _check.DAMAGED: f"The backup file is damaged ({result.details[0] if result.details else 'integrity check'}).",
        _check.NOT_A_SHOP: "The backup file is an SQLite database, but not a ShopAI shop.",
        _check.TOO_NEW: result.message.replace("This shop", "This backup"),
    }
    raise UserError(messages.get(result.status, result.message))


def _companions(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal")]


def _set_aside(db_path: Path) -> Path | None:
    """Copy the current shop file (and move its WAL) into ``backups/set-aside``; returns its new path."""
    if not db_path.exists():
        for extra in _companions(db_path):
            extra.unlink(missing_ok=True)
        return None
    # Fold a sound WAL into the main file first so the set-aside copy is one self-contained file.
    try:
        conn = sqlite3.connect(str(db_path), timeout=10, isolation_level=None)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    except sqlite3.Error:
        pass  # damaged: keep the WAL beside it as it is
    folder = backup_dir(db_path) / "set-aside"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"{db_path.stem}-replaced-{stamp}{db_path.suffix}"
    # Copy (not move) the main file, so a crash before the swap still leaves a shop in place;
    # its WAL/SHM move along, since a stale WAL must never meet the restored file.
    shutil.copy2(str(db_path), str(target))
    for extra in _companions(db_path):
        if extra.exists():
            shutil.move(str(extra), str(target.with_name(target.name + extra.name[len(db_path.name):])))
    return target


def restore(db_path: str | os.PathLike, backup_file: str | os.PathLike) -> RestoreResult:
    """Replace the shop at ``db_path`` with ``backup_file`` (verified, migrated if older)."""
    from shopai.store.db import connect
    from shopai.store.schema import SCHEMA_VERSION, migrate, schema_version

    db_path = Path(db_path)
    backup_file = Path(backup_file)
    if db_path.exists() and backup_file.resolve() == db_path.resolve():
        raise UserError("That file is the shop database itself, not a backup.")
    from_version = verify_backup(backup_file)

    db_path.parent.mkdir(parents=True, exist_ok=True)
    staged = db_path.with_name(f".{db_path.name}.restoring")
    for leftover in [staged, *_companions(staged)]:
        leftover.unlink(missing_ok=True)
    try:
        src = _check._connect_readonly(backup_file)
        try:
            copy_database(src, staged, verify=False)  # verify_backup checked the very same pages
        finally:
            src.close()
        db = connect(staged)
        try:
            migrated = migrate(db)
            to_version = schema_version(db)
            problems = integrity_problems(db.conn, quick=not migrated)
            if problems:
                raise UserError(f"The restored copy failed its integrity check: {problems[0]}")
            db.conn.execute("PRAGMA journal_mode = DELETE")
        finally:
            db.conn.close()
        _fsync_path(staged)
        set_aside = _set_aside(db_path)
        os.replace(staged, db_path)
        _fsync_path(db_path.parent, directory=True)
    except BaseException:
        for leftover in [staged, *_companions(staged)]:
            try:
                leftover.unlink(missing_ok=True)
            except OSError:
                pass
        raise
    log.info("restored %s from %s (schema %s -> %s)", db_path, backup_file, from_version, to_version)
    assert to_version == SCHEMA_VERSION
    return RestoreResult(backup_file, set_aside, from_version, to_version)

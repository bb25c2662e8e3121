"""Data safety: backups, integrity checks and restore.

- :func:`backup_before` before a bulk change (imports), :func:`backup_before_migration` before migrations,
  :func:`on_close` when the app closes: verified, throttled, rotating backups in ``backups/``.
- :func:`startup_check` before opening the shop; :func:`restore` to put a backup back.
"""
from shopai.safety.backup import (
    BackupInfo,
    auto_backup,
    backup_before,
    backup_before_migration,
    backup_to,
    list_backups,
    make_backup,
    on_close,
)
from shopai.safety.check import CheckResult, examine, newest_good_backup, startup_check
from shopai.safety.restore import RestoreResult, restore, verify_backup

__all__ = [
    "BackupInfo", "CheckResult", "RestoreResult", "auto_backup", "backup_before", "backup_before_migration",
    "backup_to", "examine", "list_backups", "make_backup", "newest_good_backup", "on_close", "restore",
    "startup_check", "verify_backup",
]

"""File-menu actions for data safety, and the damaged-shop prompt at start.

- :func:`backup_now` — a verified backup into the shop's ``backups`` folder, in a worker thread.
- :func:`restore_from_backup` — pick a backup (newest first, or any file), confirm, restore, reopen.
- :func:`confirm_restore_on_damage` — at start, when ``startup_check`` finds a problem: say so
  plainly and offer the newest good backup; returns the file to restore or None.
- :func:`check_and_recover` — the whole start-up path (check → prompt → restore) in one call; a file
  that was never a shop gets a plain "not a ShopAI shop" and no restore.
- :func:`add_backup_actions` — puts "Back up now" and "Restore from backup…" into a menu.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from shopai.jobs import Progress, UserError
from shopai.safety import CheckResult, list_backups, make_backup, restore, startup_check
from shopai.safety.backup import BackupInfo
from shopai.safety.check import FOREIGN, TOO_NEW

log = logging.getLogger(__name__)

ALL_TABLES = {"products", "categories", "customers", "orders", "order_lines", "price_history", "imports",
              "settings"}
REASONS = {"close": "when the app closed", "manual": "made by hand", "migration": "before an upgrade",
           "restore": "before a restore"}
FILE_FILTER = "ShopAI backups (*.sqlite *.db *.backup);;All files (*)"


def _tr(text: str) -> str:
    return QApplication.translate("backup_actions", text)


def describe(backup: BackupInfo) -> str:
    """'Tue 24 Nov 2026, 14:05 — when the app closed — 3.2 MB'."""
    reason = REASONS.get(backup.reason, backup.reason.replace("_", " "))
    return f"{backup.created:%a %d %b %Y, %H:%M} — {_tr(reason)} — {backup.size / 1e6:.1f} MB"


# --- Back up now ------------------------------------------------------------------------------


def _backup_job(db_path: str):
    yield Progress(0, None, "Backing up the shop")
    return make_backup(db_path, "manual")


def backup_now(parent: QWidget, ctx, on_done: Callable[[BackupInfo], None] | None = None) -> None:
    """Make a verified backup now (never throttled) in a worker thread; report where it went."""
    from shopai_ui.worker import JobRunner

    runner = getattr(parent, "_backup_runner", None)
    if runner is None:
        runner = parent._backup_runner = JobRunner(parent)
    if runner.running:
        return
    ctx.show_status(_tr("Backing up…"))

    def done(info: BackupInfo) -> None:
        ctx.show_status(_tr("Backup saved: {0}").format(info.path))
        if on_done is not None:
            on_done(info)
        else:
            QMessageBox.information(parent, _tr("Back up now"), _tr(
                "The shop was backed up and the copy checked.\n\n{0}").format(info.path))

    def failed(message: str) -> None:
        ctx.show_status(_tr("Backup failed"))
        QMessageBox.warning(parent, _tr("Back up now"), message)

    db_path = ctx.db_path
    runner.start(lambda: _backup_job(db_path), on_result=done, on_error=failed)


# --- Restore from backup ---------------------------------------------------------------------


class BackupPickerDialog(QDialog):
    """The shop's backups, newest first, plus "Other file…". ``chosen`` is the picked path or None."""

    def __init__(self, db_path: str | os.PathLike, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chosen: Path | None = None
        self.setWindowTitle(_tr("Restore from backup"))
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        self.backups = list_backups(db_path)
        text = _tr("Choose the backup to put back. The shop as it is now is kept aside, so nothing is lost.")
        if not self.backups:
            text = _tr("There are no automatic backups of this shop yet. Choose a backup file instead.")
        label = QLabel(text)
        label.setWordWrap(True)
        layout.addWidget(label)
        self.list = QListWidget()
        for backup in self.backups:
            item = QListWidgetItem(describe(backup))
            item.setData(Qt.ItemDataRole.UserRole, str(backup.path))
            self.list.addItem(item)
        if self.backups:
            self.list.setCurrentRow(0)
        self.list.itemDoubleClicked.connect(lambda _item: self._accept_selected())
        layout.addWidget(self.list)
        buttons = QDialogButtonBox()
        self.restore_button = buttons.addButton(_tr("Restore"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.restore_button.setEnabled(bool(self.backups))
        self.other_button = buttons.addButton(_tr("Other file…"), QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.restore_button.clicked.connect(self._accept_selected)
        self.other_button.clicked.connect(self._other_file)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _accept_selected(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.chosen = Path(item.data(Qt.ItemDataRole.UserRole))
            self.accept()

    def _other_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, _tr("Choose a backup file"), str(Path.home()), _tr(FILE_FILTER))
        if path:
            self.chosen = Path(path)
            self.accept()


def _reopen(parent: QWidget, ctx) -> None:
    """Open the (restored) shop again: a fresh window when the window can ask for one, else in place."""
    requested = getattr(parent, "shopRequested", None)
    if requested is not None:
        requested.emit(ctx.db_path)
        return
    from shopai.store import open_store

    ctx.db = open_store(ctx.db_path)
    ctx.notify_changed(ALL_TABLES)


def restore_file(parent: QWidget, ctx, backup_file: str | os.PathLike) -> bool:
    """Stop background work, close the shop, restore ``backup_file``, open the shop again.

    Runs on the GUI thread on purpose: between closing and reopening no event may reach a tab
    that would query a closed connection. Returns True when restored; shows the reason otherwise.
    """
    stop = getattr(parent, "shutdown", None)
    if callable(stop):
        stop()
    ctx.close()
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    error: str | None = None
    try:
        result = restore(ctx.db_path, backup_file)
    except UserError as exc:
        error = str(exc)
    except OSError as exc:
        error = _tr("The backup could not be restored: {0}").format(exc)
    finally:
        QApplication.restoreOverrideCursor()
        _reopen(parent, ctx)
    if error is not None:
        QMessageBox.warning(parent, _tr("Restore from backup"), error + "\n\n" + _tr("Your shop was not changed."))
        return False
    note = _tr("The shop was restored from {0}.").format(Path(result.restored_from).name)
    if result.migrated:
        note += " " + _tr("It came from an older ShopAI and was upgraded.")
    if result.set_aside is not None:
        note += "\n\n" + _tr("The shop as it was before is kept at {0}.").format(result.set_aside)
    ctx.show_status(_tr("Restored from backup"))
    QMessageBox.information(parent, _tr("Restore from backup"), note)
    return True


def restore_from_backup(parent: QWidget, ctx) -> bool:
    """File ▸ Restore from backup…: pick, confirm, restore, reopen. Returns True when restored."""
    picker = BackupPickerDialog(ctx.db_path, parent)
    if picker.exec() != QDialog.DialogCode.Accepted or picker.chosen is None:
        return False
    answer = QMessageBox.question(
        parent, _tr("Restore from backup"),
        _tr("Replace the shop with the backup {0}?\n\nChanges made since that backup will be gone from the "
            "shop; the shop as it is now is kept aside in the backups folder.").format(picker.chosen.name),
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
    if answer != QMessageBox.StandardButton.Yes:
        return False
    return restore_file(parent, ctx, picker.chosen)


# --- A damaged shop at start -----------------------------------------------------------------


def damage_box(parent: QWidget | None, result: CheckResult) -> tuple[QMessageBox, dict[str, QPushButton]]:
    """The message box that explains the problem and offers the way out (built, not shown)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical if result.status != TOO_NEW else QMessageBox.Icon.Warning)
    box.setWindowTitle(_tr("ShopAI — the shop needs attention"))
    box.setText(result.message)
    buttons: dict[str, QPushButton] = {}
    if result.backup is not None:
        box.setInformativeText(_tr(
            "The newest good backup is from {0} ({1}).\n\nRestoring it puts that copy back; changes made after "
            "it are lost. The current file is kept aside in the backups folder, nothing is deleted.").format(
                f"{result.backup.created:%a %d %b %Y, %H:%M}",
                _tr(REASONS.get(result.backup.reason, result.backup.reason))))
        buttons["restore"] = box.addButton(_tr("Restore this backup"), QMessageBox.ButtonRole.AcceptRole)
    else:
        box.setInformativeText(_tr(
            "No good backup of this shop was found in its backups folder. If you have a backup file "
            "elsewhere, choose it; otherwise close ShopAI and ask for help (the file was not changed)."))
    buttons["other"] = box.addButton(_tr("Choose a backup file…"), QMessageBox.ButtonRole.ActionRole)
    buttons["cancel"] = box.addButton(_tr("Close"), QMessageBox.ButtonRole.RejectRole)
    # A newer shop is not broken: Enter must not put an older backup over it.
    box.setDefaultButton(buttons["cancel"] if result.status == TOO_NEW else buttons.get("restore", buttons["other"]))
    box.setEscapeButton(buttons["cancel"])
    box.setDetailedText("\n".join([str(result.path), *result.details]))
    return box, buttons


def confirm_restore_on_damage(parent: QWidget | None, check_result: CheckResult) -> str | None:
    """Tell the owner what is wrong with the shop and offer a restore. Returns the backup file or None."""
    box, buttons = damage_box(parent, check_result)
    box.exec()
    clicked = box.clickedButton()
    if clicked is buttons.get("restore") and check_result.backup is not None:
        return str(check_result.backup.path)
    if clicked is buttons["other"]:
        start = check_result.backup.path.parent if check_result.backup else Path(check_result.path).parent
        path, _ = QFileDialog.getOpenFileName(parent, _tr("Choose a backup file"), str(start), _tr(FILE_FILTER))
        return path or None
    return None


def check_and_recover(parent: QWidget | None, db_path: str | os.PathLike) -> bool:
    """At start, before opening: check the shop; when damaged, offer and do the restore.

    Returns True when the shop can be opened (sound, new, or restored), False when the owner
    declined or the restore failed (a message was shown).
    """
    result = startup_check(db_path)
    if result.ok:
        return True
    log.warning("startup check of %s: %s", db_path, result.reason)
    if result.status == FOREIGN:  # the wrong file was picked: nothing to restore over it
        QMessageBox.warning(parent, _tr("ShopAI"), _tr(
            "{0}\n\n{1}\n\nChoose the shop's own file (shop.sqlite in the shop's folder), or start a new shop "
            "with File ▸ New empty shop….").format(result.message, result.path))
        return False
    while True:
        chosen = confirm_restore_on_damage(parent, result)
        if chosen is None:
            return False
        try:
            restored = restore(db_path, chosen)
        except (UserError, OSError) as exc:
            QMessageBox.warning(parent, _tr("Restore from backup"), str(exc))
            continue
        log.info("restored %s from %s at start", db_path, restored.restored_from)
        return True


def add_backup_actions(parent: QWidget, menu: QMenu, ctx_getter: Callable[[], object],
                       before: QAction | None = None) -> tuple[QAction, QAction]:
    """Add "Back up now" and "Restore from backup…" to ``menu`` (before ``before`` when given)."""
    backup = QAction(_tr("&Back up now"), parent)
    backup.triggered.connect(lambda: backup_now(parent, ctx_getter()))
    restore_action = QAction(_tr("&Restore from backup…"), parent)
    restore_action.triggered.connect(lambda: restore_from_backup(parent, ctx_getter()))
    if before is not None:
        menu.insertAction(before, backup)
        menu.insertAction(before, restore_action)
    else:
        menu.addAction(backup)
        menu.addAction(restore_action)
    return backup, restore_action

"""Errors: a log file, and one dialog with copyable details for anything unexpected.

Expected problems (``UserError``) are shown inside the tab in plain words; cancel is silent.
"""
from __future__ import annotations

import errno
import logging
import logging.handlers
import sqlite3
import sys
import traceback
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication, QDialog, QDialogButtonBox, QLabel, QMessageBox, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget,
)

log = logging.getLogger("shopai")
_log_file: Path | None = None


def setup_logging(log_dir: Path) -> Path:
    """Log to ``log_dir/shopai.log`` (rotating). Returns the file's path."""
    global _log_file
    log_dir.mkdir(parents=True, exist_ok=True)
    _log_file = log_dir / "shopai.log"
    handler = logging.handlers.RotatingFileHandler(_log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_shopai", False)]:
        root.removeHandler(old)
        old.close()
    handler._shopai = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return _log_file


def log_file() -> Path | None:
    return _log_file


class ErrorDialog(QDialog):
    """Something went wrong that the user can't fix: say so, keep the details one click away."""

    def __init__(self, summary: str, details: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("ShopAI – something went wrong"))
        layout = QVBoxLayout(self)
        text = self.tr(
            "ShopAI ran into an unexpected problem. Your data is safe: nothing was half-saved.\n\n{0}"
        ).format(summary)
        label = QLabel(text)
        label.setWordWrap(True)
        layout.addWidget(label)
        if _log_file is not None:
            where = QLabel(self.tr("Details were written to the log file: {0}").format(_log_file))
            where.setTextInteractionFlags(where.textInteractionFlags() | where.textInteractionFlags().TextSelectableByMouse)
            where.setWordWrap(True)
            layout.addWidget(where)
        self.details = QPlainTextEdit(details)
        self.details.setReadOnly(True)
        self.details.setMinimumSize(560, 200)
        layout.addWidget(self.details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = QPushButton(self.tr("Copy details"))
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(details))
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)


_open_dialogs: list[ErrorDialog] = []


def read_only_message(exc: BaseException) -> str | None:
    """Plain words for a write refused because a file or folder is read-only, or because the shop stayed busy
    with another write (a long import) for longer than a change waits; None for anything else."""
    if isinstance(exc, sqlite3.OperationalError) and "database is locked" in str(exc):
        return QCoreApplication.translate(
            "errors", "This change could not be saved now: the shop is busy with another change (an import or a "
            "training that is saving). Nothing was changed. Try again once it has finished.")
    if isinstance(exc, sqlite3.OperationalError) and "readonly database" in str(exc):
        where = QCoreApplication.translate("errors", "the shop file is read-only")
    elif isinstance(exc, OSError) and exc.errno == errno.EROFS:
        where = QCoreApplication.translate("errors", "{0} is on a read-only disk").format(exc.filename or "it")
    else:
        return None
    return QCoreApplication.translate(
        "errors", "This change could not be saved: {0}. Nothing was changed. To work on the shop, copy its "
        "folder somewhere you can write to and open the copy.").format(where)


def report_exception(exc: BaseException, details: str | None = None) -> None:
    """Log an unexpected error and show the error dialog (non-modal, so nothing blocks).

    A write refused because the shop is read-only or busy is no bug: it gets a plain message instead.
    """
    if details is None:
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    plain = read_only_message(exc)
    if plain is not None:
        log.warning("write refused: %s\n%s", exc, details)
        if QApplication.instance() is not None:
            show_user_message(plain)
        return
    log.error("unexpected error: %s\n%s", exc, details)
    if QApplication.instance() is None:
        return
    dialog = ErrorDialog(f"{type(exc).__name__}: {exc}", details, QApplication.activeWindow())
    _open_dialogs.append(dialog)
    dialog.finished.connect(lambda _=0, d=dialog: _open_dialogs.remove(d) if d in _open_dialogs else None)
    dialog.show()


def show_user_message(message: str, parent: QWidget | None = None) -> None:
    """A plain-words problem when there's no tab to show it in."""
    box = QMessageBox(QMessageBox.Icon.Warning, QCoreApplication.translate("errors", "ShopAI"), message,
                      QMessageBox.StandardButton.Ok, parent or QApplication.activeWindow())
    box.setModal(False)
    box.show()
    _open_dialogs.append(box)  # type: ignore[arg-type]
    box.finished.connect(lambda _=0, b=box: _open_dialogs.remove(b) if b in _open_dialogs else None)


def install_excepthook() -> None:
    """Route exceptions escaping Qt slots to the error dialog instead of killing the app."""

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        report_exception(exc, "".join(traceback.format_exception(exc_type, exc, tb)))

    sys.excepthook = hook

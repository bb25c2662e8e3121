"""Unexpected errors: one dialog with copyable details, and the log file gets them too."""
from __future__ import annotations

import logging

import pytest
from PySide6.QtWidgets import QApplication

from shopai_ui import errors
from shopai_ui.widgets.message import MessageBar


def test_error_dialog_shows_and_copies_details(qtbot, tmp_path):
    path = errors.setup_logging(tmp_path / "logs")
    try:
        raise ValueError("disk on fire")
    except ValueError as exc:
        errors.report_exception(exc)
    dialog = errors._open_dialogs[-1]
    qtbot.addWidget(dialog)
    assert "disk on fire" in dialog.details.toPlainText()
    from PySide6.QtWidgets import QPushButton

    [button] = [b for b in dialog.findChildren(QPushButton) if "Copy" in b.text()]
    button.click()
    assert "ValueError: disk on fire" in QApplication.clipboard().text()
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert "disk on fire" in path.read_text(encoding="utf-8")
    dialog.close()


def test_message_bar_says_and_hides(qtbot):
    bar = MessageBar()
    qtbot.addWidget(bar)
    bar.show_error("That file is not a table.")
    assert bar.isVisibleTo(bar.parentWidget() or bar) or bar.kind == "error"
    assert bar.text() == "That file is not a table."
    bar.clear()
    assert bar.text() == "" and bar.isHidden()


def test_a_write_to_a_read_only_shop_is_a_plain_message_not_the_crash_dialog(qtbot, tmp_path):
    import sqlite3

    from PySide6.QtWidgets import QMessageBox

    path = tmp_path / "shop.sqlite"
    conn = sqlite3.connect(str(path))
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    conn = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
    try:
        conn.execute("INSERT INTO t VALUES (1)")
    except sqlite3.OperationalError as exc:
        error = exc
    conn.close()
    before = len(errors._open_dialogs)
    errors.report_exception(error)
    [box] = errors._open_dialogs[before:]
    qtbot.addWidget(box)
    assert isinstance(box, QMessageBox) and not isinstance(box, errors.ErrorDialog)
    assert "could not be saved" in box.text() and "read-only" in box.text()
    box.close()


def test_a_change_the_busy_shop_cannot_take_now_is_a_plain_message_and_the_window_waits_only_briefly(
        qtbot, tmp_path):
    import sqlite3
    import time

    from PySide6.QtWidgets import QMessageBox

    from shopai.store import open_store, products
    from shopai_ui.context import WINDOW_BUSY_TIMEOUT_MS, ShopContext

    path = tmp_path / "shop.sqlite"
    open_store(path).conn.close()
    ctx = ShopContext(str(path))
    importer = sqlite3.connect(str(path), isolation_level=None)
    importer.execute("BEGIN IMMEDIATE")  # a long import holds the write lock
    t0 = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked") as info:
        products.add(ctx.db, sku="A1", title="Lantern")
    waited = time.monotonic() - t0
    importer.execute("ROLLBACK")
    importer.close()
    ctx.close()
    assert WINDOW_BUSY_TIMEOUT_MS / 1000 - 0.2 <= waited < 5  # not the 10 s a worker thread waits
    before = len(errors._open_dialogs)
    errors.report_exception(info.value)
    [box] = errors._open_dialogs[before:]
    qtbot.addWidget(box)
    assert isinstance(box, QMessageBox) and not isinstance(box, errors.ErrorDialog)
    assert "busy" in box.text() and "Nothing was changed" in box.text()
    box.close()

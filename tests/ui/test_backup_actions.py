"""File ▸ Back up now / Restore from backup, and the damaged-shop prompt at start."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox, QWidget

from shopai.safety import list_backups, make_backup, startup_check
from shopai.store import products
from shopai_ui import backup_actions
from shopai_ui.backup_actions import (
    BackupPickerDialog,
    add_backup_actions,
    backup_now,
    check_and_recover,
    confirm_restore_on_damage,
    damage_box,
    restore_file,
)


@pytest.fixture
def boxes(monkeypatch):
    """Record information/warning boxes instead of blocking on them."""
    shown = []
    for kind in ("information", "warning"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(
            lambda parent, title, text, *a, _k=kind, **kw: shown.append((_k, text))))
    return shown


def _click_in_modal(label_part: str) -> None:
    """Once the modal box is up, click the button whose text contains ``label_part``."""
    def click() -> None:
        box = QApplication.activeModalWidget()
        if box is None:
            QTimer.singleShot(20, click)
            return
        for button in box.findChildren(type(box.buttons()[0])):
            if label_part in button.text():
                button.click()
                return
        raise AssertionError(f"no button {label_part!r} in {[b.text() for b in box.buttons()]}")
    QTimer.singleShot(0, click)


def test_backup_now_writes_a_verified_backup(qtbot, ctx):
    products.add(ctx.db, sku="A1", title="Mug")
    parent = QWidget()
    qtbot.addWidget(parent)
    made = []
    backup_now(parent, ctx, on_done=made.append)
    qtbot.waitUntil(lambda: bool(made), timeout=10_000)
    assert made[0].path.is_file()
    assert [b.path for b in list_backups(ctx.db_path)] == [made[0].path]


def test_restore_in_place_brings_data_back(qtbot, ctx, boxes):
    products.add(ctx.db, sku="A1", title="Mug")
    backup = make_backup(ctx.db_path, "manual")
    ctx.db.conn.execute("DELETE FROM products")
    parent = QWidget()
    qtbot.addWidget(parent)
    with qtbot.waitSignal(ctx.dataChanged):
        assert restore_file(parent, ctx, backup.path)
    assert products.get(ctx.db, sku="A1")["title"] == "Mug"  # ctx.db was reopened on the restored file
    assert boxes and boxes[-1][0] == "information" and "kept at" in boxes[-1][1]


class _Window(QWidget):
    shopRequested = Signal(str)

    def __init__(self):
        super().__init__()
        self.stopped = False

    def shutdown(self):
        self.stopped = True


def test_restore_stops_workers_and_asks_for_a_fresh_window(qtbot, ctx, boxes):
    products.add(ctx.db, sku="A1", title="Mug")
    backup = make_backup(ctx.db_path, "manual")
    window = _Window()
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.shopRequested) as sig:
        assert restore_file(window, ctx, backup.path)
    assert window.stopped
    assert sig.args == [ctx.db_path]


def test_a_bad_backup_leaves_the_shop_as_it_was(qtbot, ctx, boxes, tmp_path):
    products.add(ctx.db, sku="A1", title="Mug")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    parent = QWidget()
    qtbot.addWidget(parent)
    assert not restore_file(parent, ctx, junk)
    assert boxes[-1][0] == "warning" and "not a database" in boxes[-1][1]
    assert products.get(ctx.db, sku="A1") is not None  # reopened, unchanged


def test_picker_lists_backups_newest_first(qtbot, ctx):
    first = make_backup(ctx.db_path, "close")
    second = make_backup(ctx.db_path, "manual")
    dialog = BackupPickerDialog(ctx.db_path)
    qtbot.addWidget(dialog)
    assert dialog.list.count() == 2
    assert "made by hand" in dialog.list.item(0).text() and "when the app closed" in dialog.list.item(1).text()
    dialog._accept_selected()
    assert dialog.chosen == second.path
    assert first.path.exists()


def _damage(db_path: str) -> None:
    Path(db_path).write_bytes(b"garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        Path(db_path + suffix).unlink(missing_ok=True)


def test_damaged_shop_prompt_offers_newest_good_backup(qtbot, ctx):
    products.add(ctx.db, sku="A1", title="Mug")
    good = make_backup(ctx.db_path, "close")
    ctx.close()
    _damage(ctx.db_path)
    result = startup_check(ctx.db_path)
    box, buttons = damage_box(None, result)
    assert "not a database" in box.text() and "shop.sqlite" in box.text()  # says which file
    assert "restore" in buttons and "nothing is deleted" in box.informativeText()
    box.deleteLater()
    _click_in_modal("Restore this backup")
    assert confirm_restore_on_damage(None, result) == str(good.path)


def test_check_and_recover_restores_at_start(qtbot, ctx):
    products.add(ctx.db, sku="A1", title="Mug")
    make_backup(ctx.db_path, "close")
    ctx.close()
    _damage(ctx.db_path)
    _click_in_modal("Restore this backup")
    assert check_and_recover(None, ctx.db_path)
    assert startup_check(ctx.db_path).ok
    from shopai.store import open_store

    db = open_store(ctx.db_path)
    assert products.get(db, sku="A1") is not None
    db.conn.close()


def test_no_backup_means_no_restore_button_and_file_untouched(qtbot, ctx):
    ctx.close()
    _damage(ctx.db_path)
    before = Path(ctx.db_path).read_bytes()
    result = startup_check(ctx.db_path)
    box, buttons = damage_box(None, result)
    assert "restore" not in buttons and "No good backup" in box.informativeText()
    box.deleteLater()
    _click_in_modal("Close")
    assert not check_and_recover(None, ctx.db_path)
    assert Path(ctx.db_path).read_bytes() == before


def test_sound_shop_opens_without_prompt(ctx):
    assert check_and_recover(None, ctx.db_path)


def test_menu_actions(qtbot, ctx):
    parent = QWidget()
    qtbot.addWidget(parent)
    menu = QMenu(parent)
    quit_action = menu.addAction("Quit")
    backup, restore_action = add_backup_actions(parent, menu, lambda: ctx, before=quit_action)
    assert [a.text() for a in menu.actions()] == ["&Back up now", "&Restore from backup…", "Quit"]
    assert backup_actions.REASONS["close"]


def test_a_file_that_never_was_a_shop_is_named_and_offers_no_restore(qtbot, boxes, tmp_path, monkeypatch):
    monkeypatch.setattr(backup_actions, "confirm_restore_on_damage",
                        lambda *a: pytest.fail("no restore may be offered over a file that was never a shop"))
    notes = tmp_path / "notes.db"
    notes.write_text("Shopping list: milk, eggs\n" * 50)
    before = notes.read_bytes()
    assert not check_and_recover(None, notes)
    assert boxes[-1][0] == "warning" and "notes.db is not a ShopAI shop" in boxes[-1][1]
    assert notes.read_bytes() == before


def test_too_new_shop_defaults_to_close_not_restore(qtbot, ctx):
    import sqlite3

    products.add(ctx.db, sku="A1", title="Mug")
    make_backup(ctx.db_path, "close")
    ctx.close()
    conn = sqlite3.connect(ctx.db_path)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    result = startup_check(ctx.db_path)
    box, buttons = damage_box(None, result)
    qtbot.addWidget(box)
    assert result.status == "too_new" and "restore" in buttons
    assert box.defaultButton() is buttons["cancel"] and box.escapeButton() is buttons["cancel"]

"""The first-run welcome screen: three choices, each returned to the caller."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from shopai_ui.welcome import WelcomeDialog, should_show_welcome


@pytest.mark.parametrize("button, choice", [
    ("sample_button", WelcomeDialog.SAMPLE),
    ("import_button", WelcomeDialog.IMPORT),
    ("empty_button", WelcomeDialog.EMPTY),
])
def test_each_button_returns_its_choice(qtbot, tmp_path, button, choice):
    dialog = WelcomeDialog(db_path=tmp_path / "shop.sqlite")
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.accepted):
        qtbot.mouseClick(getattr(dialog, button), Qt.MouseButton.LeftButton)
    assert dialog.choice == choice
    assert dialog.result() == WelcomeDialog.DialogCode.Accepted


def test_closing_returns_no_choice(qtbot):
    dialog = WelcomeDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.reject()
    assert dialog.choice is None


def test_texts_say_what_each_choice_does(qtbot, tmp_path):
    dialog = WelcomeDialog(db_path=tmp_path / "shop.sqlite")
    qtbot.addWidget(dialog)
    assert dialog.sample_button.text() == "Open the sample shop"
    assert "CSV" in dialog.import_button.description()
    assert dialog.sample_button.isDefault()


def test_shown_only_on_first_run(tmp_path, db_path):
    assert should_show_welcome(tmp_path / "new" / "shop.sqlite")
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    assert should_show_welcome(empty)
    assert not should_show_welcome(db_path)

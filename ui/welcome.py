"""The first-run screen: open the sample shop, import a catalog, or start empty.

The dialog only returns the owner's choice (``WelcomeDialog.SAMPLE`` / ``IMPORT`` / ``EMPTY``, or
None when closed); the application acts on it (build/open the sample shop, open the import dialog…).
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QCommandLinkButton, QDialog, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from shopai_ui.icons import app_icon


def should_show_welcome(db_path: str | os.PathLike) -> bool:
    """True on first run: there is no shop file yet (an empty or existing shop opens directly)."""
    path = Path(db_path)
    return not path.exists() or path.stat().st_size == 0


class WelcomeDialog(QDialog):
    """Three ways to begin. After ``exec()``, ``choice`` is SAMPLE, IMPORT, EMPTY or None."""

    SAMPLE = "sample"
    IMPORT = "import"
    EMPTY = "empty"

    def __init__(self, parent: QWidget | None = None, db_path: str | os.PathLike | None = None) -> None:
        super().__init__(parent)
        self.choice: str | None = None
        self.setWindowTitle(self.tr("Welcome to ShopAI"))
        self.setWindowIcon(app_icon())
        self.setMinimumWidth(560)

        header = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(72, 72))
        header.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        words = QVBoxLayout()
        title = QLabel(self.tr("Welcome to ShopAI"))
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        title.setFont(font)
        words.addWidget(title)
        intro = QLabel(self.tr(
            "Recommendations, price forecasts, automatic categories, voice search and customer insight "
            "for your shop. Everything stays on this computer.\nHow would you like to start?"))
        intro.setWordWrap(True)
        words.addWidget(intro)
        header.addLayout(words, 1)

        self.sample_button = self._option(
            self.tr("Open the sample shop"),
            self.tr("Try every tab on a real gift shop's catalog and order history. "
                    "Your own shop stays separate; open it any time from the File menu."),
            self.SAMPLE)
        self.import_button = self._option(
            self.tr("Import my catalog"),
            self.tr("Bring in your products from Shopify, WooCommerce, Square or any CSV file. "
                    "Orders can follow later."),
            self.IMPORT)
        self.empty_button = self._option(
            self.tr("Start empty"),
            self.tr("Add products by hand now; import files later from the File menu."),
            self.EMPTY)
        self.sample_button.setDefault(True)
        self.sample_button.setFocus()

        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addLayout(header)
        layout.addSpacing(6)
        for button in (self.sample_button, self.import_button, self.empty_button):
            layout.addWidget(button)
        if db_path is not None:
            where = QLabel(self.tr("Your shop will be kept in {0}, with automatic backups beside it.").format(
                Path(db_path).parent))
            where.setWordWrap(True)
            where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            where.setStyleSheet("color: palette(placeholder-text);")
            layout.addWidget(where)

    def _option(self, title: str, description: str, choice: str) -> QCommandLinkButton:
        button = QCommandLinkButton(title, description)
        button.setIconSize(QSize(24, 24))
        button.setObjectName(f"welcome_{choice}")
        button.clicked.connect(lambda: self._choose(choice))
        return button

    def _choose(self, choice: str) -> None:
        self.choice = choice
        self.accept()


def ask_how_to_start(parent: QWidget | None = None, db_path: str | os.PathLike | None = None) -> str | None:
    """Show the welcome screen modally; returns SAMPLE, IMPORT, EMPTY, or None if it was closed."""
    dialog = WelcomeDialog(parent, db_path)
    dialog.exec()
    return dialog.choice

"""An inline message bar for a tab: problems the user can fix, in plain words (and, for news such as a
delete, one button to act on it: "Undo")."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

_STYLES = {
    "error": "background:#fdecea; color:#611a15; border:1px solid #f5c2c0; border-radius:4px;",
    "info": "background:#e8f4fd; color:#0d3c61; border:1px solid #b6dcf7; border-radius:4px;",
}


class MessageBar(QFrame):
    """Hidden until there's something to say; a close button hides it again."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        self.action_button = QPushButton()
        self.action_button.hide()
        self.action_button.clicked.connect(self._act)
        self._action: Callable[[], None] | None = None
        layout.addWidget(self.action_button)
        close = QToolButton()
        close.setText("×")
        close.setAutoRaise(True)
        close.setToolTip(self.tr("Hide this message"))
        close.clicked.connect(self.clear)
        layout.addWidget(close)
        self.kind = ""
        self.hide()

    def _show(self, kind: str, text: str, action: tuple[str, Callable[[], None]] | None = None) -> None:
        self.kind = kind
        self.setStyleSheet(f"MessageBar {{{_STYLES[kind]}}}")
        self.label.setText(text)
        self._action = action[1] if action else None
        self.action_button.setText(action[0] if action else "")
        self.action_button.setVisible(action is not None)
        self.show()

    def show_error(self, text: str) -> None:
        self._show("error", text)

    def show_info(self, text: str, action: tuple[str, Callable[[], None]] | None = None) -> None:
        """``action``: (button text, what it does); the message goes once the button is pressed."""
        self._show("info", text, action)

    def _act(self) -> None:
        action = self._action
        self.clear()
        if action is not None:
            action()

    def text(self) -> str:
        return self.label.text() if self.isVisible() or self.kind else ""

    def clear(self) -> None:
        self.kind = ""
        self.label.clear()
        self._action = None
        self.action_button.hide()
        self.hide()

"""A type-to-search picker for large lists (products, customers): asks SQL for the top matches.

Never loads every row into a widget: each keystroke (debounced) runs ``search_fn(text)`` which returns
at most a few dozen ``(label, data)`` pairs, shown in a completer popup.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget

DataRole = Qt.ItemDataRole.UserRole + 1
SearchFn = Callable[[str], list[tuple[str, Any]]]


class SearchPicker(QLineEdit):
    """``picked(data)`` fires when the user chooses a match (click, Enter on a match, or exact text);
    ``unmatched(text)`` when Enter is pressed on text that matches nothing (the choice is unchanged)."""

    picked = Signal(object)
    unmatched = Signal(str)

    def __init__(self, search_fn: SearchFn, placeholder: str = "", parent: QWidget | None = None,
                 debounce_ms: int = 120) -> None:
        super().__init__(parent)
        self.search_fn = search_fn
        self._data: Any = None
        self.setPlaceholderText(placeholder)
        self.setClearButtonEnabled(True)
        self.matches = QStandardItemModel(self)
        self.completer_ = QCompleter(self.matches, self)
        self.completer_.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer_.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer_.setMaxVisibleItems(15)
        self.completer_.setWidget(self)
        self.completer_.activated[QModelIndex].connect(self._on_activated)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self.refresh_matches)
        self.textEdited.connect(lambda _t: self._timer.start())
        self.returnPressed.connect(self._on_return)

    def current_data(self) -> Any:
        return self._data

    def set_current(self, label: str, data: Any, emit: bool = False) -> None:
        self._data = data
        self.setText(label)
        if emit:
            self.picked.emit(data)

    def refresh_matches(self) -> None:
        """Run the search for the current text and show the matches."""
        self.matches.clear()
        for label, data in self.search_fn(self.text().strip()):
            item = QStandardItem(label)
            item.setData(data, DataRole)
            self.matches.appendRow(item)
        if self.matches.rowCount() and self.hasFocus():
            self.completer_.complete()

    def focusInEvent(self, event) -> None:  # show choices as soon as the box is entered
        super().focusInEvent(event)
        if not self.text():
            self._timer.start()

    def _on_activated(self, index: QModelIndex) -> None:
        self.set_current(index.data(), index.data(DataRole), emit=True)

    def _on_return(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
            self.refresh_matches()
        if self.matches.rowCount():
            first = self.matches.index(0, 0)
            self.completer_.popup().hide()
            self._on_activated(first)
        elif self.text().strip():
            self.unmatched.emit(self.text().strip())

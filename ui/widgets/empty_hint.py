"""A table view that says what to do when it has no rows ("No products yet: Import…"), instead of a blank."""
from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QTableView, QWidget


class HintTableView(QTableView):
    """A QTableView drawing :meth:`set_empty_hint`'s text in its middle while its model has no rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._hint = ""

    def empty_hint(self) -> str:
        return self._hint

    def set_empty_hint(self, text: str) -> None:
        """The text shown while the table is empty ("" for none)."""
        if text != self._hint:
            self._hint = text
            self.viewport().update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        model = self.model()
        if not self._hint or (model is not None and model.rowCount() > 0):
            return
        painter = QPainter(self.viewport())
        try:
            painter.setPen(self.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.PlaceholderText))
            area = self.viewport().rect()
            width = min(area.width() - 40, 640)
            box = QRect(area.center().x() - width // 2, area.top() + 40, width, max(0, area.height() - 80))
            painter.drawText(box, int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
                                      | Qt.TextFlag.TextWordWrap), self._hint)
        finally:
            painter.end()

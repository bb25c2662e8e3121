"""File ▸ Past imports…: every import of the shop, newest first, and Undo for one found wrong days later.

Undo runs in the background through the same job as the import dialog's (``shopai_ui.import_undo``); an
import undone already, or one whose undo fails, says so in plain words in the dialog.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QDialog, QHBoxLayout, QHeaderView, QLabel, QMessageBox, QPushButton, QTableWidget,
    QTableWidgetItem, QVBoxLayout, QWidget,
)

from shopai_ui.context import ShopContext
from shopai_ui.import_undo import CHANGED_TABLES, undo_job, undone_text
from shopai_ui.widgets.message import MessageBar
from shopai_ui.widgets.progress import ProgressPanel
from shopai_ui.widgets.sql_table import fmt_datetime
from shopai_ui.widgets.tables import filling
from shopai_ui.worker import JobRunner

KIND_NAMES = {"catalog": "Catalog", "orders": "Orders"}


class ImportsDialog(QDialog):
    """The shop's imports (number, date, kind, file, rows); **Undo this import…** for the selected one."""

    def __init__(self, ctx: ShopContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(self.tr("Past imports"))
        self.resize(900, 480)
        self.runner = JobRunner(self)
        self.rows: list[dict] = []
        intro = QLabel(self.tr("Every file imported into this shop, newest first. Undoing one takes back what it "
                               "added and puts back what it changed, as if it had never been imported."))
        intro.setWordWrap(True)
        self.message = MessageBar(self)
        self.table = QTableWidget(0, 7)
        self.table.setHorizontalHeaderLabels([self.tr("No."), self.tr("Imported"), self.tr("Kind"), self.tr("File"),
                                              self.tr("Rows imported"), self.tr("Skipped"), self.tr("Undone")])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        for col in range(7):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.progress = ProgressPanel(self.runner, self)
        self.undo_button = QPushButton(self.tr("&Undo this import…"))
        self.undo_button.clicked.connect(self.undo_selected)
        close = QPushButton(self.tr("Close"))
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        buttons.addStretch(0)  # (the buttons keep their size while the progress bar is hidden)
        buttons.addWidget(self.undo_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.message)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.runner.started.connect(self._update_buttons)
        self.runner.finished.connect(self._update_buttons)
        self.refresh()

    def refresh(self) -> None:
        from shopai.io import list_imports

        self.rows = list_imports(self.ctx.db)
        with filling(self.table):
            self.table.setRowCount(len(self.rows))
            for r, row in enumerate(self.rows):
                cells = [str(row["id"]), fmt_datetime(row["started_at"]),
                         self.tr(KIND_NAMES.get(row["kind"], row["kind"])), Path(row["file"]).name,
                         f"{row['rows_ok']:,}", f"{row['rows_skipped']:,}",
                         fmt_datetime(row["undone_at"])]
                for c, text in enumerate(cells):
                    item = QTableWidgetItem(text)
                    if c in (0, 4, 5):
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    if c == 3:
                        item.setToolTip(row["file"])
                    self.table.setItem(r, c, item)
        if not self.rows:
            self.message.show_info(self.tr("Nothing has been imported into this shop yet."))
        elif self.table.currentRow() < 0:
            self.table.selectRow(0)
        self._update_buttons()

    def selected(self) -> dict | None:
        r = self.table.currentRow()
        return self.rows[r] if 0 <= r < len(self.rows) and self.table.selectionModel().hasSelection() else None

    def _update_buttons(self) -> None:
        row = self.selected()
        self.undo_button.setEnabled(row is not None and not row["undone_at"] and not self.runner.running)

    def confirm_undo(self, row: dict) -> bool:
        """Ask before undoing (tests replace this)."""
        answer = QMessageBox.question(
            self, self.tr("Undo import"),
            self.tr("Undo import {0} ({1}, {2})?\n\nWhat it added goes, and what it changed gets its old values "
                    "back. A backup of the shop is made first.").format(
                row["id"], Path(row["file"]).name, fmt_datetime(row["started_at"])),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def undo_selected(self) -> bool:
        """Ask, then undo the selected import in the background. Returns whether it started."""
        row = self.selected()
        if row is None or row["undone_at"] or self.runner.running or not self.confirm_undo(row):
            return False
        self.message.clear()
        db_path, import_id = self.ctx.db_path, row["id"]
        self.runner.start(lambda: undo_job(db_path, import_id),
                          on_result=lambda counts: self._undone(import_id, counts), on_error=self._failed)
        return True

    def _undone(self, import_id: int, counts: dict) -> None:
        self.message.show_info(undone_text(import_id, counts))
        self.ctx.notify_changed(CHANGED_TABLES)
        self.ctx.show_status(self.tr("Import {0} undone").format(import_id))
        self.refresh()

    def _failed(self, message: str) -> None:
        self.message.show_error(message)
        self.refresh()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.runner.shutdown()  # an undo under way finishes (one transaction past its start)
        super().closeEvent(event)

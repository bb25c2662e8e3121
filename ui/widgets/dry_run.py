"""The import dialog's dry-run views: the sample rows as they would be imported, and the list of row problems.

:class:`SampleTable` shows the first lines of a preview, one column per field that has a value somewhere;
:class:`ProblemsPanel` shows the counts and commonest reasons of every problem, the first of them (a
``ProblemSummary`` made in the worker thread says which), and a "Save the list…" button the dialog connects.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QListWidget, QPushButton, QTableWidget, QTableWidgetItem,
    QVBoxLayout, QWidget,
)

from shopai.io.problems import ProblemSummary

SHORT_LABELS = {"sku": "SKU", "title": "Title", "description": "Description", "category": "Category",
                "price": "Price", "cost": "Cost", "stock": "Stock", "image": "Image", "vendor": "Vendor",
                "order_id": "Order no.",
                "ordered_at": "Date", "quantity": "Qty", "unit_price": "Unit price", "customer_id": "Customer",
                "country": "Country", "status": "Status"}


def cell_text(value: Any) -> str:
    """A sample value as the table shows it."""
    if value is None:
        return ""
    if isinstance(value, str) and len(value) == 19 and value[10] == "T" and value[4] == "-":
        return value.replace("T", " ")[:16]  # an ISO timestamp: no seconds, no "T"
    if isinstance(value, float):
        return ("%.4f" % value).rstrip("0").rstrip(".")
    return str(value)


class SampleTable(QTableWidget):
    """The preview's sample rows, read-only; ``row_height`` is the height of a row in pixels."""

    def __init__(self, row_height: int, parent: QWidget | None = None) -> None:
        super().__init__(0, 0, parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setDefaultSectionSize(row_height)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)

    def fill(self, pv) -> None:
        """Show ``pv.sample`` (an ImportPreview's); empty for None or a preview without sample rows."""
        self.clear()
        if pv is None or not pv.sample:
            self.setRowCount(0)
            self.setColumnCount(0)
            return
        keys = [k for k in pv.sample[0].keys() if any(r.get(k) not in (None, "") for r in pv.sample)]
        self.setColumnCount(len(keys))
        self.setHorizontalHeaderLabels([self.tr(SHORT_LABELS.get(k, k)) for k in keys])
        self.setRowCount(len(pv.sample))
        for r, row in enumerate(pv.sample):
            for c, key in enumerate(keys):
                value = row.get(key)
                item = QTableWidgetItem(cell_text(value))
                if isinstance(value, (int, float)):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(r, c, item)
        widths = {"title": 240, "description": 240, "ordered_at": 135, "country": 120, "category": 130}
        for c, key in enumerate(keys):
            self.setColumnWidth(c, widths.get(key, 90))


class ProblemsPanel(QWidget):
    """The row problems of a dry run or an import: ``label`` (counts and commonest reasons), ``list`` (the
    problems listed) and ``save_button`` (shown when there are problems; the owner connects it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.list = QListWidget()
        self.list.setAlternatingRowColors(True)
        self.save_button = QPushButton(self.tr("&Save the list…"))
        self.save_button.setToolTip(self.tr("Write every problem (row, skipped or imported, reason) "
                                            "to a CSV file you can open in a spreadsheet"))
        self.save_button.hide()
        self.all_problems: list = []  # every problem of the dry run or import the list shows
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(self.label, 1)
        head.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(head)
        layout.addWidget(self.list, 1)

    def fill(self, summary: ProblemSummary, problems: list, checked: bool) -> None:
        """The counts and commonest reasons over every problem, and the problems ``summary`` lists;
        ``problems`` (all of them) is kept for "Save the list…". ``checked``: a file was checked (then no
        problem at all says so)."""
        self.list.clear()
        self.all_problems = list(problems)
        self.save_button.setVisible(bool(summary.total))
        if not summary.total:
            self.label.setText(self.tr("No problems found.") if checked else "")
            return
        parts = []
        if summary.skipped:
            parts.append(self.tr("1 problem (row skipped)") if summary.skipped == 1 else
                         self.tr("{0:,} problems (rows skipped)").format(summary.skipped))
        if summary.notes:
            parts.append(self.tr("1 note (row imported)") if summary.notes == 1 else
                         self.tr("{0:,} notes (rows imported)").format(summary.notes))
        text = " · ".join(parts)
        if summary.reasons > 1:
            text += " — " + "; ".join(f"{n:,}× {reason}" for reason, n in summary.common)
        self.label.setText(text)
        lines = []
        for p in summary.listed:
            where = self.tr("Whole file") if p.row == 0 else self.tr("Row {0}").format(p.row)
            suffix = "" if p.skipped else self.tr(" (imported)")
            lines.append(f"{where}: {p.message}{suffix}")
        if summary.more:
            lines.append(self.more_line(summary.more))
        self.list.addItems(lines)

    def more_line(self, more: int) -> str:
        """The last line of a cut list: how many more (all in the counts above) and where to see them."""
        return self.tr("… and {0:,} more, counted above: “Save the list…” writes every one to a CSV file.").format(more)

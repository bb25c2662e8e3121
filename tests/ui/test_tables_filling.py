"""``filling``: a QTableWidget filled cell by cell with its ResizeToContents columns measured once."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem

from shopai_ui.widgets.tables import filling

FIT, INTERACTIVE = QHeaderView.ResizeMode.ResizeToContents, QHeaderView.ResizeMode.Interactive


def test_columns_fit_their_longest_text_after_filling_and_keep_their_modes(qtbot):
    table = QTableWidget(0, 3)
    qtbot.addWidget(table)
    table.horizontalHeader().setSectionResizeMode(1, FIT)
    table.setColumnWidth(2, 77)
    table.show()
    with filling(table):
        assert table.horizontalHeader().sectionResizeMode(1) == INTERACTIVE and not table.updatesEnabled()
        table.setRowCount(50)
        for r in range(50):
            for c in range(3):
                table.setItem(r, c, QTableWidgetItem("a fairly long category name" if r == 37 else "x"))
    assert [table.horizontalHeader().sectionResizeMode(c) for c in range(3)] == [INTERACTIVE, FIT, INTERACTIVE]
    assert table.updatesEnabled() and table.columnWidth(2) == 77
    assert table.columnWidth(1) >= table.fontMetrics().horizontalAdvance("a fairly long category name")


def test_an_error_while_filling_leaves_the_table_usable(qtbot):
    table = QTableWidget(2, 2)
    qtbot.addWidget(table)
    table.horizontalHeader().setSectionResizeMode(0, FIT)
    with pytest.raises(ZeroDivisionError), filling(table):
        1 / 0
    assert table.horizontalHeader().sectionResizeMode(0) == FIT and table.updatesEnabled()

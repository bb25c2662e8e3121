"""Helpers for QTableWidget tables filled cell by cell."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from PySide6.QtWidgets import QHeaderView, QTableWidget

_FIT = QHeaderView.ResizeMode.ResizeToContents


@contextmanager
def filling(table: QTableWidget) -> Iterator[None]:
    """Fill ``table`` inside this block: its ResizeToContents columns are measured once, at the end.

    Once a table is laid out and shown, every change that may alter a cell's size (``setItem``, ``setText``)
    makes Qt measure each ResizeToContents column again over all its rows, so filling n rows costs n² cell
    measurements: refilling the 500-row review queue took 18 s. Inside the block those columns are
    Interactive (they keep their width) and the table does not repaint; leaving it makes them
    ResizeToContents again, which measures each of them once. The columns must stay the same inside.
    """
    header = table.horizontalHeader()
    fit = [c for c in range(header.count()) if header.sectionResizeMode(c) == _FIT]
    updates = table.updatesEnabled()
    table.setUpdatesEnabled(False)
    for c in fit:
        header.setSectionResizeMode(c, QHeaderView.ResizeMode.Interactive)
    try:
        yield
    finally:
        for c in fit:
            header.setSectionResizeMode(c, _FIT)
        table.setUpdatesEnabled(updates)

"""What every tab gets: the open shop, a change signal, a status line and error reporting.

Tabs never talk to each other; they read the shared store and announce their writes here.
"""
from __future__ import annotations

from typing import Callable, Iterable

import sqlite_utils
from PySide6.QtCore import QObject, Signal

from shopai.store import open_store

WINDOW_BUSY_TIMEOUT_MS = 2000


class ShopContext(QObject):
    """The shop a window shows. ``dataChanged`` carries the set of table names that changed."""

    dataChanged = Signal(object)
    productRequested = Signal(int)  # show this product in the Catalog (the window switches tab)
    customerRequested = Signal(int)  # show this customer's orders in the Orders tab
    forecastRequested = Signal(str)  # forecast this product (SKU) in the Price forecast tab
    recommendationsRequested = Signal(str)  # what is bought with this product (SKU), in Recommendations

    def __init__(self, db_path: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db_path = str(db_path)
        self.db: sqlite_utils.Database = open_store(self.db_path)
        # the window's own writes (an edit, a status) wait at most this long for a background write (an import's
        # transaction) to end: the window stays responsive and says the shop is busy, instead of freezing
        self.db.conn.execute(f"PRAGMA busy_timeout = {WINDOW_BUSY_TIMEOUT_MS}")
        from shopai.store.title_keys import fill_when_opening

        fill_when_opening(self.db)  # Chinese titles another program renamed: their pinyin, to sort by
        self._status: Callable[[str], None] | None = None

    def notify_changed(self, tables: Iterable[str]) -> None:
        self.dataChanged.emit(set(tables))

    def show_product(self, product_id: int) -> None:
        """Ask the window to show this product in the Catalog (a double-click in another tab's list)."""
        self.productRequested.emit(int(product_id))

    def show_customer(self, customer_id: int) -> None:
        """Ask the window to show this customer's orders (customers.id) in the Orders tab."""
        self.customerRequested.emit(int(customer_id))

    def show_forecast(self, sku: str) -> None:
        """Ask the window to forecast this product's sales in the Price forecast tab."""
        self.forecastRequested.emit(sku)

    def show_recommendations(self, sku: str) -> None:
        """Ask the window to show what is bought with this product, and what is like it, in Recommendations."""
        self.recommendationsRequested.emit(sku)

    def set_status_sink(self, sink: Callable[[str], None]) -> None:
        self._status = sink

    def show_status(self, text: str) -> None:
        if self._status is not None:
            self._status(text)

    def report_error(self, exc: BaseException) -> None:
        from shopai_ui.errors import report_exception

        report_exception(exc)

    def close(self) -> None:
        self.db.conn.close()

"""The Orders tab: every order (lazy table over SQL), the lines of the selected one, and the
history of its customer (their orders and totals).

Filtering by order number or customer happens in SQL (``shopai.store.orders.order_ids``).
"""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QItemSelectionModel, Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView, QFormLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
    QSplitter, QTableView, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from shopai.store import orders
from shopai_ui.context import ShopContext
from shopai_ui.widgets import wording
from shopai_ui.widgets.empty_hint import HintTableView
from shopai_ui.widgets.message import MessageBar
from shopai_ui.widgets.sql_table import (
    ALIGN_CENTER, ALIGN_RIGHT, Column, SqlTableModel, fmt_datetime, fmt_int, fmt_money, keep_sort_indicator,
)

FILTER_DEBOUNCE_MS = 150
ORDER_TABLES = {"orders", "order_lines", "customers", "products", "imports"}
_MUTED = QBrush(QColor("#8a8a8a"))
_RETURNED = QBrush(QColor("#b03a2e"))


def _status_colour(row: dict) -> QBrush | None:
    status = row.get("status")
    if status == "cancelled":
        return _MUTED
    if status == "returned":
        return _RETURNED
    return None


def guest_label() -> str:
    """What the Customer column shows for an order without a customer."""
    return QCoreApplication.translate("OrdersTab", "Guest")


def _fmt_customer(value) -> str:
    return str(value) if value not in (None, "") else guest_label()


def order_columns(tr) -> list[Column]:
    return [
        Column("external_id", tr("Order no."), sort_key="external_id"),
        Column("customer", tr("Customer"), _fmt_customer),
        Column("ordered_at", tr("Date"), fmt_datetime),
        Column("status", tr("Status"), alignment=ALIGN_CENTER),
        Column("lines", tr("Lines"), fmt_int, ALIGN_RIGHT, sortable=False),
        Column("total", tr("Total"), fmt_money, ALIGN_RIGHT),
        Column("country", tr("Country")),
    ]


def _setup_table(view: QTableView, widths: dict[int, int], stretch: int | None = None) -> None:
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 8)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    for col, width in widths.items():
        view.setColumnWidth(col, width)
    if stretch is not None:
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)


class OrdersTab(QWidget):
    """All orders, filterable; the selected order's lines; its customer's history."""

    def __init__(self, ctx: ShopContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._text = ""
        self._only_customer: int | None = None
        self._customer_id: int | None = None  # the customer shown in the history panel
        self._guest = False  # the selected order is a guest order (no customer to show)
        self._lines_order_id: int | None = None

        # -- filter bar
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(self.tr("Filter by order number or customer…  (Ctrl+F)"))
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(lambda _t: self._debounce.start())
        self.count_label = QLabel()
        self.only_customer_label = QLabel()
        self.only_customer_label.setStyleSheet("QLabel { color: #0d3c61; }")
        self.show_all_button = QPushButton(self.tr("Show all customers"))
        self.show_all_button.clicked.connect(lambda: self.filter_by_customer(None))
        self.show_all_button.hide()
        self.import_button = QPushButton(self.tr("&Import orders…"))
        self.import_button.clicked.connect(self.import_orders)
        bar = QHBoxLayout()
        bar.addWidget(self.filter, 1)
        bar.addWidget(self.only_customer_label)
        bar.addWidget(self.show_all_button)
        bar.addWidget(self.count_label)
        bar.addSpacing(12)
        bar.addWidget(self.import_button)
        self.message = MessageBar(self)

        # -- all orders
        self.model = SqlTableModel(
            order_columns(self.tr), self._query_ids, lambda ids: orders.fetch_rows(self.ctx.db, ids),
            sort_key="ordered_at", descending=True, foreground=_status_colour, parent=self,
        )
        self.table = HintTableView()
        self.table.setModel(self.model)
        _setup_table(self.table, {0: 100, 1: 100, 2: 140, 3: 80, 4: 60, 5: 90}, stretch=6)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setSortIndicator(2, Qt.SortOrder.DescendingOrder)
        self.table.setSortingEnabled(True)
        keep_sort_indicator(self.table)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.model.modelReset.connect(self._on_reset)
        self._widths_fitted = False
        self.model.refreshed.connect(self._fit_id_columns)

        # -- lines of the selected order
        self.lines_box = QGroupBox(self.tr("Order lines"))
        self.lines = QTableWidget(0, 5)
        self.lines.setHorizontalHeaderLabels([self.tr("SKU"), self.tr("Product"), self.tr("Qty"),
                                              self.tr("Unit price"), self.tr("Amount")])
        _setup_table(self.lines, {0: 80, 2: 50, 3: 80, 4: 80}, stretch=1)
        self.lines.setToolTip(self.tr("Double-click a line to see its product in the Catalog"))
        self.lines.itemActivated.connect(self._show_line_product)
        self.lines_total = QLabel()
        self.lines_total.setAlignment(Qt.AlignmentFlag.AlignRight)
        lines_layout = QVBoxLayout(self.lines_box)
        lines_layout.addWidget(self.lines, 1)
        lines_layout.addWidget(self.lines_total)

        # -- the customer's history
        self.customer_box = QGroupBox(self.tr("Customer"))
        self.summary: dict[str, QLabel] = {}
        summary_form = QFormLayout()
        for key, label in (("who", self.tr("Customer")), ("orders", self.tr("Orders")),
                           ("spend", self.tr("Spent")), ("period", self.tr("Buying since"))):
            value = QLabel()
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.summary[key] = value
            summary_form.addRow(label, value)
        self.history_model = SqlTableModel(
            [c for c in order_columns(self.tr) if c.key in ("external_id", "ordered_at", "status", "lines", "total")],
            self._query_history_ids, lambda ids: orders.fetch_rows(self.ctx.db, ids),
            sort_key="ordered_at", descending=True, foreground=_status_colour, parent=self,
        )
        self.history = QTableView()
        self.history.setModel(self.history_model)
        _setup_table(self.history, {0: 80, 1: 130, 2: 70, 3: 50}, stretch=4)
        self.history.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.history.horizontalHeader().setSortIndicator(1, Qt.SortOrder.DescendingOrder)
        self.history.setSortingEnabled(True)
        keep_sort_indicator(self.history)
        self.history.selectionModel().currentRowChanged.connect(self._on_history_current_changed)
        self.only_button = QPushButton(self.tr("Show only this customer's orders"))
        self.only_button.clicked.connect(lambda: self.filter_by_customer(self._customer_id))
        customer_layout = QVBoxLayout(self.customer_box)
        customer_layout.addLayout(summary_form)
        customer_layout.addWidget(self.history, 1)
        customer_layout.addWidget(self.only_button)

        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.lines_box)
        bottom.addWidget(self.customer_box)
        bottom.setStretchFactor(0, 3)
        bottom.setStretchFactor(1, 2)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(bottom)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        split.setSizes([560, 320])  # the order list gets most of the height
        bottom.setSizes([640, 480])

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(FILTER_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.apply_filter)
        ctx.dataChanged.connect(self._on_data_changed)
        self._update_count()
        self.show_customer(None)
        self.show_lines(None)

    def keyPressEvent(self, event) -> None:
        from PySide6.QtGui import QKeySequence

        if event.matches(QKeySequence.StandardKey.Find):
            self.filter.setFocus(Qt.FocusReason.ShortcutFocusReason)
            self.filter.selectAll()
            return
        super().keyPressEvent(event)

    # -- queries --------------------------------------------------------------------------
    def _query_ids(self, sort_key: str, descending: bool) -> list[int]:
        return orders.order_ids(self.ctx.db, self._text, customer_id=self._only_customer,
                                order_by=sort_key, descending=descending, guest_label=guest_label())

    def _query_history_ids(self, sort_key: str, descending: bool) -> list[int]:
        if self._customer_id is None:
            return []
        return orders.order_ids(self.ctx.db, customer_id=self._customer_id, order_by=sort_key,
                                descending=descending)

    def apply_filter(self) -> None:
        self._debounce.stop()
        self._text = self.filter.text()
        self.model.refresh()
        self._update_count()
        if self.model.rowCount():
            self.table.scrollToTop()

    def set_filter_text(self, text: str) -> None:
        self.filter.setText(text)
        self.apply_filter()

    def filter_by_customer(self, customer_id: int | None) -> None:
        """Show only this customer's orders in the main table (None: everyone's)."""
        self._only_customer = customer_id
        summary = orders.customer_summary(self.ctx.db, customer_id) if customer_id is not None else None
        if summary:
            self.only_customer_label.setText(self.tr("Customer {0} only").format(summary["external_id"]))
        self.only_customer_label.setVisible(bool(summary))
        self.show_all_button.setVisible(customer_id is not None)
        self.only_button.setEnabled(self._customer_id is not None and self._customer_id != customer_id)
        self.model.refresh()
        self._update_count()
        if self.model.rowCount():
            self.table.selectRow(0)

    def _fit_id_columns(self, rows: int) -> None:
        """Once there are orders, widen the order-number and customer columns to what the rows in view need
        ("DD20230904153012" or an e-mail address were cut off while the window had room), within limits."""
        if self._widths_fitted or not rows or not self.table.isVisible():
            return
        self._widths_fitted = True
        for col in (0, 1):
            need = self.table.sizeHintForColumn(col)
            self.table.setColumnWidth(col, max(self.table.columnWidth(col), min(need, 260)))

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        QTimer.singleShot(0, lambda: self._fit_id_columns(self.model.rowCount()))

    def _update_count(self) -> None:
        n = self.model.rowCount()
        if self._text.strip() or self._only_customer is not None:
            self.count_label.setText(self.tr("{0:,} found").format(n))
            self.table.set_empty_hint(self.tr("No order matches this filter."))
        else:
            self.count_label.setText(self.tr("{0:,} orders").format(n))
            self.table.set_empty_hint(self.tr(
                "No orders yet.\n\nPress Import orders… to bring in your sales: an orders export from Shopify, "
                "WooCommerce or Square, or any spreadsheet of sales saved as CSV. Recommendations, Price "
                "forecast and Customers all learn from them."))

    # -- selection ----------------------------------------------------------------------------
    def current_order_id(self) -> int | None:
        index = self.table.currentIndex()
        return self.model.id_at(index.row()) if index.isValid() else None

    def select_order(self, order_id: int) -> bool:
        row = self.model.row_of(order_id)
        if row is None:
            return False
        self.table.selectionModel().setCurrentIndex(
            self.model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(self.model.index(row, 0))
        return True

    def _on_reset(self) -> None:
        self._on_current_changed(self.table.currentIndex())

    def _on_current_changed(self, current, _previous=None) -> None:
        order_id = self.model.id_at(current.row()) if current.isValid() else None
        self.show_lines(order_id)
        if order_id is None:
            if self._only_customer is None:  # nothing found: no customer of some earlier order either
                self.show_customer(None)
            return
        row = self.model.row_dict(current.row()) or {}
        external = row.get("customer")
        customer_id = orders.customer_id_for(self.ctx.db, external) if external else None
        if customer_id != self._customer_id or customer_id is None:
            self.show_customer(customer_id, guest=external is None)
        self._select_in_history(order_id)

    def _on_history_current_changed(self, current, _previous=None) -> None:
        order_id = self.history_model.id_at(current.row()) if current.isValid() else None
        if order_id is not None and order_id != self._lines_order_id:
            if not self.select_order(order_id):
                self.show_lines(order_id)

    def _select_in_history(self, order_id: int) -> None:
        row = self.history_model.row_of(order_id)
        if row is None:
            self.history.clearSelection()
            return
        self.history.selectionModel().blockSignals(True)
        self.history.selectionModel().setCurrentIndex(
            self.history_model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.history.selectionModel().blockSignals(False)
        self.history.viewport().update()
        self.history.scrollTo(self.history_model.index(row, 0))

    # -- panels ---------------------------------------------------------------------------------
    def _show_line_product(self, item: QTableWidgetItem) -> None:
        product_id = item.data(Qt.ItemDataRole.UserRole)
        if product_id is not None:
            self.ctx.show_product(product_id)

    def show_lines(self, order_id: int | None) -> None:
        self._lines_order_id = order_id
        rows = orders.lines(self.ctx.db, order_id) if order_id is not None else []
        self.lines.setRowCount(len(rows))
        total = 0.0
        for r, line in enumerate(rows):
            total += line["amount"] or 0
            cells = [
                (line["sku"] or "", None), (line["title"], None),
                (fmt_int(line["quantity"]), ALIGN_RIGHT), (fmt_money(line["unit_price"]), ALIGN_RIGHT),
                (fmt_money(line["amount"]), ALIGN_RIGHT),
            ]
            for c, (text, align) in enumerate(cells):
                item = QTableWidgetItem(text)
                if align is not None:
                    item.setTextAlignment(align)
                if line["quantity"] is not None and line["quantity"] < 0:
                    item.setForeground(_RETURNED)
                item.setData(Qt.ItemDataRole.UserRole, line["product_id"])  # None: a deleted product
                self.lines.setItem(r, c, item)
        if order_id is None:
            self.lines_box.setTitle(self.tr("Order lines"))
            self.lines_total.setText(self.tr("Select an order to see what was in it."))
            return
        order = orders.fetch_rows(self.ctx.db, [order_id]).get(order_id, {})
        status = order.get("status", "")
        title = self.tr("Order {0} — {1}").format(order.get("external_id", ""), fmt_datetime(order.get("ordered_at")))
        if status and status != "paid":
            title += f" ({status})"
        self.lines_box.setTitle(title)
        text = self.tr("{0} · total {1}").format(
            wording.count(len(rows), self.tr("1 line"), self.tr("{0:,} lines")), fmt_money(total))
        value = order.get("total")
        if value is not None and abs(value - total) >= 0.005:
            # the order's value (what customer spend adds up): its goods after discounts and refunds
            text += self.tr(" · order value {0} (after discounts and refunds)").format(fmt_money(value))
        self.lines_total.setText(text)

    def show_customer(self, customer_id: int | None, guest: bool = False) -> None:
        """Show a customer's summary and their orders in the history panel (``guest``: the selected order has
        no customer)."""
        self._customer_id = customer_id
        self._guest = guest
        summary = orders.customer_summary(self.ctx.db, customer_id) if customer_id is not None else None
        self.history_model.refresh()
        self.only_button.setEnabled(summary is not None and self._only_customer != customer_id)
        if summary is None:
            self.customer_box.setTitle(self.tr("Customer"))
            text = self.tr("Guest order: no customer history.") if guest else self.tr("Select an order.")
            self.summary["who"].setText(text)
            for key in ("orders", "spend", "period"):
                self.summary[key].clear()
            return
        who = summary["external_id"]
        if summary.get("name"):
            who = f"{summary['name']} ({who})"
        if summary.get("country"):
            who += f" · {summary['country']}"
        self.customer_box.setTitle(self.tr("Customer {0}").format(summary["external_id"]))
        self.summary["who"].setText(who)
        all_orders = self.history_model.rowCount()
        other = all_orders - summary["orders"]
        text = self.tr("{0:,} paid").format(summary["orders"])
        if other > 0:
            text += self.tr(", {0:,} cancelled or returned").format(other)
        self.summary["orders"].setText(text)
        self.summary["spend"].setText(fmt_money(summary["spend"]))
        if summary["first_order"]:
            self.summary["period"].setText(self.tr("{0} — last order {1}").format(
                str(summary["first_order"])[:10], str(summary["last_order"])[:10]))
        else:
            self.summary["period"].setText(self.tr("no paid orders"))

    def _on_data_changed(self, tables: object) -> None:
        if tables and not (set(tables) & ORDER_TABLES):
            return
        current = self.current_order_id()
        self.model.refresh()
        self._update_count()
        if current is not None and self.select_order(current):
            self.show_lines(current)
        self.show_customer(self._customer_id, guest=self._guest and current is not None)

    def import_orders(self) -> None:
        from shopai_ui.import_dialog import open_import_dialog

        open_import_dialog(self.ctx, self, kind="orders")

    def shutdown(self) -> None:
        self._debounce.stop()

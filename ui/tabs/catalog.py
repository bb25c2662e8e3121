"""The Catalog tab: search-as-you-type over the products, a lazy table, photo and details, editing.

The table is a :class:`SqlTableModel`: the search box and category filter only change the ids
query (FTS5 in SQL), so it stays smooth with 100,000 products. ``search_bar_layout`` is where a
microphone button can sit beside the search box; ``set_search_text`` fills the box from outside.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QItemSelection, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMenu, QMessageBox,
    QPushButton, QSplitter, QVBoxLayout, QWidget,
)

from shopai.jobs import UserError
from shopai.store import deletions, products
from shopai_ui.context import ShopContext
from shopai_ui.product_editor import ProductEditorDialog
from shopai_ui.widgets.empty_hint import HintTableView
from shopai_ui.widgets.message import MessageBar
from shopai_ui.widgets.product_details import ProductDetails, status_label
from shopai_ui.widgets.sql_table import (
    ALIGN_RIGHT, Column, SqlTableModel, fmt_datetime, fmt_int, fmt_money,
)
from shopai_ui.widgets.wording import count
from shopai_ui.worker import JobRunner

SEARCH_DEBOUNCE_MS = 150
PRODUCT_TABLES = {"products", "categories", "imports"}


_NOT_FOR_SALE = QBrush(QColor("#808080"))


class CatalogTab(QWidget):
    """Browse, search and edit the catalog. ``selectionChangedTo(ids)`` tells what is selected."""

    selectionChangedTo = Signal(object)

    def __init__(self, ctx: ShopContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.editor: ProductEditorDialog | None = None
        self._before_edit: dict | None = None  # the product being edited, as it was (for Undo)
        self._text = ""
        self._category: str | None = None
        self._status: str | None = None  # None: every status
        # The unfiltered, sorted ids: clearing the search is then instant. Dropped on any product change.
        self._all_ids: tuple[tuple[str, bool], list[int]] | None = None

        # -- search bar: [search box][mic slot][category][count] ... [Add][Edit][Delete][Import]
        self.search = QLineEdit()
        self.search.setPlaceholderText(self.tr("Search products by title, SKU, description… (Ctrl+F)"))
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_text_changed)
        self.category = QComboBox()
        self.category.setMinimumContentsLength(14)
        self.category.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.category.currentIndexChanged.connect(self._on_category_changed)
        # shown only in a shop with drafts or archived products (see _show_status_column)
        self.status_filter = QComboBox()
        for label, key in ((self.tr("All statuses"), None), (self.tr("Active"), "active"),
                           (self.tr("Drafts"), "draft"), (self.tr("Archived"), "archived")):
            self.status_filter.addItem(label, key)
        self.status_filter.setToolTip(self.tr("Show only active products, drafts or archived ones"))
        self.status_filter.currentIndexChanged.connect(self._on_status_changed)
        self.count_label = QLabel()
        self.add_button = QPushButton(self.tr("&Add…"))
        self.add_button.setToolTip(self.tr("Add a product (Ctrl+N)"))
        self.add_button.clicked.connect(self.add_product)
        self.edit_button = QPushButton(self.tr("&Edit…"))
        self.edit_button.setToolTip(self.tr("Edit the selected product (Enter)"))
        self.edit_button.clicked.connect(self.edit_selected)
        self.delete_button = QPushButton(self.tr("&Delete"))
        self.delete_button.setToolTip(self.tr("Delete the selected products (Del)"))
        self.delete_button.clicked.connect(self.delete_selected)
        self.import_button = QPushButton(self.tr("&Import…"))
        self.import_button.setToolTip(self.tr("Import a catalog from a CSV file"))
        self.import_button.clicked.connect(self.import_catalog)

        #: The search box's row. A microphone button goes right after the search box:
        #: ``tab.search_bar_layout.insertWidget(tab.mic_slot_index, MicButton(...))``.
        self.search_bar_layout = QHBoxLayout()
        self.search_bar_layout.addWidget(self.search, 1)
        self.mic_slot_index = 1
        self.search_bar_layout.addWidget(self.category)
        self.search_bar_layout.addWidget(self.status_filter)
        self.search_bar_layout.addWidget(self.count_label)
        self.search_bar_layout.addSpacing(12)
        for button in (self.add_button, self.edit_button, self.delete_button, self.import_button):
            self.search_bar_layout.addWidget(button)

        self.message = MessageBar(self)
        self.deleter = JobRunner(self)  # delete and undo-delete: seconds for 100,000 products, off the window's thread

        # -- the table
        self.model = SqlTableModel(
            [
                Column("sku", self.tr("SKU")),
                Column("title", self.tr("Title")),
                Column("category", self.tr("Category")),
                Column("price", self.tr("Price"), fmt_money, ALIGN_RIGHT),
                Column("stock", self.tr("Stock"), fmt_int, ALIGN_RIGHT),
                Column("updated_at", self.tr("Updated"), fmt_datetime),
                # drafts and archived products stay listed, greyed, and are never offered to customers
                Column("status", self.tr("Status"), self._status_text),
            ],
            self._query_ids,
            lambda ids: products.fetch_rows(self.ctx.db, ids),
            sort_key="title",
            foreground=lambda row: _NOT_FOR_SALE if row.get("status", "active") != "active" else None,
            parent=self,
        )
        self.table = HintTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setSortIndicator(1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)  # runs the first ids query (sorted by title)
        self.table.verticalHeader().hide()
        # Fixed row heights: the view never measures rows, so it never fetches rows it doesn't show.
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 110), (2, 150), (3, 80), (4, 64), (5, 130), (6, 76)):
            self.table.setColumnWidth(col, width)
        self.table.doubleClicked.connect(lambda _index: self.edit_selected())
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(
            lambda pos: self.selection_menu().exec(self.table.viewport().mapToGlobal(pos)))
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.model.modelReset.connect(self._on_selection_changed)

        # -- side panel: photo + details of the current product
        side = ProductDetails(self)
        self.photo, self.details = side.photo, side.details
        self.side = side

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter

        layout = QVBoxLayout(self)
        layout.addLayout(self.search_bar_layout)
        layout.addWidget(self.message)
        layout.addWidget(splitter, 1)

        # -- debounce and keys
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.apply_search)
        for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            QShortcut(QKeySequence(key), self.table, self.edit_selected,
                      context=Qt.ShortcutContext.WidgetShortcut)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.table, self.delete_selected,
                  context=Qt.ShortcutContext.WidgetShortcut)
        # Ctrl+Z puts back the last deleted products (a text box with focus keeps Ctrl+Z for its own undo)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Undo), self, self.undo_delete,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._deleted_here: set[int] = set()  # deletions made in this window: undone without asking
        self.search.returnPressed.connect(self._search_enter)

        self.deleter.started.connect(self._on_selection_changed)
        self.deleter.finished.connect(self._on_selection_changed)
        ctx.dataChanged.connect(self._on_data_changed)
        self._reload_categories()
        self._show_status_column()
        self._update_count()
        self._on_selection_changed()

    # -- keys that the window also uses (Ctrl+N is "new shop" there): the tab wins while it has focus
    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and self._tab_key(event):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        action = self._tab_key(event)
        if action is not None:
            action()
            event.accept()
            return
        super().keyPressEvent(event)

    def _tab_key(self, event):
        if event.matches(QKeySequence.StandardKey.New):
            return self.add_product
        if event.matches(QKeySequence.StandardKey.Find):
            return self.focus_search
        return None

    # -- searching ------------------------------------------------------------------------
    def _status_text(self, status: str | None) -> str:
        """Blank for an active product (most of them), else Draft or Archived."""
        return "" if (status or "active") == "active" else status_label(status)

    def _query_ids(self, sort_key: str, descending: bool) -> list[int]:
        unfiltered = products.fts_query(self._text) is None and not self._category and not self._status
        if unfiltered and self._all_ids is not None and self._all_ids[0] == (sort_key, descending):
            return self._all_ids[1]
        ids = products.search_ids(self.ctx.db, self._text, order_by=sort_key, descending=descending,
                                  category=self._category, status=self._status)
        if unfiltered:
            self._all_ids = ((sort_key, descending), ids)
        return ids

    def set_search_text(self, text: str) -> None:
        """Put ``text`` in the search box and search now (used by voice search)."""
        self.search.setText(text)
        self.apply_search()

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _on_text_changed(self, text: str) -> None:
        # One letter matches half the catalog and costs the most: wait a little longer for the next one.
        short = len(text.strip()) == 1
        self._debounce.start(SEARCH_DEBOUNCE_MS * 3 if short else SEARCH_DEBOUNCE_MS)

    def _search_enter(self) -> None:
        self.apply_search()
        if self.model.rowCount():
            self.table.setFocus()
            self.table.selectRow(0)

    def _on_category_changed(self, _index: int) -> None:
        self._category = self.category.currentData()
        self.apply_search()

    def _on_status_changed(self, _index: int) -> None:
        self._status = self.status_filter.currentData()
        self.apply_search()

    def apply_search(self) -> None:
        """Re-run the ids query for the current search text and category."""
        self._debounce.stop()
        self._text = self.search.text()
        self.model.refresh()
        self._update_count()
        if self.model.rowCount():
            self.table.scrollToTop()

    def _update_count(self) -> None:
        n = self.model.rowCount()
        # Text without a letter or digit (a lone quote, "*", "-") searches for nothing: say so, as the list does.
        filtered = products.fts_query(self._text) is not None or bool(self._category) or bool(self._status)
        if filtered:
            self.count_label.setText(self.tr("{0:,} found").format(n))
            self.table.set_empty_hint(self.tr("No product matches the search and filters above."))
        else:
            self.count_label.setText(self.tr("{0:,} products").format(n))
            self.table.set_empty_hint(self.tr(
                "No products yet.\n\nPress Import… to bring in your catalog: a CSV export from Shopify, "
                "WooCommerce or Square, or any spreadsheet saved as CSV. Or add products one by one with Add…, "
                "or look around the sample shop first (File ▸ Open sample shop)."))

    def _show_status_column(self) -> None:
        """The Status column and filter only in a shop that has drafts or archived products (else the column
        would be blank and the filter pointless); a filter left set when they go is put back to all."""
        col = [c.key for c in self.model.columns].index("status")
        some = products.any_not_active(self.ctx.db)
        self.table.setColumnHidden(col, not some)
        self.status_filter.setVisible(some)
        if not some and self._status is not None:
            self._reset_status_filter()

    def _reset_status_filter(self) -> None:
        self.status_filter.blockSignals(True)
        self.status_filter.setCurrentIndex(0)
        self.status_filter.blockSignals(False)
        self._status = None

    def _reload_categories(self) -> None:
        current = self._category
        self.category.blockSignals(True)
        self.category.clear()
        self.category.addItem(self.tr("All categories"), None)
        for name in products.categories(self.ctx.db):
            self.category.addItem(name, name)
        index = self.category.findData(current) if current else 0
        if index < 0:  # the category is gone: show everything again
            index, self._category = 0, None
        self.category.setCurrentIndex(index)
        self.category.blockSignals(False)

    def _on_data_changed(self, tables: object) -> None:
        if tables and not (set(tables) & PRODUCT_TABLES):
            return
        self._all_ids = None
        selected = self.selected_ids()
        self._reload_categories()
        self._show_status_column()
        self.model.refresh()
        self._update_count()
        self.select_ids(selected, scroll=False)
        self._on_selection_changed()

    # -- selection ------------------------------------------------------------------------------
    def selected_ids(self) -> list[int]:
        """Ids of the selected rows, top to bottom. Read from the selection's ranges: selectedRows() builds an
        index per row and took 2.6 s for Ctrl+A on 100,000 products."""
        rows: set[int] = set()
        for span in self.table.selectionModel().selection():
            rows.update(range(span.top(), span.bottom() + 1))
        return [i for i in (self.model.id_at(r) for r in sorted(rows)) if i is not None]

    def current_id(self) -> int | None:
        index = self.table.currentIndex()
        if index.isValid() and self.table.selectionModel().isRowSelected(index.row()):
            return self.model.id_at(index.row())
        ids = self.selected_ids()
        return ids[0] if ids else None

    def select_ids(self, ids: list[int], scroll: bool = True) -> None:
        selection = self.table.selectionModel()
        rows = [r for r in (self.model.row_of(i) for i in ids) if r is not None]
        if not rows:
            return
        # one selection of contiguous runs, set at once: one select() per row re-read the whole selection at
        # each step and never came back after an edit with 100,000 products selected
        wanted = QItemSelection()
        ordered = sorted(set(rows))
        start = prev = ordered[0]
        last_col = max(0, self.model.columnCount() - 1)
        for row in ordered[1:] + [None]:
            if row is not None and row == prev + 1:
                prev = row
                continue
            wanted.select(self.model.index(start, 0), self.model.index(prev, last_col))
            if row is not None:
                start = prev = row
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        selection.select(wanted, flags)
        selection.setCurrentIndex(self.model.index(rows[0], 0), QItemSelectionModel.SelectionFlag.NoUpdate)
        if scroll:
            self.table.scrollTo(self.model.index(rows[0], 0))

    def _on_selection_changed(self, *_args) -> None:
        ids = self.selected_ids()
        self.edit_button.setEnabled(len(ids) == 1)
        self.delete_button.setEnabled(bool(ids) and not self.deleter.running)
        self._show_details(self.current_id())
        self.selectionChangedTo.emit(ids)

    def _show_details(self, product_id: int | None) -> None:
        row = products.get(self.ctx.db, product_id=product_id) if product_id is not None else None
        self.side.show_product(row, self.ctx.db_path)

    # -- actions ---------------------------------------------------------------------------------
    def add_product(self) -> ProductEditorDialog:
        return self._open_editor(None)

    def edit_selected(self) -> ProductEditorDialog | None:
        product_id = self.current_id()
        if product_id is None:
            return None
        return self._open_editor(product_id)

    def _open_editor(self, product_id: int | None) -> ProductEditorDialog:
        if self.editor is not None:
            self.editor.close()
        # the product as it was, for Undo once it is saved (an added product has none: Delete takes it away)
        self._before_edit = products.get(self.ctx.db, product_id=product_id) if product_id is not None else None
        self.editor = ProductEditorDialog(self.ctx, product_id, self)
        self.editor.saved.connect(self._on_saved)
        self.editor.finished.connect(self._on_editor_closed)
        self.editor.open()
        return self.editor

    def _on_editor_closed(self, _result: int) -> None:
        editor, self.editor = self.editor, None
        if editor is not None:
            editor.deleteLater()
        self.window().activateWindow()  # back to the table, ready for the next key
        self.table.setFocus()

    def _on_saved(self, product_id: int) -> None:
        self.message.clear()
        self.reveal(product_id)
        before, self._before_edit = self._before_edit, None
        after = products.get(self.ctx.db, product_id=product_id)
        if before is not None and after is not None and any(before[k] != after[k] for k in products.EDITABLE):
            self.message.show_info(self.tr("Saved “{0}”.").format(after["title"]),
                                   action=(self.tr("Undo"), lambda: self._undo_edit(before)))

    def _undo_edit(self, before: dict) -> None:
        """Put a product's fields back as they were before its last edit (a price put back is a new line in
        its price history)."""
        try:
            products.update(self.ctx.db, before["id"], **{k: before[k] for k in products.EDITABLE})
        except UserError as exc:  # deleted meanwhile, or its old SKU taken by another product since
            self.message.show_error(str(exc))
            return
        self.ctx.notify_changed({"products", "price_history", "categories"})
        self.ctx.show_status(self.tr("“{0}” is as it was before the edit").format(before["title"]))
        self.reveal(before["id"])

    def reveal(self, product_id: int) -> None:
        """Select this product and scroll to it; a search or filter that hides it is cleared first."""
        if self.model.row_of(product_id) is None and (self._text or self._category or self._status):
            # A product hidden by the search: clear the search so the owner sees it.
            self.search.blockSignals(True)
            self.search.clear()
            self.search.blockSignals(False)
            self._text = ""
            self._category = None
            self._reset_status_filter()
            self._reload_categories()
            self.model.refresh()
            self._update_count()
        self.select_ids([product_id])
        self.table.setFocus()

    def confirm_delete(self, how_many: int, title: str) -> bool:
        """Ask before deleting (tests replace this)."""
        if how_many == 1:
            text = self.tr("Delete “{0}”?\n\nIts past orders are kept, and Undo (Ctrl+Z) puts it back.").format(title)
        else:
            text = self.tr("Delete {0:,} products?\n\nTheir past orders are kept, and Undo (Ctrl+Z) puts them "
                           "back.").format(how_many)
        answer = QMessageBox.question(self, self.tr("Delete products"), text,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def delete_selected(self) -> int:
        """Ask, then delete the selected products in the background. Returns how many it is deleting."""
        ids = self.selected_ids()
        if not ids or self.deleter.running:
            return 0
        first = self.model.row_dict(self.model.row_of(ids[0]) or 0) or {}
        if not self.confirm_delete(len(ids), first.get("title", "")):
            return 0
        next_row = min(self.model.row_of(i) for i in ids)
        self.message.clear()
        self.ctx.show_status(count(len(ids), self.tr("Deleting 1 product…"), self.tr("Deleting {0:,} products…")))
        db_path = self.ctx.db_path
        self.deleter.start(lambda: deletions.delete_job(db_path, ids),
                           on_result=lambda deletion: self._deleted(deletion, next_row),
                           on_error=self.message.show_error)
        return len(ids)

    def _deleted(self, deletion: deletions.Deletion | None, next_row: int) -> None:
        n = deletion.count if deletion else 0
        if deletion is not None:
            self._deleted_here.add(deletion.id)
        self.ctx.notify_changed({"products", "order_lines"})
        what = count(n, self.tr("Deleted 1 product"), self.tr("Deleted {0:,} products"))
        self.ctx.show_status(what)
        if n:
            self.message.show_info(what + (self.tr(". Its past orders are kept. Ctrl+Z puts it back.") if n == 1 else
                                           self.tr(". Their past orders are kept. Ctrl+Z puts them back.")),
                                   action=(self.tr("Undo"), self.undo_delete))
        if self.model.rowCount():
            self.table.selectRow(min(next_row, self.model.rowCount() - 1))

    def confirm_undo_delete(self, deletion: deletions.Deletion) -> bool:
        """Ask before putting back a delete made before this window opened (tests replace this)."""
        names = ", ".join(deletion.titles) + ("…" if deletion.count > len(deletion.titles) else "")
        what = count(deletion.count, self.tr("1 product"), self.tr("{0:,} products"))
        answer = QMessageBox.question(
            self, self.tr("Undo delete"),
            self.tr("Put back the {0} deleted on {1} ({2})?").format(what, fmt_datetime(deletion.deleted_at),
                                                                    names),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    def undo_delete(self) -> int:
        """Put back the products of the last delete (with their price history and order lines) in the
        background. Returns how many it is putting back."""
        if self.deleter.running:
            return 0
        deletion = deletions.last_deletion(self.ctx.db)
        if deletion is None:
            self.message.show_info(self.tr("No deleted products to put back."))
            return 0
        if deletion.id not in self._deleted_here and not self.confirm_undo_delete(deletion):
            return 0
        self.message.clear()
        db_path = self.ctx.db_path
        self.deleter.start(lambda: deletions.undo_job(db_path, deletion.id), on_result=self._undone,
                           on_error=self.message.show_error)
        return deletion.count

    def _undone(self, restored: deletions.Restored) -> None:
        n = len(restored.ids)
        self.ctx.notify_changed({"products", "order_lines", "price_history"})
        text = count(n, self.tr("Put back 1 product."), self.tr("Put back {0:,} products."))
        if restored.skipped_skus:
            skus = ", ".join(restored.skipped_skus[:5]) + ("…" if len(restored.skipped_skus) > 5 else "")
            text += " " + self.tr("Not put back, because the catalog has a product with that SKU again: {0}.").format(skus)
        self.message.show_info(text)
        self.ctx.show_status(text)
        self.select_ids(list(restored.ids.values()))

    def selection_menu(self) -> QMenu:
        """The right-click menu of the selected products: edit, its forecast and what is bought with it (one
        product), mark them active, draft or archived, delete."""
        ids = self.selected_ids()
        menu = QMenu(self)
        menu.addAction(self.tr("Edit…"), self.edit_selected).setEnabled(len(ids) == 1)
        sku = (products.get(self.ctx.db, product_id=ids[0]) or {}).get("sku") if len(ids) == 1 else None
        menu.addAction(self.tr("Forecast its sales"), lambda: self.ctx.show_forecast(sku)).setEnabled(sku is not None)
        menu.addAction(self.tr("What is bought with it"),
                       lambda: self.ctx.show_recommendations(sku)).setEnabled(sku is not None)
        menu.addSeparator()
        what = count(len(ids), self.tr("1 product"), self.tr("{0:,} products"))
        for status, label in (("active", self.tr("Mark {0} as active (for sale)")),
                              ("draft", self.tr("Mark {0} as draft (not for sale yet)")),
                              ("archived", self.tr("Mark {0} as archived (no longer sold)"))):
            action = menu.addAction(label.format(what), lambda s=status: self.set_status_of_selected(s))
            action.setEnabled(bool(ids))
        menu.addSeparator()
        menu.addAction(self.tr("Delete…"), self.delete_selected).setEnabled(bool(ids))
        return menu

    def set_status_of_selected(self, status: str) -> int:
        """Mark the selected products active, draft or archived (drafts and archived ones are never offered
        to customers); says how many changed."""
        ids = self.selected_ids()
        if not ids:
            return 0
        before = products.statuses(self.ctx.db, ids)
        try:
            n = products.set_status(self.ctx.db, ids, status)
        except UserError as exc:
            self.message.show_error(str(exc))
            return 0
        self.ctx.notify_changed({"products"})
        word = {"active": self.tr("active"), "draft": self.tr("draft"), "archived": self.tr("archived")}[status]
        text = (self.tr("1 product marked {0}").format(word) if n == 1 else
                self.tr("{0:,} products marked {1}").format(n, word))
        self.ctx.show_status(text)
        if n:
            changed = {pid: old for pid, old in before.items() if old != status}
            self.message.show_info(text + ".", action=(self.tr("Undo"), lambda: self._restore_statuses(changed)))
        return n

    def _restore_statuses(self, before: dict[int, str]) -> None:
        n = products.restore_statuses(self.ctx.db, before)
        self.ctx.notify_changed({"products"})
        self.ctx.show_status(count(n, self.tr("1 product has its status back"),
                                   self.tr("{0:,} products have their status back")))
        self.select_ids(list(before))

    def import_catalog(self) -> None:
        from shopai_ui.import_dialog import open_import_dialog

        open_import_dialog(self.ctx, self, kind="catalog")

    def shutdown(self) -> None:
        self._debounce.stop()
        self.deleter.shutdown()  # a delete under way finishes (it is one transaction past its start)
        if self.editor is not None:
            self.editor.close()

"""The Recommendations tab: train (in the background, cancellable), see how every model scored on
the last weeks, and ask what to offer a customer or what goes with / resembles a product.

The saved model is loaded at start in the worker. When orders change, retraining is offered, not
forced. Pins and blocks (right-click a suggestion) are kept in the shop's settings table.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QFont, QIcon
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QMenu, QPushButton, QSplitter,
    QStyle, QStyledItemDelegate, QStyleOptionViewItem, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from shopai.jobs import Progress, UserError
from shopai.process_jobs import in_process
from shopai.store import products as product_queries
from shopai.store.orders import customer_id_for, has_orders, search_customers
from shopai_ui.context import ShopContext
from shopai_ui.widgets.message import MessageBar
from shopai_ui.widgets.progress import ProgressPanel
from shopai_ui.widgets.search_picker import SearchPicker
from shopai_ui.worker import JobRunner

THUMB = QSize(40, 40)
K = 10
WHY = 3  # the suggestion tables' column with the reason
WHY_LINES = 2  # a reason wraps onto this many lines at most; the rest is elided (the tooltip has it all)


def _content_job(db_path: str):
    """Read the catalog's text index again (after products changed) in the worker thread."""
    from shopai.recommend.query import catalog_tfidf
    from shopai.store import open_store

    yield Progress(0, 1, "reading the catalog's descriptions")
    db = open_store(db_path)
    try:
        return catalog_tfidf(db)
    finally:
        db.conn.close()


def _load_job(db_path: str):
    """Load the saved model and the catalog's text index in the worker thread."""
    from shopai.recommend.query import Recommender, catalog_tfidf
    from shopai.store import open_store

    yield Progress(0, 2, "loading the recommendation model")
    db = open_store(db_path)
    try:
        content = catalog_tfidf(db)
    finally:
        db.conn.close()
    try:
        rec = Recommender.load(db_path)
        problem = ""
    except UserError as exc:
        rec, problem = None, str(exc)
    return {"rec": rec, "content": content, "problem": problem}


class RecommendTab(QWidget):
    """Train, compare, and ask: what to offer a customer; what goes with or resembles a product."""

    def __init__(self, ctx: ShopContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.rec = None
        self.content = None
        self._no_match_text: str | None = None
        self.runner = JobRunner(self)
        self.loader = JobRunner(self)
        self.reader = JobRunner(self)  # the catalog's text again after products changed (seconds on 100k)

        # -- top bar
        self.train_button = QPushButton(self.tr("&Train"))
        self.train_button.setToolTip(self.tr("Learn from the order history and compare every model (runs in the background)"))
        self.train_button.clicked.connect(self.train)
        self.retrain_button = QPushButton(self.tr("&Retrain with the new orders"))
        self.retrain_button.clicked.connect(self.train)
        self.retrain_button.hide()
        self.in_stock = QCheckBox(self.tr("Hide out-of-stock products"))
        self.in_stock.toggled.connect(self.refresh_lists)
        self.model_label = QLabel()
        top = QHBoxLayout()
        top.addWidget(self.train_button)
        top.addWidget(self.retrain_button)
        top.addWidget(self.model_label, 1)
        top.addWidget(self.in_stock)
        self.progress = ProgressPanel(self.runner, self)
        self.message = MessageBar(self)

        # -- evaluation table
        self.results = QTableWidget(0, 5)
        self.results.setHorizontalHeaderLabels(
            [self.tr("Model"), self.tr("Recall@10"), self.tr("NDCG@10"), self.tr("Train s"), self.tr("Used")])
        _setup_table(self.results)
        self.results.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        row_h = self.fontMetrics().height() + 8
        self.results.verticalHeader().setDefaultSectionSize(row_h)
        self.results.setMinimumHeight(row_h * 10 + 6)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        eval_box = QGroupBox(self.tr("How each model did on the last weeks of orders"))
        eval_layout = QVBoxLayout(eval_box)
        eval_layout.addWidget(self.results)
        eval_layout.addWidget(self.verdict)

        # -- customer side
        self.customer = SearchPicker(self._customer_choices, self.tr("Type a customer id or name…"))
        self.customer.picked.connect(lambda _data: (self._clear_no_match(), self.show_customer()))
        self.customer.unmatched.connect(self._no_such_customer)
        self.customer_list = self._suggestion_table()
        self.new_only = QCheckBox(self.tr("Only products new to this customer"))
        self.new_only.toggled.connect(lambda _on: self.show_customer())
        cust_box = QGroupBox(self.tr("Offer this customer"))
        cl = QVBoxLayout(cust_box)
        row = QHBoxLayout()
        row.addWidget(self.customer, 1)
        row.addWidget(self.new_only)
        cl.addLayout(row)
        cl.addWidget(self.customer_list)

        # -- product side
        self.product = SearchPicker(self._product_choices, self.tr("Type a SKU or product name…"))
        self.product.picked.connect(lambda _data: (self._clear_no_match(), self.show_product()))
        self.product.unmatched.connect(self._no_such_product)
        self.with_list = self._suggestion_table()
        self.similar_list = self._suggestion_table()
        prod_box = QGroupBox(self.tr("For this product"))
        pl = QVBoxLayout(prod_box)
        pl.addWidget(self.product)
        self.with_label = QLabel(self.tr("<b>Bought with it</b>"))
        pl.addWidget(self.with_label)
        pl.addWidget(self.with_list)
        self.similar_label = QLabel(self.tr("<b>Similar description</b>"))
        pl.addWidget(self.similar_label)
        pl.addWidget(self.similar_list)

        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(cust_box)
        lower.addWidget(prod_box)
        # half each: the product side has two lists whose reasons need the room as much as the customer's
        lower.setStretchFactor(0, 1)
        lower.setStretchFactor(1, 1)
        lower.setSizes([10_000, 10_000])  # equal weights (tiny ones would be raised to each side's minimum)
        outer = QSplitter(Qt.Orientation.Vertical)
        outer.addWidget(eval_box)
        outer.addWidget(lower)
        outer.setStretchFactor(0, 0)
        outer.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(outer, 1)

        self.runner.started.connect(lambda: self.train_button.setEnabled(False))
        self.runner.finished.connect(lambda: self.train_button.setEnabled(True))
        # after the job's own callbacks: a cancelled retrain offers itself again; a finished one waits for the load
        self.runner.finished.connect(lambda: QTimer.singleShot(0, self.check_stale))
        ctx.dataChanged.connect(self._on_data_changed)
        self.fill_pickers()
        self.load_model()

    # ---------------------------------------------------------------- model

    def load_model(self) -> None:
        if self.rec is None:  # a cold start can take seconds: say what the empty tables are waiting for
            self.model_label.setText(self.tr("Loading the saved model…"))
        self.loader.start(lambda: _load_job(self.ctx.db_path), on_result=self._on_loaded,
                          on_error=self._on_load_failed)

    def _on_load_failed(self, message: str) -> None:
        self.model_label.setText(self.tr("No model loaded."))
        self.message.show_error(message)

    def _on_loaded(self, result: dict) -> None:
        self.rec, self.content = result["rec"], result["content"]
        if self.rec is not None:
            self.rec.use_content(self.content)
        if result["problem"]:
            self.message.show_error(result["problem"])
        self.show_evaluation()
        self.check_stale()
        self.refresh_lists()

    def train(self) -> None:
        from shopai.recommend.train import train_job

        self.message.clear()
        self.retrain_button.hide()
        path = self.ctx.db_path
        self.runner.start(lambda: in_process(train_job, path), on_result=self._on_trained, on_error=self.message.show_error)

    def _on_trained(self, summary: dict) -> None:
        self.ctx.show_status(self.tr("Recommendations trained: {0}").format(summary.get("note", "")))
        self.load_model()

    def show_evaluation(self) -> None:
        meta = self.rec.meta if self.rec else None
        self.results.setRowCount(0)
        if meta is None:
            self.model_label.setText(
                self.tr("No model yet: press Train to learn from the order history.") if has_orders(self.ctx.db)
                else self.tr("No orders yet: import your order history on the Orders tab, then press Train."))
            self.verdict.clear()
            return
        self.model_label.setText(self.tr("Using {0}, trained {1} on {2:,} purchases of {3:,} customers").format(
            meta["label"], meta["trained_at"].replace("T", " ")[:16], meta["purchases"], meta["customers_count"]))
        bold = QFont(self.font())
        bold.setBold(True)
        for r in sorted(meta["results"], key=lambda r: -r["ndcg"]):
            row = self.results.rowCount()
            self.results.insertRow(row)
            chosen = r["key"] == meta["chosen"]
            cells = [r["label"], f"{r['recall']:.3f}", f"{r['ndcg']:.3f}", f"{r['train_s']:.2f}",
                     "✔" if chosen else ""]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if chosen:
                    item.setFont(bold)
                self.results.setItem(row, col, item)
        self.verdict.setText(meta["note"])

    def check_stale(self) -> None:
        """Offer (not force) a retrain when the orders differ from those the model learnt from."""
        if self.rec is None or self.runner.running or self.loader.running:
            self.retrain_button.hide()
            return
        row = self.ctx.db.conn.execute("SELECT count(*), max(ordered_at) FROM orders").fetchone()
        stale = (row[0], row[1]) != (self.rec.meta.get("orders"), self.rec.meta.get("last_order"))
        self.retrain_button.setVisible(stale)
        if stale:
            self.retrain_button.setToolTip(self.tr("Orders changed since the model was trained."))

    def _on_data_changed(self, tables: Any) -> None:
        tables = set(tables or ())
        if "customers" in tables or "orders" in tables or "products" in tables:
            self.fill_pickers()
        if "orders" in tables:
            self.check_stale()
            if self.rec is None and not self.runner.running:
                self.show_evaluation()  # "no orders yet" may no longer be true
        if "products" in tables:
            # a product added since training is reached through the fresh catalog text: read it in the
            # background (seconds on a big catalog; the window must not freeze), the lists follow when it is in
            self.reader.start(lambda: _content_job(self.ctx.db_path), on_result=self._on_content_read,
                              on_error=lambda _msg: None)
            self.refresh_lists()

    def _on_content_read(self, content) -> None:
        self.content = content
        if self.rec is not None:
            self.rec.use_content(content)
        self.refresh_lists()

    # ---------------------------------------------------------------- pickers

    def _customer_choices(self, text: str) -> list[tuple[str, str]]:
        return [(self._customer_label(c), c["external_id"]) for c in search_customers(self.ctx.db, text, 50)]

    def _product_choices(self, text: str) -> list[tuple[str, str]]:
        return [(f"{r['title']}  [{r['sku']}]", r["sku"]) for r in product_queries.choices(self.ctx.db, text, 50)]

    def _customer_label(self, c: dict) -> str:
        return f"{c['external_id']}  {c['name']}".strip() + "  " + self.tr("({0} orders)").format(c["orders"])

    def _no_such_customer(self, text: str) -> None:
        """Typed text that is no customer: say so and show nothing, rather than the last customer's list."""
        self.customer.set_current(text, None)
        self.show_customer()
        self._show_no_match(self.tr("No customer matches “{0}”: type part of an id or a name.").format(text))

    def _no_such_product(self, text: str) -> None:
        self.product.set_current(text, None)
        self.show_product()
        self._show_no_match(self.tr("No product matches “{0}”: type part of a SKU or a title.").format(text))

    def _show_no_match(self, text: str) -> None:
        self._no_match_text = text
        self.message.show_error(text)

    def _clear_no_match(self) -> None:
        """A good pick takes away the 'no match' message (and only that message)."""
        if self._no_match_text and self.message.text() == self._no_match_text:
            self.message.clear()
        self._no_match_text = None

    def fill_pickers(self) -> None:
        """Keep the chosen customer and product if they still exist, else pick the most loyal customer and the
        product sold last."""
        db = self.ctx.db
        ext = self.customer.current_data()
        if ext is None or customer_id_for(db, ext) is None:
            top = search_customers(db, "", 1)
            if top:
                self.customer.set_current(self._customer_label(top[0]), top[0]["external_id"])
            else:
                self.customer.set_current("", None)
        sku = self.product.current_data()
        if sku is None or product_queries.get(db, sku=sku) is None:
            # the product sold last (it has orders, so "bought with it" can say something; the first by title
            # may never have sold), else the first by title
            first = [dict(zip(("sku", "title"), r)) for r in db.conn.execute(
                "SELECT p.sku, p.title FROM order_lines l JOIN products p ON p.id = l.product_id "
                "ORDER BY l.id DESC LIMIT 1")] or product_queries.choices(db, "", 1)
            if first:
                self.product.set_current(f"{first[0]['title']}  [{first[0]['sku']}]", first[0]["sku"])
            else:
                self.product.set_current("", None)

    def select_product(self, sku: str) -> None:
        """Show what is bought with this product and what has a similar description."""
        row = product_queries.get(self.ctx.db, sku=sku)
        if row is not None:
            self.product.set_current(f"{row['title']}  [{sku}]", sku)
            self.show_product()

    def refresh_lists(self) -> None:
        self.show_customer()
        self.show_product()

    def show_customer(self) -> None:
        ext = self.customer.current_data()
        rows: list[dict] = []
        if self.rec is not None and ext is not None:
            try:
                rows = self.rec.for_customer(self.ctx.db, ext, K, hide_out_of_stock=self.in_stock.isChecked(),
                                             new_only=self.new_only.isChecked())
            except UserError as exc:
                self.message.show_error(str(exc))
        _fill(self.customer_list, rows, self.ctx.db_path)

    def show_product(self) -> None:
        from shopai.recommend.query import similar

        sku = self.product.current_data()
        with_rows: list[dict] = []
        sim_rows: list[dict] = []
        if sku is not None:
            hide = self.in_stock.isChecked()
            try:
                if self.rec is not None:
                    with_rows = self.rec.bought_with(self.ctx.db, sku, K, hide_out_of_stock=hide)
                if self.content is not None:  # (until the load job has read the catalog's text)
                    sim_rows = similar(self.ctx.db, sku, K, hide_out_of_stock=hide, content=self.content)
            except (UserError, ValueError) as exc:
                self.message.show_error(str(exc))
        _fill(self.with_list, with_rows, self.ctx.db_path)
        _fill(self.similar_list, sim_rows, self.ctx.db_path)
        # an empty list says why, rather than leaving a blank box
        with_why = ""
        if sku is not None and not with_rows:
            with_why = (self.tr("no other product was in two or more of its orders") if self.rec is not None
                        else self.tr("press Train to learn this from the orders"))
        sim_why = ""
        if sku is not None and not sim_rows:
            sim_why = (self.tr("reading the catalog's descriptions…") if self.content is None
                       else self.tr("no other product's description is close"))
        self.with_label.setText(self.tr("<b>Bought with it</b>") + (f" — <i>{with_why}</i>" if with_why else ""))
        self.similar_label.setText(self.tr("<b>Similar description</b>") + (f" — <i>{sim_why}</i>" if sim_why else ""))

    # ---------------------------------------------------------------- pin / block

    def _suggestion_table(self) -> QTableWidget:
        t = QTableWidget(0, 4)
        t.setHorizontalHeaderLabels([self.tr("Product"), self.tr("SKU"), self.tr("Stock"), self.tr("Why")])
        _setup_table(t)
        t.setIconSize(THUMB)
        header = t.horizontalHeader()
        # title and reason share what SKU and stock leave; a long title is elided (its tooltip has it), a long
        # reason wraps onto a second line as the row grows to fit it (see _fit_rows)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(WHY, QHeaderView.ResizeMode.Stretch)
        t.setItemDelegateForColumn(WHY, WrapDelegate(t))
        # (while the signal is emitted, columnWidth() still answers the old width)
        header.sectionResized.connect(lambda col, _old, new, table=t: col == WHY and _fit_rows(table, new))
        t.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        t.customContextMenuRequested.connect(lambda pos, table=t: self._context_menu(table, pos))
        t.itemActivated.connect(lambda item, table=t: self._show_in_catalog(table.item(item.row(), 1).text()))
        t.setToolTip(self.tr("Double-click a product to see it in the Catalog; right-click to pin or block it"))
        return t

    def _show_in_catalog(self, sku: str) -> None:
        product = product_queries.get(self.ctx.db, sku=sku)
        if product is not None:
            self.ctx.show_product(product["id"])

    def _context_menu(self, table: QTableWidget, pos) -> None:
        item = table.itemAt(pos)
        if item is None:
            return
        sku = table.item(item.row(), 1).text()
        menu = self.rule_menu(sku)
        menu.exec(table.viewport().mapToGlobal(pos))

    def rule_menu(self, sku: str) -> QMenu:
        from shopai.recommend.query import rules

        current = rules(self.ctx.db)
        menu = QMenu(self)
        pin = menu.addAction(self.tr("Pin {0} to the top for every customer").format(sku))
        block = menu.addAction(self.tr("Never suggest {0}").format(sku))
        clear = menu.addAction(self.tr("Suggest {0} normally again").format(sku))
        clear.setEnabled(sku in current["pinned"] or sku in current["blocked"])
        pin.triggered.connect(lambda: self.set_rule(sku, "pinned"))
        block.triggered.connect(lambda: self.set_rule(sku, "blocked"))
        clear.triggered.connect(lambda: self.set_rule(sku, None))
        return menu

    def set_rule(self, sku: str, rule: str | None) -> None:
        from shopai.recommend.query import set_rule

        try:
            set_rule(self.ctx.db, sku, rule)
        except UserError as exc:
            self.message.show_error(str(exc))
            return
        self.ctx.notify_changed({"settings"})
        self.refresh_lists()

    def shutdown(self) -> None:
        self.runner.shutdown()
        self.loader.shutdown()
        self.reader.shutdown()


class WrapDelegate(QStyledItemDelegate):
    """Wraps a cell's text onto as many lines as its row is tall; what still doesn't fit ends in "…"."""

    def initStyleOption(self, option: QStyleOptionViewItem, index) -> None:  # noqa: N802 (Qt)
        super().initStyleOption(option, index)
        option.features |= QStyleOptionViewItem.ViewItemFeature.WrapText


def _fit_rows(table: QTableWidget, why_width: int | None = None) -> None:
    """Make each row tall enough for its reason wrapped at the Why column's width (``why_width``, or the
    column's width now), up to WHY_LINES lines; never lower than the table's row height (photos, or one line)."""
    fm = table.fontMetrics()
    margin = 2 * (table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, table) + 1)
    width = max(1, (table.columnWidth(WHY) if why_width is None else why_width) - margin - 1)
    pad = fm.height() + 8 - fm.lineSpacing()  # what a one-line row has around its text
    base = table.verticalHeader().defaultSectionSize()
    tallest = WHY_LINES * fm.lineSpacing() + pad
    for r in range(table.rowCount()):
        item = table.item(r, WHY)
        text = item.text() if item is not None else ""
        need = fm.boundingRect(0, 0, width, 100_000, int(Qt.TextFlag.TextWordWrap), text).height() + pad
        height = max(base, min(need, tallest))
        if table.rowHeight(r) != height:
            table.setRowHeight(r, height)


def _setup_table(t: QTableWidget) -> None:
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setAlternatingRowColors(True)
    t.verticalHeader().hide()
    t.setWordWrap(False)


def _fill(table: QTableWidget, rows: list[dict], db_path: str) -> None:
    from shopai_ui.product_editor import load_thumbnail, resolve_image

    table.setRowCount(len(rows))
    has_photo = False
    for r, row in enumerate(rows):
        title = QTableWidgetItem(str(row["title"]))
        pixmap, _ = load_thumbnail(resolve_image(db_path, row.get("image_path")), THUMB)
        if pixmap is not None:
            title.setIcon(QIcon(pixmap))
            has_photo = True
        title.setToolTip(f"{row['title']} — score {row['score']:.3f}")
        stock = row.get("stock")
        cells = [title, QTableWidgetItem(row["sku"]), QTableWidgetItem("" if stock is None else str(stock)),
                 QTableWidgetItem(row["reason"])]
        cells[3].setToolTip(row["reason"])
        if row.get("pinned"):
            cells[3].setText("📌 " + row["reason"])
        for c, item in enumerate(cells):
            table.setItem(r, c, item)
    # Tall rows only when there are photos to show.
    height = THUMB.height() + 4 if has_photo else table.fontMetrics().height() + 8
    table.verticalHeader().setDefaultSectionSize(height)
    _fit_rows(table)

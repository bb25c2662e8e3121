"""Customers tab: who will buy again, how much, who is drifting away; the model check beside its baselines.

The table is a lazy SQL model over ``customer_scores`` (sorting and the at-risk filter run in SQL);
the history column is painted by a delegate (a sparkline of monthly spend), no per-row widgets.
Training runs in the tab's JobRunner with a ProgressPanel; the store is written only at its end.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
    QSplitter, QStyle, QStyledItemDelegate, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from shopai.customers import scores
from shopai.process_jobs import in_process
from shopai.store import orders
from shopai_ui.context import ShopContext
from shopai_ui.widgets.empty_hint import HintTableView
from shopai_ui.widgets.message import MessageBar
from shopai_ui.widgets.progress import ProgressPanel
from shopai_ui.widgets.sql_table import (
    ALIGN_CENTER, ALIGN_RIGHT, Column, RowRole, SqlTableModel, fmt_date, fmt_int, fmt_money, keep_sort_indicator,
)
from shopai_ui.widgets import wording
from shopai_ui.worker import JobRunner

WATCHED = {"orders", "customers", "order_lines", "customer_scores"}
LAST_ORDER = 1  # the column of the last order


def _num(value: Any, spec: str) -> str:
    """A metric for the evaluation table; '–' where it could not be measured."""
    return "–" if value is None else format(float(value), spec)


class SparklineDelegate(QStyledItemDelegate):
    """Paints the row's ``history`` (monthly spend, oldest first) as a small line with its last point."""

    def paint(self, painter: QPainter, option, index) -> None:
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        record = index.data(RowRole) or {}
        values = [float(v) for v in record.get("history") or []]
        if len(values) < 2 or max(values) <= 0:
            return
        r = QRectF(option.rect).adjusted(4, 4, -4, -4)
        top = max(values)
        step = r.width() / (len(values) - 1)
        path = QPainterPath()
        for i, v in enumerate(values):
            p = QPointF(r.left() + i * step, r.bottom() - (v / top) * r.height())
            path.moveTo(p) if i == 0 else path.lineTo(p)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = QColor("#c0392b") if record.get("at_risk") else QColor("#2471a3")
        painter.setPen(QPen(colour, 1.4))
        painter.drawPath(path)
        last = QPointF(r.right(), r.bottom() - (values[-1] / top) * r.height())
        painter.setBrush(colour)
        painter.drawEllipse(last, 2.0, 2.0)
        painter.restore()


class CustomersTab(QWidget):
    def __init__(self, ctx: ShopContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = JobRunner(self)
        self.exporter = JobRunner(self)  # its own runner: an export does not cancel Train, nor Train an export
        #: Extra options for train_job (tests make training short with {"epochs": 2, "seeds": 1}).
        self.train_options: dict = {}

        self.train_button = QPushButton(self.tr("Train"))
        self.train_button.setToolTip(self.tr("Learn from the orders who comes back and for how much (under a minute)"))
        self.train_button.clicked.connect(self.train)
        self.risk_box = QCheckBox(self.tr("At-risk regulars only"))
        self.risk_box.toggled.connect(self.refresh)
        self.search = QLineEdit()
        self.search.setPlaceholderText(self.tr("Customer id or name…"))
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.export_button = QPushButton(self.tr("Export to CSV…"))
        self.export_button.clicked.connect(self.export_csv)
        self.count_label = QLabel()

        bar = QHBoxLayout()
        bar.addWidget(self.train_button)
        bar.addWidget(self.risk_box)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.count_label)
        bar.addWidget(self.export_button)

        self.info_label = QLabel()
        self.info_label.setWordWrap(True)
        self.message = MessageBar(self)
        self.progress = ProgressPanel(self.runner, self)

        columns = [
            Column("customer_id", self.tr("Customer")),
            Column("last_order", self.tr("Last order"), fmt_date),
            Column("orders", self.tr("Orders"), fmt_int, ALIGN_RIGHT),
            Column("spend", self.tr("Spend"), fmt_money, ALIGN_RIGHT),
            Column("p_return_30d", self.tr("P(return 30d)"), wording.chance, ALIGN_RIGHT),
            Column("p_return_90d", self.tr("P(return 90d)"), wording.chance, ALIGN_RIGHT),
            Column("expected_spend_90d", self.tr("Expected spend 90d"), fmt_money, ALIGN_RIGHT),
            Column("at_risk", self.tr("At risk"), lambda v: self.tr("at risk") if v else "", ALIGN_CENTER),
            Column("history", self.tr("Last 12 months"), lambda v: "", sortable=False),
        ]
        self.model = SqlTableModel(columns, self._ids, lambda ids: scores.fetch_rows(self.ctx.db, ids),
                                   sort_key="p_return_30d", descending=True,
                                   foreground=lambda r: QColor("#a93226") if r.get("at_risk") else None, parent=self)
        self.model.refreshed.connect(self._on_refreshed)
        self.table = HintTableView()
        self.table.setModel(self.model)
        self.table.setToolTip(self.tr("Double-click a customer to see their orders"))
        # double-click or Enter: their orders, in the Orders tab
        self.table.activated.connect(lambda index: self._show_orders(self.model.id_at(index.row())))
        self.table.setSortingEnabled(True)
        keep_sort_indicator(self.table)
        self.table.horizontalHeader().setSortIndicator(4, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setItemDelegateForColumn(len(columns) - 1, SparklineDelegate(self.table))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        # room for each title and the sort arrow beside it (any column can be the sorted one)
        for i, w in enumerate((90, 90, 60, 95, 100, 100, 130, 60, 150)):
            self.table.setColumnWidth(i, max(w, header.sectionSizeFromContents(i).width()))
        header.setStretchLastSection(True)

        self.eval_title = QLabel(self.tr("<b>How well each model predicted the last 90 days</b>"))
        self.eval_table = QTableWidget(0, 6)
        self.eval_table.setHorizontalHeaderLabels([
            self.tr("Model"), self.tr("AUC (90 days)"), self.tr("Brier (90 days)"), self.tr("Calibration error"),
            self.tr("AUC (30 days)"), self.tr("Spend error (per customer)")])
        self.eval_table.verticalHeader().setVisible(False)
        self.eval_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.eval_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.eval_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.eval_table.verticalHeader().setDefaultSectionSize(24)
        self.eval_sentence = QLabel()
        self.eval_sentence.setWordWrap(True)
        eval_box = QWidget()
        ev = QVBoxLayout(eval_box)
        ev.setContentsMargins(0, 0, 0, 0)
        ev.addWidget(self.eval_title)
        ev.addWidget(self.eval_table)
        ev.addWidget(self.eval_sentence)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(eval_box)
        # the list takes what the model check below leaves; that keeps the height its rows and sentence need
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 0)

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.message)
        layout.addWidget(self.progress)
        layout.addWidget(self.info_label)
        layout.addWidget(split, 1)

        self.exporter.started.connect(lambda: self.export_button.setEnabled(False))
        self.exporter.finished.connect(lambda: self.export_button.setEnabled(True))
        self.runner.started.connect(lambda: self.train_button.setEnabled(False))
        self.runner.finished.connect(lambda: self.train_button.setEnabled(True))
        ctx.dataChanged.connect(self._on_data_changed)
        self.refresh()

    # -- data -----------------------------------------------------------------------------
    def _ids(self, sort_key: str, descending: bool):
        return scores.score_ids(self.ctx.db, sort_key, descending, self.risk_box.isChecked(), self.search.text())

    def refresh(self) -> None:
        header = self.table.horizontalHeader()
        if not scores.is_scored(self.ctx.db) and self.model.sort_key not in scores.UNSCORED_SORTABLE:
            # no predictions to sort by yet: the list is by last order, and the arrow says so
            header.setSortIndicator(LAST_ORDER, Qt.SortOrder.DescendingOrder)
        self.model.refresh()
        self.show_model_info()

    def _show_orders(self, customer_id: int | None) -> None:
        if customer_id is not None:
            self.ctx.show_customer(customer_id)

    def _on_refreshed(self, count: int) -> None:
        self.count_label.setText(wording.count(count, self.tr("1 customer"), self.tr("{0:,} customers")))
        if self.search.text().strip() or self.risk_box.isChecked():
            self.table.set_empty_hint(self.tr("No customer matches this search."))
        else:
            self.table.set_empty_hint(self.tr("No customers yet: they come with your orders (Orders tab ▸ Import "
                                              "orders…)."))

    def _on_data_changed(self, tables) -> None:
        if WATCHED & set(tables or ()):
            self.refresh()

    def show_model_info(self) -> None:
        info = scores.model_info(self.ctx.db)
        self.eval_table.setRowCount(0)
        self._fit_eval_table()
        if info is None:
            self.info_label.setText(
                self.tr("No predictions yet. Press <b>Train</b> to learn from your orders who is likely to come "
                        "back; it takes under a minute.") if orders.has_orders(self.ctx.db) else
                self.tr("No orders yet: import your order history on the Orders tab, then press <b>Train</b> to "
                        "learn who is likely to come back."))
            self.eval_sentence.setText("")
            return
        notes = " ".join(info.get("notes") or [])
        last = scores.last_order_day(self.ctx.db)
        if last and info.get("as_of") and last > str(info["as_of"]) and not self.runner.running:
            notes += " " + self.tr("There are newer orders (up to %1): press Train to update.").replace("%1", last)
        self.info_label.setText(self.tr("Predictions as of %1 (the last order in the shop), from %2. %3")
                                .replace("%1", str(info.get("as_of"))).replace("%2", str(info.get("chosen_label")))
                                .replace("%3", notes))
        self.eval_sentence.setText(str(info.get("sentence", "")))
        if info.get("evaluation_cut"):
            self.eval_title.setText(self.tr("<b>How well each model predicted the last 90 days</b> (fitted on the "
                                            "orders up to %1, checked on %2 customers)")
                                    .replace("%1", str(info["evaluation_cut"]))
                                    .replace("%2", str(info.get("test_customers", "?"))))
        from shopai.customers.evaluate import MODEL_LABELS

        evaluation = info.get("evaluation") or {}
        self.eval_table.setRowCount(len(evaluation))
        for row, (name, m) in enumerate(sorted(evaluation.items(), key=lambda kv: -(kv[1].get("auc_90d") or 0.0))):
            label = MODEL_LABELS.get(name, name) + ("  ✓" if name == info.get("chosen") else "")
            cells = [label] + [_num(m.get(k), ".3f") for k in ("auc_90d", "brier_90d", "calibration_90d", "auc_30d")]
            cells.append(_num(m.get("spend_mae"), ",.0f"))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col:
                    item.setTextAlignment(ALIGN_RIGHT)
                self.eval_table.setItem(row, col, item)
        self._fit_eval_table()

    def _fit_eval_table(self) -> None:
        """As tall as its rows (a handful of models), so every model is in view; in a window too low for
        that it gives way (down to two rows and a scroll bar) rather than cover the sentence below it."""
        t = self.eval_table
        frame = t.horizontalHeader().sizeHint().height() + 2 * t.frameWidth()
        heights = [t.rowHeight(r) for r in range(t.rowCount())]
        t.setMinimumHeight(frame + sum(heights[:2]))
        t.setMaximumHeight(frame + sum(heights))

    # -- actions --------------------------------------------------------------------------
    def train(self) -> None:
        from shopai.customers.train import train_job

        self.message.clear()
        path, options = self.ctx.db_path, dict(self.train_options)
        self.runner.start(lambda: in_process(train_job, path, **options), on_result=self._on_trained, on_error=self.message.show_error)

    def _on_trained(self, summary: dict) -> None:
        self.ctx.notify_changed({"customer_scores"})
        self.refresh()
        self.message.show_info(self.tr("Trained: %1 customers scored, %2 at-risk regulars.")
                               .replace("%1", str(summary.get("customers_scored")))
                               .replace("%2", str(summary.get("at_risk"))))

    def export_csv(self, path: str | None = None) -> None:
        if not self.model.ids:
            self.message.show_error(self.tr("Nothing to export: the list is empty."))
            return
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, self.tr("Export customers"), "customers.csv",
                                                  self.tr("CSV files (*.csv)"))
            if not path:
                return
        args = (self.ctx.db_path, path, self.risk_box.isChecked(), self.search.text(), self.model.sort_key,
                self.model.descending)

        def done(n: int) -> None:
            what = wording.count(n, self.tr("1 customer"), self.tr("{0:,} customers"))
            self.message.show_info(self.tr("Exported %1 to %2").replace("%1", what).replace("%2", path))

        self.message.show_info(self.tr("Exporting the list to %1…").replace("%1", path))
        # a file that can't be written is a UserError with the reason (shopai.io.export.CannotWrite)
        self.exporter.start(lambda: scores.export_segment_job(*args), on_result=done,
                            on_error=lambda reason: self.message.show_error(
                                self.tr("Could not write the file: %1").replace("%1", reason)))

    def shutdown(self) -> None:
        self.runner.cancel()
        self.exporter.cancel()

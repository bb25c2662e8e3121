"""Price forecast tab: a product's (or category's) weekly price or sales, the forecast with its 80% band,
how each method did on past weeks, and a plain sentence; "Fit all products" runs in the background."""
from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from PySide6.QtCharts import (
    QAreaSeries, QChart, QChartView, QDateTimeAxis, QLineSeries, QScatterSeries, QValueAxis,
)
from PySide6.QtCore import QDateTime, QPointF, Qt, QTime
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView, QApplication, QButtonGroup, QComboBox, QHBoxLayout, QHeaderView, QLabel, QPushButton,
    QRadioButton, QSpinBox, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from shopai.forecast import methods as M
from shopai.forecast.api import MAX_LEAD_DAYS
from shopai.process_jobs import in_process
from shopai_ui.widgets.message import MessageBar
from shopai_ui.widgets.progress import ProgressPanel
from shopai_ui.widgets.search_picker import SearchPicker
from shopai_ui.worker import JobRunner

HORIZONS = (4, 8, 13, 26)
CATEGORY_PREFIX = "Category: "


def nice_ticks(lo: float, hi: float, whole: bool = False, max_ticks: int = 8) -> tuple[float, float, int, int]:
    """An axis range covering lo..hi whose ticks fall on round steps (1, 2, 2.5 or 5 times a power of
    ten; whole numbers only when ``whole``): (min, max, tick count, decimals the labels need)."""
    if not hi > lo:
        hi = lo + (abs(lo) * 0.1 or 1.0)
    raw = (hi - lo) / (max_ticks - 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = 10 * mag
    for m in (1, 2, 2.5, 5):
        if m * mag >= raw and not (whole and (m * mag) % 1):
            step = m * mag
            break
    if whole:
        step = max(step, 1.0)
    first = math.floor(lo / step + 1e-9) * step
    last = math.ceil(hi / step - 1e-9) * step
    decimals = next(d for d in range(10) if abs(step * 10 ** d - round(step * 10 ** d)) < 1e-6)
    return first, last, int(round((last - first) / step)) + 1, decimals


def _group_choice_note(result: dict[str, Any]) -> str:
    """Why the tick is not on the lowest MASE: methods are chosen per group of similar products (e.g. all
    products with intermittent demand), where the chosen one did best overall."""
    scores = result.get("scores") or {}
    chosen = scores.get(result.get("method"))
    if not chosen:
        return ""
    tested = [(name, sc) for name, sc in scores.items() if sc.get("origins") == chosen.get("origins")]
    best_name, best = min(tested, key=lambda kv: kv[1]["mase"])
    if best["mase"] >= chosen["mase"] or not result.get("group"):
        return ""
    group = (QApplication.translate("forecast", "all prices") if result.get("what") == "price" else
             QApplication.translate("forecast", "all products with {g} demand").format(g=result["group"]))
    return QApplication.translate("forecast", "Chosen for {group}, where it did best overall; on this product "
                                  "alone '{b}' scored lower.").format(group=group, b=M.label(best_name))


def _ms(day: str | date) -> float:
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return float(QDateTime(datetime(d.year, d.month, d.day), QTime(0, 0)).toMSecsSinceEpoch())


class ForecastTab(QWidget):
    """Pick a product or category, see history + forecast + band, and the backtest behind it."""

    def __init__(self, ctx, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.result: dict[str, Any] | None = None
        self.runner = JobRunner(self)       # single forecasts (newest wins)
        self.fit_runner = JobRunner(self)   # "fit all products"

        self.picker = SearchPicker(self._choices, self.tr("Search a product or category…"))
        self.picker.setMinimumWidth(320)
        self.picker.picked.connect(lambda _data: self.refresh())
        self.picker.unmatched.connect(self._no_match)

        self.sales_button = QRadioButton(self.tr("Units sold"))
        self.price_button = QRadioButton(self.tr("Price"))
        self.sales_button.setChecked(True)
        self.what_group = QButtonGroup(self)
        self.what_group.addButton(self.sales_button)
        self.what_group.addButton(self.price_button)
        self.what_group.buttonClicked.connect(lambda _b: self.refresh())

        self.horizon = QComboBox()
        for h in HORIZONS:
            self.horizon.addItem(self.tr("{n} weeks").format(n=h), h)
        self.horizon.setCurrentIndex(1)
        self.horizon.currentIndexChanged.connect(lambda _i: self.refresh())

        self.lead_time = QSpinBox()
        self.lead_time.setRange(1, MAX_LEAD_DAYS)
        self.lead_time.setValue(14)
        self.lead_time.setSuffix(self.tr(" days lead time"))
        self.lead_time.valueChanged.connect(lambda _v: self.refresh())

        self.fit_all_button = QPushButton(self.tr("Fit all products"))
        self.fit_all_button.setToolTip(self.tr(
            "Backtest every method on every product (with the shared neural model) and keep the best"))
        self.fit_all_button.clicked.connect(self.fit_all)

        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("Forecast")))
        top.addWidget(self.picker, 2)
        top.addWidget(self.sales_button)
        top.addWidget(self.price_button)
        top.addWidget(QLabel(self.tr("for")))
        top.addWidget(self.horizon)
        top.addWidget(self.lead_time)
        top.addStretch(1)
        top.addWidget(self.fit_all_button)

        self.message = MessageBar(self)
        self.progress = ProgressPanel(self.fit_runner, self)

        self.chart = QChart()
        self.chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        self.chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        self.chart_view = QChartView(self.chart)
        self.chart_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.chart_view.setMinimumHeight(320)

        self.sentence = QLabel()
        font = QFont(self.sentence.font())
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.sentence.setFont(font)
        self.sentence.setWordWrap(True)
        self.reorder = QLabel()
        self.reorder.setWordWrap(True)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet("color: #555;")

        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(
            [self.tr("Method"), self.tr("MASE"), self.tr("sMAPE %"), self.tr("Chosen")])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip(self.tr(
            "Errors on past weeks, each method forecasting only from the weeks before (lower is better). "
            "MASE below 1 beats 'same as last week'."))
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(QLabel(self.tr("How each method did on past weeks")))
        side_layout.addWidget(self.table, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.chart_view)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setCollapsible(0, False)
        split.setSizes([900, 380])
        self.chart_view.setMinimumWidth(480)
        side.setMaximumWidth(520)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(self.progress)
        layout.addWidget(split, 1)
        layout.addWidget(self.sentence)
        layout.addWidget(self.reorder)
        layout.addWidget(self.notes)

        ctx.dataChanged.connect(self._on_data_changed)
        self.load_choices()
        self.refresh()  # show the best seller's forecast straight away

    # --- choices ------------------------------------------------------------------------------
    def _choices(self, text: str) -> list[tuple[str, str]]:
        from shopai.forecast.api import choices

        return [(self._label(kind, value, title), f"{kind}:{value}") for kind, value, title in
                choices(self.ctx.db, text, 50)]

    def _label(self, kind: str, value: str, title: str) -> str:
        return CATEGORY_PREFIX + value if kind == "category" else f"{value} — {title}"

    def load_choices(self) -> None:
        """Start on the best seller when nothing is chosen yet; say so when there are no sales."""
        from shopai.forecast.api import choices, has_sales

        if not has_sales(self.ctx.db):
            self.message.show_info(self.tr("No sales yet: import orders to see forecasts."))
            return
        if self.picker.current_data() is None:
            first = choices(self.ctx.db, "", 1)
            if first:
                kind, value, title = first[0]
                self.picker.set_current(self._label(kind, value, title), f"{kind}:{value}")

    def _on_data_changed(self, tables) -> None:
        if {"orders", "order_lines", "products", "price_history"} & set(tables or ()):
            self.load_choices()
            self.refresh()

    def select(self, sku: str | None = None, category: str | None = None) -> None:
        if sku:
            row = self.ctx.db.conn.execute("SELECT title FROM products WHERE sku = ?", (sku,)).fetchone()
            self.picker.set_current(self._label("sku", sku, row[0] if row else ""), f"sku:{sku}")
        else:
            self.picker.set_current(self._label("category", category, category), f"category:{category}")
        self.refresh()

    def what(self) -> str:
        return "price" if self.price_button.isChecked() else "sales"

    # --- forecasting --------------------------------------------------------------------------
    def refresh(self) -> None:
        data = self.picker.current_data()
        if data is None:
            return
        kind, _, value = str(data).partition(":")
        what, horizon, lead = self.what(), int(self.horizon.currentData()), self.lead_time.value()
        self.lead_time.setEnabled(what == "sales")
        db_path = self.ctx.db_path
        from shopai.forecast.api import forecast_job

        def factory():
            return forecast_job(db_path, sku=value if kind == "sku" else None,
                                category=value if kind == "category" else None,
                                what=what, horizon=horizon, lead_time_days=lead)

        self.runner.start(factory, on_result=self.show_result, on_error=self.show_forecast_error)

    def show_error(self, text: str) -> None:
        self.message.show_error(text)

    def _no_match(self, text: str) -> None:
        """Enter on text that finds nothing: say so, and put the chart's own name back in the box (it read
        the new text while the chart still showed the product before)."""
        data = self.picker.current_data()
        if data is not None:
            kind, _, value = str(data).partition(":")
            row = self.ctx.db.conn.execute("SELECT title FROM products WHERE sku = ?", (value,)).fetchone() \
                if kind == "sku" else None
            self.picker.set_current(self._label(kind, value, row[0] if row else value), data)
        self.message.show_error(self.tr("No product with sales and no category matches “{0}”: type part of "
                                        "a SKU, a title or a category.").format(text))

    def show_forecast_error(self, text: str) -> None:
        """The picked item has no forecast: say why and clear the previous item's chart, table and hints."""
        self.message.show_error(text)
        self.result = None
        self.chart.removeAllSeries()
        for axis in self.chart.axes():
            self.chart.removeAxis(axis)
        self.chart.setTitle("")
        self.table.setRowCount(0)
        self.sentence.clear()
        self.reorder.clear()
        self.reorder.setVisible(False)
        self.notes.clear()

    def show_result(self, result: dict[str, Any]) -> None:
        if self.message.kind == "error":  # an old problem no longer applies; keep info (e.g. fit summary)
            self.message.clear()
        self.result = result
        self._draw_chart(result)
        self._fill_table(result)
        s = result["sentence"]
        self.sentence.setText(s[0].upper() + s[1:] + ".")
        self.reorder.setText(result.get("reorder", {}).get("text", ""))
        self.reorder.setVisible(bool(result.get("reorder")))
        if result.get("category"):
            src = self.tr("fitted just now on the category's weekly total")
        elif result["source"] == "stored":
            src = self.tr("from the last 'Fit all products'")
        else:
            src = self.tr("fitted just now on this item alone")
        notes = [self.tr("Method: {m} ({src}).").format(m=result["method_label"], src=src)]
        why = _group_choice_note(result)
        if why:
            notes.append(why)
        notes += [n[0].upper() + n[1:] + "." for n in result["notes"]]
        self.notes.setText(" ".join(notes))

    def _draw_chart(self, result: dict[str, Any]) -> None:
        chart = self.chart
        chart.removeAllSeries()
        for axis in chart.axes():
            chart.removeAxis(axis)
        unit = self.tr("units / week") if result["what"] == "sales" else self.tr("unit price")
        if result.get("category"):
            chart.setTitle(self.tr("{name} (category)  ({unit})").format(name=result["category"], unit=unit))
        else:
            chart.setTitle(f"{result['sku']} — {result['title']}  ({unit})")

        history = QLineSeries()
        history.setName(self.tr("history"))
        history.setPen(QPen(QColor("#1f5fa8"), 2))
        capped = QScatterSeries()
        capped.setName(self.tr("unusual week (capped)"))
        capped.setColor(QColor("#d9822b"))
        capped.setMarkerSize(9)
        for h in result["history"]:
            x = _ms(h["period_start"])
            history.append(QPointF(x, h["value"]))
            if h["outlier"]:
                capped.append(QPointF(x, h["value"]))

        fc = result["forecast"]
        last = result["history"][-1]
        line = QLineSeries()
        line.setName(self.tr("forecast"))
        pen = QPen(QColor("#c0392b"), 2)
        pen.setStyle(Qt.PenStyle.DashLine)
        line.setPen(pen)
        upper, lower = QLineSeries(), QLineSeries()
        line.append(QPointF(_ms(last["period_start"]), last["value"]))
        upper.append(QPointF(_ms(last["period_start"]), last["value"]))
        lower.append(QPointF(_ms(last["period_start"]), last["value"]))
        for row in fc:
            x = _ms(row["period_start"])
            line.append(QPointF(x, row["value"]))
            upper.append(QPointF(x, row["hi80"]))
            lower.append(QPointF(x, row["lo80"]))
        # QAreaSeries does not own its boundary lines: keep them alive as long as the chart shows them
        for old in getattr(self, "_band_lines", ()):
            old.deleteLater()
        upper.setParent(self.chart)
        lower.setParent(self.chart)
        self._band_lines = (upper, lower)
        band = QAreaSeries(upper, lower)
        band.setName(self.tr("80% range"))
        band.setBrush(QBrush(QColor(192, 57, 43, 60)))
        band.setPen(QPen(Qt.PenStyle.NoPen))

        for series in (band, history, line, capped):
            chart.addSeries(series)
        if capped.count() == 0:
            chart.legend().markers(capped)[0].setVisible(False)

        xaxis = QDateTimeAxis()
        xaxis.setFormat("MMM yyyy")  # "Nov 10" read as a day
        xaxis.setTickCount(8)
        yaxis = QValueAxis()
        values = [h["value"] for h in result["history"]] + [r["hi80"] for r in fc] + [r["lo80"] for r in fc]
        lo, hi = min(values + [0.0] if result["what"] == "sales" else values), max(values)
        pad = (hi - lo) * 0.08 or max(abs(hi) * 0.1, 1.0)
        price = result["what"] == "price"
        ymin, ymax, ticks, decimals = nice_ticks(max(lo - pad, 0.0), hi + pad, whole=not price)
        yaxis.setRange(ymin, ymax)
        yaxis.setTickCount(ticks)  # ticks on round values, so every label is exactly its gridline
        yaxis.setLabelFormat(f"%.{max(decimals, 2) if price else decimals}f")
        chart.addAxis(xaxis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(yaxis, Qt.AlignmentFlag.AlignLeft)
        for series in chart.series():
            series.attachAxis(xaxis)
            series.attachAxis(yaxis)
        xaxis.setRange(QDateTime.fromMSecsSinceEpoch(int(_ms(result["history"][0]["period_start"]))),
                       QDateTime.fromMSecsSinceEpoch(int(_ms(fc[-1]["period_start"]))))

    def _fill_table(self, result: dict[str, Any]) -> None:
        scores = result["scores"]
        tests = max((sc.get("origins", 0) for sc in scores.values()), default=0)
        # methods tested fewer times ("same as last year" needs a year before each test) go last
        rows = sorted(scores.items(), key=lambda kv: (kv[1].get("origins", 0) < tests, kv[1]["mase"]))
        self.table.setRowCount(len(rows))
        bold = QFont(self.table.font())
        bold.setBold(True)
        for r, (name, sc) in enumerate(rows):
            chosen = name == result["method"]
            label = M.label(name)
            if name == result.get("baseline"):
                label += self.tr(" (baseline)")
            if sc.get("origins", 0) < tests:
                label += self.tr(" (tested {k} of {n} times)").format(k=sc.get("origins", 0), n=tests)
            smape = QTableWidgetItem("—" if sc["smape"] is None else f"{sc['smape']:.1f}")
            if sc["smape"] is None:
                smape.setToolTip(self.tr("Not meaningful: nothing sold in the weeks tested, so any forecast "
                                         "above zero, however small, would score the maximum 200%."))
            items = [QTableWidgetItem(label), QTableWidgetItem(f"{sc['mase']:.3f}"),
                     smape, QTableWidgetItem("✔" if chosen else "")]
            for c, item in enumerate(items):
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if chosen:
                    item.setFont(bold)
                    item.setBackground(QColor("#e8f4e8"))
                self.table.setItem(r, c, item)
        if not rows:
            self.table.setRowCount(1)
            self.table.setItem(0, 0, QTableWidgetItem(self.tr("too little history to compare methods")))
        self.table.resizeRowsToContents()  # a long label ("blend: ETS + …", "tested 2 of 10 times") wraps whole

    # --- fit all ------------------------------------------------------------------------------
    def fit_all(self) -> None:
        from shopai.forecast.train import train_job

        db_path = self.ctx.db_path
        self.fit_all_button.setEnabled(False)
        self.fit_runner.finished.connect(self._fit_finished)
        self.fit_runner.start(lambda: in_process(train_job, db_path), on_result=self._fit_done, on_error=self.show_error)

    def _fit_finished(self) -> None:
        self.fit_all_button.setEnabled(True)
        try:
            self.fit_runner.finished.disconnect(self._fit_finished)
        except (RuntimeError, TypeError):
            pass

    def _fit_done(self, summary: dict[str, Any]) -> None:
        n = summary.get("sales_series", 0)
        methods = ", ".join(f"{M.label(k)} {v}" for k, v in list(summary.get("sales_methods", {}).items())[:3])
        self.message.show_info(self.tr("Fitted {n} products in {s} s. Most used for sales: {m}.").format(
            n=n, s=summary.get("seconds", "?"), m=methods))
        self.ctx.notify_changed({"forecast_fits"})
        self.refresh()

    def shutdown(self) -> None:
        self.runner.shutdown()
        self.fit_runner.shutdown()

"""Forecast tab: picks, chart, backtest table, sentence, errors in the tab, fit-all in the background."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest
from PySide6.QtCore import Qt

FIRST = date(2023, 1, 2)


def _fill(db_path: str, n_products: int = 4, weeks: int = 30) -> None:
    from shopai.store import open_store

    rng = np.random.default_rng(0)
    db = open_store(db_path)
    conn = db.conn
    conn.execute("BEGIN")
    oid = 0
    for p in range(n_products):
        conn.execute("INSERT INTO products (id, sku, title, category, price, stock) VALUES (?, ?, ?, ?, ?, ?)",
                     (p + 1, f"SKU{p}", f"Product {p}", "Mugs", 2.5 + p, 10))
        for w in range(weeks):
            qty = int(rng.poisson(5 + 0.3 * w))
            if not qty:
                continue
            oid += 1
            at = datetime.combine(FIRST + timedelta(weeks=w, days=2), datetime.min.time()).isoformat()
            conn.execute("INSERT INTO orders (id, external_id, ordered_at, status) VALUES (?, ?, ?, 'paid')",
                         (oid, f"O{oid}", at))
            conn.execute("INSERT INTO order_lines (order_id, product_id, quantity, unit_price, ordered_at) "
                         "VALUES (?, ?, ?, ?, ?)", (oid, p + 1, qty, 2.5 + p, at))
    conn.execute("INSERT INTO products (id, sku, title, category) VALUES (99, 'EMPTY', 'Nothing sold', 'Empty')")
    conn.execute("COMMIT")
    db.conn.close()


@pytest.fixture
def tab(qtbot, db_path):
    _fill(db_path)
    from shopai_ui.context import ShopContext
    from shopai_ui.tabs.forecast import ForecastTab

    ctx = ShopContext(db_path)
    widget = ForecastTab(ctx)
    qtbot.addWidget(widget)
    yield widget
    widget.shutdown()
    ctx.close()


def _wait(qtbot, runner):
    qtbot.waitUntil(lambda: not runner.running, timeout=60_000)


def test_pick_product_shows_chart_table_sentence(qtbot, tab):
    assert tab.picker.current_data().startswith("sku:")  # starts on the best seller
    tab.picker.clear()
    tab.picker.refresh_matches()
    assert tab.picker.matches.rowCount() == 6  # 4 products + 2 categories (one without sales)
    tab.picker.setText("product 2")
    tab.picker.refresh_matches()
    assert tab.picker.matches.rowCount() == 1
    tab.select(sku="SKU1")
    _wait(qtbot, tab.runner)
    res = tab.result
    assert res is not None and res["sku"] == "SKU1" and res["what"] == "sales"
    assert len(tab.chart.series()) == 4  # band, history, forecast, capped weeks
    x_axis = tab.chart.axes(Qt.Orientation.Horizontal)[0]
    assert x_axis.format() == "MMM yyyy"  # "Nov 10" reads as a day; "Nov 2010" does not
    assert tab.chart.series()[2].count() == 8 + 1
    marks = [tab.table.item(r, 3).text() for r in range(tab.table.rowCount())]
    assert marks.count("✔") == 1
    assert tab.sentence.text().startswith("Next month about")
    assert "covers" in tab.reorder.text() or "Reorder" in tab.reorder.text()


def test_price_toggle_and_horizon(qtbot, tab):
    tab.select(sku="SKU2")
    _wait(qtbot, tab.runner)
    tab.price_button.click()
    _wait(qtbot, tab.runner)
    tab.horizon.setCurrentIndex(tab.horizon.findData(13))
    _wait(qtbot, tab.runner)
    assert tab.result["what"] == "price" and len(tab.result["forecast"]) == 13
    assert tab.result["forecast"][0]["value"] == pytest.approx(4.5, abs=0.2)
    assert not tab.reorder.isVisible()


def test_category_without_sales_shows_message_in_tab(qtbot, tab):
    tab.select(category="Empty")
    _wait(qtbot, tab.runner)
    assert "no paid sales" in tab.message.text()


def test_fit_all_runs_in_background_and_is_used(qtbot, tab, child_jobs):
    tab.fit_all()
    assert not tab.fit_all_button.isEnabled()
    _wait(qtbot, tab.fit_runner)
    assert tab.fit_all_button.isEnabled()
    assert "Fitted 4 products" in tab.message.text()
    assert child_jobs == [("shopai.forecast.train.train_job", 1)]  # in a process of its own
    _wait(qtbot, tab.runner)
    tab.select(sku="SKU0")
    _wait(qtbot, tab.runner)
    assert tab.result["source"] == "stored"


def test_fit_all_cancel_leaves_nothing(qtbot, tab):
    tab.fit_all()
    tab.fit_runner.cancel()
    tab.fit_runner.wait()
    n = tab.ctx.db.conn.execute("SELECT count(*) FROM forecast_fits").fetchone()[0]
    assert n == 0
    assert tab.fit_all_button.isEnabled()


def test_failed_forecast_clears_the_previous_item(qtbot, tab):
    tab.select(sku="SKU1")
    _wait(qtbot, tab.runner)
    assert tab.chart.series() and tab.sentence.text()
    tab.select(category="Empty")
    _wait(qtbot, tab.runner)
    assert "no paid sales" in tab.message.text()
    assert tab.result is None and not tab.chart.series() and not tab.chart.title()
    assert tab.table.rowCount() == 0
    assert not tab.sentence.text() and not tab.reorder.text() and tab.reorder.isHidden() and not tab.notes.text()
    tab.select(sku="SKU2")  # and the next good pick shows again
    _wait(qtbot, tab.runner)
    assert tab.result["sku"] == "SKU2" and tab.chart.series() and not tab.reorder.isHidden()


def test_category_chart_title_and_reorder_line(qtbot, tab):
    tab.select(category="Mugs")
    _wait(qtbot, tab.runner)
    assert tab.chart.title().startswith("Mugs (category)")
    assert "category:" not in tab.chart.title()
    assert "not recorded" not in tab.reorder.text() and "per product" in tab.reorder.text()


def _y_axis(tab):
    from PySide6.QtCore import Qt

    return tab.chart.axes(Qt.Orientation.Vertical)[0]


@pytest.mark.parametrize("what", ["sales", "price"])
def test_y_axis_labels_are_exactly_the_gridlines(qtbot, tab, what):
    tab.select(sku="SKU1")
    _wait(qtbot, tab.runner)
    if what == "price":
        tab.price_button.click()
        _wait(qtbot, tab.runner)
    axis = _y_axis(tab)
    n, lo, hi, fmt = axis.tickCount(), axis.min(), axis.max(), axis.labelFormat()
    if what == "sales":
        assert fmt == "%.0f"
    else:
        assert fmt in ("%.2f", "%.3f")  # prices keep their pence
    step = (hi - lo) / (n - 1)
    for k in range(n):
        value = lo + k * step
        assert float(fmt % value) == pytest.approx(value, abs=1e-9), (fmt, value)
    values = [h["value"] for h in tab.result["history"]] + [r["hi80"] for r in tab.result["forecast"]]
    assert lo <= min(values) and hi >= max(values)


def test_nice_ticks():
    from shopai_ui.tabs.forecast import nice_ticks

    assert nice_ticks(0, 9.08, whole=True) == (0, 10, 6, 0)
    lo, hi, n, d = nice_ticks(0, 3.1, whole=True)
    assert (lo, hi, d) == (0, 4, 0) and n == 5
    lo, hi, n, d = nice_ticks(3.95, 5.95)
    assert (lo, hi, n, d) == (3.5, 6.0, 6, 1)
    lo, hi, n, d = nice_ticks(4.9, 4.9)
    assert lo <= 4.9 <= hi and n >= 2


def test_table_rows_are_honest(qtbot, tab):
    tab.select(sku="SKU1")  # 30 weeks: no year of history, so no "same as last year" row
    _wait(qtbot, tab.runner)
    labels = [tab.table.item(r, 0).text() for r in range(tab.table.rowCount())]
    assert len(labels) == len(set(labels))
    assert not any("last year" in label for label in labels)
    assert "same as last week (baseline)" in labels
    assert "last year" not in tab.sentence.text()
    result = dict(tab.result, scores={  # a product whose tested weeks sold nothing: sMAPE means nothing
        "naive": {"mase": 0.0, "smape": None, "origins": 3},
        "ets": {"mase": 0.0, "smape": None, "origins": 3},
        "seasonal_naive": {"mase": 1.5, "smape": None, "origins": 1}}, method="naive", baseline="naive")
    tab._fill_table(result)
    rows = {tab.table.item(r, 0).text(): tab.table.item(r, 2) for r in range(tab.table.rowCount())}
    assert all(item.text() == "—" and item.toolTip() for item in rows.values())
    assert list(rows)[-1] == "same as last year (tested 1 of 3 times)"


def test_a_tick_that_is_not_on_the_lowest_score_is_explained():
    from shopai_ui.tabs.forecast import _group_choice_note

    scores = {"croston": {"mase": 0.459, "origins": 3}, "global": {"mase": 0.388, "origins": 3},
              "naive": {"mase": 0.7, "origins": 3}, "seasonal_naive": {"mase": 0.1, "origins": 1}}
    note = _group_choice_note({"scores": scores, "method": "croston", "group": "intermittent", "what": "sales"})
    assert note.startswith("Chosen for all products with intermittent demand") and "'global" in note
    # the lowest of the methods tested as often is ticked: nothing to explain (a less-tested one does not count)
    scores["croston"]["mase"] = 0.3
    assert _group_choice_note({"scores": scores, "method": "croston", "group": "intermittent", "what": "sales"}) == ""
    note = _group_choice_note({"scores": {"naive": {"mase": 2.0, "origins": 3}, "ets": {"mase": 1.0, "origins": 3}},
                               "method": "naive", "group": "price", "what": "price"})
    assert note.startswith("Chosen for all prices")


def test_enter_on_text_that_finds_nothing_says_so_and_keeps_the_chart_name(qtbot, tab):
    tab.select(sku="SKU1")
    _wait(qtbot, tab.runner)
    shown = tab.picker.text()
    tab.picker.setText("zzzz")
    tab.picker.returnPressed.emit()
    assert tab.message.kind == "error" and "matches “zzzz”" in tab.message.label.text()
    assert tab.picker.text() == shown and tab.result["sku"] == "SKU1"

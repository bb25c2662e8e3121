"""Forecast tab: picks, chart, backtest table, sentence, errors in the tab, fit-all in the background."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest

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


def test_fit_all_runs_in_background_and_is_used(qtbot, tab):
    tab.fit_all()
    assert not tab.fit_all_button.isEnabled()
    _wait(qtbot, tab.fit_runner)
    assert tab.fit_all_button.isEnabled()
    assert "Fitted 4 products" in tab.message.text()
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

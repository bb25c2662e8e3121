"""Customers tab: scored rows, SQL sorting, the at-risk filter, evaluation table, CSV export, train/cancel."""
from __future__ import annotations

import csv

import pytest
from PySide6.QtCore import Qt

from shopai.customers import synthetic
from shopai.customers.train import train_job
from shopai.jobs import run_job
from shopai_ui.widgets.sql_table import RawValueRole, RowRole


@pytest.fixture(scope="module")
def trained_path(tmp_path_factory):
    from shopai.store import open_store

    path = str(tmp_path_factory.mktemp("customers-ui") / "shop.sqlite")
    open_store(path).conn.close()
    synthetic.build(path, days=300, regulars=40, occasional=20)
    db = open_store(path)
    db.conn.execute("UPDATE customers SET name = '=HYPERLINK(\"http://x\")' WHERE external_id = 'PLANT'")
    db.conn.close()
    run_job(train_job(path, epochs=2, seeds=1))
    return path


@pytest.fixture
def trained_ctx(qapp, trained_path):
    from shopai_ui.context import ShopContext

    context = ShopContext(trained_path)
    yield context
    context.close()


def _column(tab, key):
    return next(i for i, c in enumerate(tab.model.columns) if c.key == key)


def test_rows_sorting_filter_and_evaluation(qtbot, trained_ctx):
    from shopai_ui.tabs.customers import CustomersTab

    tab = CustomersTab(trained_ctx)
    qtbot.addWidget(tab)
    n = tab.model.rowCount()
    assert n > 50 and tab.count_label.text() == f"{n:,} customers"
    assert tab.eval_table.rowCount() == 4
    assert "won" in tab.eval_sentence.text() or "best" in tab.eval_sentence.text()
    spend = _column(tab, "spend")
    tab.table.sortByColumn(spend, Qt.SortOrder.DescendingOrder)
    values = [tab.model.index(r, spend).data(RawValueRole) for r in range(n)]
    assert values == sorted(values, reverse=True)
    assert tab.model.pages_fetched <= 2 + n // tab.model.page_size * 3
    tab.risk_box.setChecked(True)
    flagged = tab.model.rowCount()
    assert 0 < flagged < n
    risk = _column(tab, "at_risk")
    assert all(tab.model.index(r, risk).data(RawValueRole) is True for r in range(flagged))
    ids = [tab.model.index(r, 0).data() for r in range(flagged)]
    assert "PLANT" in ids and "STEADY" not in ids
    tab.resize(1200, 700)
    tab.show()
    assert not tab.table.grab().isNull()      # paints the sparkline delegate


def test_export_segment_neutralises_formulas(qtbot, trained_ctx, tmp_path):
    from shopai_ui.tabs.customers import CustomersTab

    tab = CustomersTab(trained_ctx)
    qtbot.addWidget(tab)
    tab.risk_box.setChecked(True)
    out = tmp_path / "segment.csv"
    with qtbot.waitSignal(tab.exporter.finished, timeout=10_000):
        tab.export_csv(str(out))  # written in the background
    with open(out, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == tab.model.rowCount()
    plant = next(r for r in rows if r["customer_id"] == "PLANT")
    assert plant["name"].startswith("'=") and plant["at_risk"] == "yes"
    assert "Exported" in tab.message.label.text()


def test_newer_orders_ask_for_training(qtbot, tmp_path, trained_path):
    import shutil

    from shopai_ui.context import ShopContext
    from shopai_ui.tabs.customers import CustomersTab

    path = str(tmp_path / "copy.sqlite")
    shutil.copy(trained_path, path)
    context = ShopContext(path)
    try:
        tab = CustomersTab(context)
        qtbot.addWidget(tab)
        assert "newer orders" not in tab.info_label.text()
        context.db.conn.execute("INSERT INTO orders (external_id, ordered_at, status, total) "
                                "VALUES ('NEW1', '2030-01-01T10:00:00', 'paid', 5)")
        context.db.conn.execute("INSERT INTO orders (external_id, ordered_at, status, total) "
                                "VALUES ('NEW2', '2024-06-01T10:00:00', 'paid', 5)")
        context.notify_changed({"orders"})
        assert "newer orders (up to 2024-06-01)" in tab.info_label.text()
    finally:
        context.close()


def test_train_error_and_cancel(qtbot, ctx):
    from shopai.store import open_store
    from shopai_ui.tabs.customers import CustomersTab

    tab = CustomersTab(ctx)
    qtbot.addWidget(tab)
    assert tab.model.rowCount() == 0 and "No orders yet: import your order history" in tab.info_label.text()
    assert tab.count_label.text() == "0 customers"
    with qtbot.waitSignal(tab.runner.finished, timeout=20000):
        tab.train()
    assert tab.message.kind == "error" and "no orders" in tab.message.label.text()
    synthetic.build(ctx.db_path, days=300, regulars=30, occasional=10)
    with qtbot.waitSignal(tab.runner.finished, timeout=60000):
        tab.train()
        tab.runner.cancel()
    assert tab.train_button.isEnabled()
    db = open_store(ctx.db_path)
    assert db.conn.execute("SELECT count(*) FROM customer_scores").fetchone()[0] == 0
    db.conn.close()


def test_before_training_every_customer_is_listed_with_what_their_orders_say(qtbot, ctx):
    """The tab said "0 customers" and listed nobody until Train, while the status bar counted 150."""
    from shopai.customers.scores import unscored_rows
    from shopai.store import open_store
    from shopai_ui.tabs.customers import CustomersTab

    synthetic.build(ctx.db_path, days=300, regulars=30, occasional=10)
    db = open_store(ctx.db_path)
    expected = {r["customer_id"]: (r["last_order"], r["orders"], r["spend"]) for r in unscored_rows(db)}
    db.conn.close()
    tab = CustomersTab(ctx)
    qtbot.addWidget(tab)
    n = tab.model.rowCount()
    assert n == len(expected) > 30 and tab.count_label.text() == f"{n:,} customers"
    assert "No predictions yet" in tab.info_label.text()
    header = tab.table.horizontalHeader()
    assert (header.sortIndicatorSection(), header.sortIndicatorOrder()) == (1, Qt.SortOrder.DescendingOrder)
    rows = [tab.model.data(tab.model.index(r, 0), RowRole) for r in range(n)]
    assert {r["customer_id"]: (r["last_order"], r["orders"], r["spend"]) for r in rows} == expected
    assert [r["last_order"] for r in rows] == sorted((r["last_order"] for r in rows), reverse=True)
    assert all(r["p_return_30d"] is None for r in rows)
    assert tab.model.data(tab.model.index(0, 4)) == ""  # no prediction shown
    tab.table.sortByColumn(3, Qt.SortOrder.DescendingOrder)  # by spend
    spends = [tab.model.data(tab.model.index(r, 0), RowRole)["spend"] for r in range(n)]
    assert spends == sorted(spends, reverse=True)
    tab.risk_box.setChecked(True)
    assert tab.model.rowCount() == 0  # nobody is "at risk" before a model says so


def test_train_button_scores_the_shop(qtbot, ctx, child_jobs):
    from shopai_ui.tabs.customers import CustomersTab

    synthetic.build(ctx.db_path, days=300, regulars=30, occasional=10)
    tab = CustomersTab(ctx)
    qtbot.addWidget(tab)
    tab.train_options = {"epochs": 2, "seeds": 1}
    with qtbot.waitSignal(tab.runner.finished, timeout=120000):
        tab.train_button.click()
    assert tab.message.kind == "info", tab.message.label.text()
    assert tab.model.rowCount() > 30 and tab.eval_table.rowCount() >= 1
    assert child_jobs == [("shopai.customers.train.train_job", 1)]  # trained in a process of its own


def test_columns_fit_a_small_window_with_room_for_the_sort_arrow(qtbot, trained_ctx):
    """At 1024 px every title has room for the sort arrow (P(return 30d) was clipped by it), the columns fit
    without a horizontal scroll bar, and every model of the check below is in view."""
    from shopai_ui.tabs.customers import CustomersTab

    tab = CustomersTab(trained_ctx)
    qtbot.addWidget(tab)
    tab.resize(1004, 700)  # the tab inside a 1024x768 window
    tab.show()
    qtbot.waitExposed(tab)
    header = tab.table.horizontalHeader()
    assert header.isSortIndicatorShown()
    for col in range(header.count()):  # the size hint counts the arrow in, whichever column is sorted
        assert header.sectionSize(col) >= header.sectionSizeFromContents(col).width(), tab.model.columns[col].header
    assert sum(header.sectionSize(c) for c in range(header.count())) <= tab.table.viewport().width()
    assert not tab.table.horizontalScrollBar().isVisible()
    evaluation = tab.eval_table
    assert evaluation.rowCount() == 4
    assert evaluation.viewport().height() >= sum(evaluation.rowHeight(r) for r in range(4))
    assert evaluation.geometry().bottom() < tab.eval_sentence.geometry().top()  # nothing covered


def test_export_to_a_folder_that_cannot_be_written_says_so(qtbot, trained_ctx, tmp_path):
    from shopai_ui.tabs.customers import CustomersTab

    tab = CustomersTab(trained_ctx)
    qtbot.addWidget(tab)
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("x")
    with qtbot.waitSignal(tab.exporter.finished, timeout=10_000):
        tab.export_csv(str(blocked / "segment.csv"))
    qtbot.waitUntil(lambda: tab.message.kind == "error", timeout=5_000)
    assert "Could not write the file" in tab.message.label.text()
    assert tab.export_button.isEnabled() and blocked.read_text() == "x"


def test_probabilities_never_read_as_certain():
    from shopai_ui.widgets.wording import chance

    assert [chance(v) for v in (0.996, 0.994, 0.99, 0.5, 0.01, 0.006, 0.005, 0.0, 1.0, None)] == [
        ">99%", ">99%", "99%", "50%", "1%", "<1%", "<1%", "<1%", ">99%", ""]

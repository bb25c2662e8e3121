"""The Recommendations tab: train in the background, show the comparison, suggestions with reasons,
pin/block from the context menu, and offer (not force) a retrain when orders change."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from recommend_shop import add_order, make_shop  # noqa: E402


@pytest.fixture
def tab(qtbot, ctx):
    from shopai_ui.tabs.recommend import RecommendTab

    make_shop(ctx.db)
    w = RecommendTab(ctx)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: not w.loader.running, timeout=10_000)
    yield w
    w.shutdown()


def _train(qtbot, tab):
    tab.train_button.click()
    qtbot.waitUntil(lambda: not tab.runner.running and not tab.loader.running and tab.rec is not None,
                    timeout=30_000)


def test_train_then_suggestions_with_reasons(qtbot, tab, child_jobs):
    assert tab.rec is None and "press Train" in tab.model_label.text()
    _train(qtbot, tab)
    assert tab.results.rowCount() >= 7
    used = [tab.results.item(r, 0).text() for r in range(tab.results.rowCount()) if tab.results.item(r, 4).text()]
    assert len(used) == 1
    assert child_jobs == [("shopai.recommend.train.train_job", 1)]  # trained in a process of its own
    assert "beats most popular by" in tab.verdict.text()
    tab.customer.set_current("10000", "10000")
    tab.show_customer()
    assert tab.customer_list.rowCount() == 10
    assert all(tab.customer_list.item(r, 3).text() for r in range(10))
    tab.new_only.setChecked(True)
    reasons = [tab.customer_list.item(r, 3).text() for r in range(tab.customer_list.rowCount())]
    assert reasons and not any(r.startswith("you bought") for r in reasons)
    tab.product.set_current("P00", "P00")
    tab.show_product()
    assert tab.with_list.item(0, 3).text().startswith("bought together in")
    assert tab.similar_list.rowCount() > 0


def test_pin_block_and_retrain_offer(qtbot, tab):
    _train(qtbot, tab)
    tab.customer.set_current("10000", "10000")
    tab.show_customer()
    first = tab.customer_list.item(0, 1).text()
    menu = tab.rule_menu(first)
    [a for a in menu.actions() if a.text().startswith("Never suggest")][0].trigger()
    skus = [tab.customer_list.item(r, 1).text() for r in range(tab.customer_list.rowCount())]
    assert first not in skus
    tab.set_rule("P25", "pinned")
    assert tab.customer_list.item(0, 1).text() == "P25"
    assert not tab.retrain_button.isVisible() and tab.retrain_button.isHidden()
    add_order(tab.ctx.db, "10000", ["P20"], "2024-08-01T10:00:00")
    tab.ctx.notify_changed({"orders"})
    assert not tab.retrain_button.isHidden()
    assert tab.rec is not None  # the old model is still in use: retraining is offered, not forced
    # a retrain cancelled half-way keeps the old model, and the offer comes back
    tab.retrain_button.click()
    assert tab.runner.running and tab.retrain_button.isHidden()
    tab.progress.cancel_button.click()
    qtbot.waitUntil(lambda: not tab.retrain_button.isHidden(), timeout=5_000)
    assert tab.rec is not None and tab.train_button.isEnabled()
    # after a finished retrain the model is up to date: no offer
    _train(qtbot, tab)
    qtbot.waitUntil(lambda: not tab.loader.running, timeout=10_000)
    qtbot.wait(50)
    assert tab.retrain_button.isHidden()


def test_a_typed_id_that_is_no_customer_says_so_instead_of_showing_the_last_customer(qtbot, tab):
    _train(qtbot, tab)
    tab.customer.set_current("10000", "10000")
    tab.show_customer()
    assert tab.customer_list.rowCount() > 0
    tab.customer.clear()
    qtbot.keyClicks(tab.customer, "99999")
    qtbot.keyClick(tab.customer, Qt.Key.Key_Return)
    assert tab.customer.current_data() is None and tab.customer_list.rowCount() == 0
    assert "No customer matches “99999”" in tab.message.text()
    tab.customer.clear()
    qtbot.keyClicks(tab.customer, "10001")
    qtbot.keyClick(tab.customer, Qt.Key.Key_Return)  # the first match is picked, and the message goes
    assert tab.customer.current_data() == "10001" and tab.customer_list.rowCount() > 0
    assert tab.message.text() == ""
    tab.product.clear()
    qtbot.keyClicks(tab.product, "no such thing")
    qtbot.keyClick(tab.product, Qt.Key.Key_Return)
    assert tab.with_list.rowCount() == 0 and tab.similar_list.rowCount() == 0
    assert "No product matches “no such thing”" in tab.message.text()
    assert "Bought with it" in tab.with_label.text() and "no other product" not in tab.with_label.text()
    # a product nobody bought with anything: the empty list says why
    tab.ctx.db.conn.execute("INSERT INTO products (sku, title, description) VALUES ('LONE', 'zzz qqq', '')")
    tab.product.set_current("zzz qqq  [LONE]", "LONE")
    tab.show_product()
    assert tab.with_list.rowCount() == 0 and "no other product was in two or more" in tab.with_label.text()
    assert tab.similar_list.rowCount() == 0 and "no other product's description is close" in tab.similar_label.text()


def test_training_error_is_shown_in_the_tab(qtbot, ctx):
    from shopai_ui.tabs.recommend import RecommendTab

    w = RecommendTab(ctx)
    qtbot.addWidget(w)
    w.train_button.click()
    qtbot.waitUntil(lambda: not w.runner.running and w.message.kind == "error", timeout=10_000)
    assert "no paid orders" in w.message.text()
    w.shutdown()


def test_the_empty_tab_says_it_is_loading_until_the_model_is_read(qtbot, ctx, monkeypatch):
    """On a cold start reading the model takes seconds; the tables must not sit empty without a word,
    and a model that cannot be read leaves no 'loading' behind."""
    from shopai_ui.tabs import recommend

    make_shop(ctx.db)
    w = recommend.RecommendTab(ctx)
    qtbot.addWidget(w)
    assert w.model_label.text() == "Loading the saved model…"
    qtbot.waitUntil(lambda: not w.loader.running, timeout=10_000)
    assert "press Train" in w.model_label.text()
    w.shutdown()

    def broken(_path):
        from shopai.jobs import UserError

        raise UserError("The catalog could not be read.")
        yield  # a generator, like the real job

    monkeypatch.setattr(recommend, "_load_job", broken)
    w = recommend.RecommendTab(ctx)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: not w.loader.running, timeout=10_000)
    assert w.model_label.text() == "No model loaded."
    assert "could not be read" in w.message.text()
    w.shutdown()


def test_a_product_added_while_the_tab_is_open_is_offered(qtbot, tab):
    """The tab keeps its model loaded: a product added since must still reach the top 10 by its description."""
    _train(qtbot, tab)
    tea_customer = "10000"  # group 0 of the planted shop: tea things
    tab.customer.set_current(tea_customer, tea_customer)
    tab.show_customer()  # the catalog text is read (and cached) now
    tab.ctx.db.conn.execute("INSERT INTO products (sku, title, description, stock) VALUES "
                            "('NEW1', 'tea pot blue', 'a blue tea pot', 5)")
    tab.ctx.notify_changed({"products"})
    qtbot.waitUntil(lambda: not tab.reader.running, timeout=10_000)  # read again in the background
    skus = [tab.customer_list.item(r, 1).text() for r in range(tab.customer_list.rowCount())]
    assert "NEW1" in skus


def test_the_catalog_text_is_never_read_on_the_window_thread(qtbot, tab, monkeypatch):
    """On 100,000 products reading the catalog's text takes seconds: it froze the window for 14-32 s when a
    customer was picked after Train and after every product edit."""
    import threading

    from shopai.recommend import query

    real, threads = query.catalog_tfidf, []

    def spy(db):
        threads.append(threading.current_thread() is threading.main_thread())
        return real(db)

    monkeypatch.setattr(query, "catalog_tfidf", spy)
    _train(qtbot, tab)
    tab.customer.set_current("10000", "10000")
    tab.show_customer()
    tab.product.set_current("P00", "P00")
    tab.show_product()
    tab.ctx.db.conn.execute("UPDATE products SET title = 'tea pot green' WHERE sku = 'P01'")
    tab.ctx.notify_changed({"products"})
    qtbot.waitUntil(lambda: not tab.reader.running, timeout=10_000)
    assert threads and not any(threads)
    assert tab.similar_list.rowCount() > 0 and tab.customer_list.rowCount() > 0


def _lines_needed(table, text: str) -> int:
    """How many lines ``text`` takes wrapped at the width of the table's Why column."""
    from PySide6.QtWidgets import QStyle

    fm = table.fontMetrics()
    margin = 2 * (table.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, table) + 1)
    rect = fm.boundingRect(0, 0, table.columnWidth(3) - margin - 1, 100_000, int(Qt.TextFlag.TextWordWrap), text)
    return max(1, round(rect.height() / fm.lineSpacing()))


def test_reasons_are_readable_in_a_small_window(qtbot, tab):
    """At 1024 px wide the Why column was a sliver on the product side ("boug…"): a reason now wraps onto as
    many lines as it needs (up to two, the row growing to hold them), and its tooltip has the whole of it."""
    from shopai_ui.tabs.recommend import WHY_LINES

    _train(qtbot, tab)
    tab.resize(1004, 700)  # the tab inside a 1024x768 window
    tab.show()
    qtbot.waitExposed(tab)
    tab.customer.set_current("10000", "10000")
    tab.new_only.setChecked(True)  # "bought together with …": the longest reasons
    tab.product.set_current("P00", "P00")
    tab.show_product()
    qtbot.wait(20)
    checked = 0
    for table in (tab.customer_list, tab.with_list, tab.similar_list):
        fm = table.fontMetrics()
        for r in range(table.rowCount()):
            item = table.item(r, 3)
            lines = _lines_needed(table, item.text())
            shown = min(lines, WHY_LINES)
            assert table.rowHeight(r) >= shown * fm.lineSpacing(), (item.text(), table.columnWidth(3))
            assert item.toolTip() and item.toolTip() in item.text()  # the full reason (a pin adds 📌)
            checked += 1
    assert tab.with_list.rowCount() and tab.with_list.item(0, 3).text().startswith("bought together in")
    # the commonest reasons fit whole at this width
    assert all(_lines_needed(tab.with_list, tab.with_list.item(r, 3).text()) <= WHY_LINES
               for r in range(tab.with_list.rowCount()))
    assert checked > 10
    # at 1920 px a reason needs no more lines than at 1024, and the rows stay one line tall where they can
    tab.resize(1900, 1000)
    qtbot.wait(20)
    base = tab.with_list.verticalHeader().defaultSectionSize()
    assert all(tab.with_list.rowHeight(r) == base for r in range(tab.with_list.rowCount()))


def test_the_tab_opens_on_a_product_that_has_sold(qtbot, ctx):
    """It opened on the first product by title, which may never have sold (both product lists empty)."""
    from shopai_ui.tabs.recommend import RecommendTab

    make_shop(ctx.db)
    ctx.db.conn.execute("INSERT INTO products (sku, title) VALUES ('AAA-0', 'AAA never sold')")
    last = ctx.db.conn.execute("SELECT p.sku FROM order_lines l JOIN products p ON p.id = l.product_id "
                               "ORDER BY l.id DESC LIMIT 1").fetchone()[0]
    w = RecommendTab(ctx)
    qtbot.addWidget(w)
    assert w.product.current_data() == last != "AAA-0"
    w.shutdown()

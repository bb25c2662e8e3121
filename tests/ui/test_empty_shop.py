"""A new, empty shop: every list says what to do instead of showing a blank, and the hints follow the shop."""
from __future__ import annotations

from PySide6.QtGui import QColor

from shopai.store import products


def _show(qtbot, widget):
    qtbot.addWidget(widget)
    widget.resize(1100, 600)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _drawn_hint(view) -> bool:
    """Whether anything but the background is drawn in the empty list's upper middle (where the hint goes)."""
    image = view.viewport().grab().toImage()
    background = QColor(image.pixel(5, image.height() - 5))
    w = image.width()
    return any(QColor(image.pixel(x, y)) != background for y in range(30, 140, 2) for x in range(w // 4, 3 * w // 4, 3))


def test_an_empty_catalog_says_how_to_fill_it_and_a_search_that_finds_nothing_says_so(ctx, qtbot):
    from shopai_ui.tabs.catalog import CatalogTab

    tab = _show(qtbot, CatalogTab(ctx))
    assert tab.table.empty_hint().startswith("No products yet.") and "Import…" in tab.table.empty_hint()
    assert _drawn_hint(tab.table)
    tab.search.setText("lantern")
    tab.apply_search()
    assert tab.table.empty_hint() == "No product matches the search and filters above."
    tab.search.setText("")
    tab.apply_search()
    products.add(ctx.db, sku="L1", title="Lantern", price=5)
    ctx.notify_changed({"products"})
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1, timeout=5000)
    tab.table.set_empty_hint("")  # nothing may be drawn but the one row: compare with no hint at all
    without = tab.table.viewport().grab().toImage()
    tab.apply_search()
    assert tab.table.viewport().grab().toImage() == without  # a list with rows shows no hint
    tab.shutdown()


def test_empty_orders_customers_and_recommendations_point_to_importing_orders(ctx, qtbot):
    from shopai_ui.tabs.customers import CustomersTab
    from shopai_ui.tabs.orders import OrdersTab
    from shopai_ui.tabs.recommend import RecommendTab

    orders_tab = _show(qtbot, OrdersTab(ctx))
    assert orders_tab.table.empty_hint().startswith("No orders yet.") and "Import orders…" in orders_tab.table.empty_hint()
    assert _drawn_hint(orders_tab.table)

    customers_tab = _show(qtbot, CustomersTab(ctx))
    qtbot.waitUntil(lambda: customers_tab.table.empty_hint() != "", timeout=5000)
    assert customers_tab.table.empty_hint().startswith("No customers yet")
    assert customers_tab.info_label.text().startswith("No orders yet: import your order history")

    rec_tab = _show(qtbot, RecommendTab(ctx))
    qtbot.waitUntil(lambda: not rec_tab.loader.running, timeout=10_000)
    assert rec_tab.model_label.text().startswith("No orders yet: import your order history")

    # orders come in: the tabs say Train, no longer "no orders"
    ctx.db.conn.execute("INSERT INTO customers (external_id) VALUES ('C1')")
    ctx.db.conn.execute("INSERT INTO orders (external_id, customer_id, ordered_at, status, total) "
                        "VALUES ('O1', 1, '2026-11-30T10:00:00', 'paid', 5)")
    ctx.notify_changed({"orders", "customers"})
    qtbot.waitUntil(lambda: customers_tab.info_label.text().startswith("No predictions yet"), timeout=5000)
    assert rec_tab.model_label.text() == "No model yet: press Train to learn from the order history."
    for tab in (orders_tab, customers_tab, rec_tab):
        tab.shutdown()

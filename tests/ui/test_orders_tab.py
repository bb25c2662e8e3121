"""Orders tab: the lazy list, filtering, an order's lines, a customer's history and totals."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from shopai.store import orders, products
from shopai_ui.tabs.orders import OrdersTab
from shopai_ui.widgets.sql_table import RawValueRole

# (order no., customer, date, status, country, [(sku, qty, unit price)])
ORDERS = [
    ("536365", "17850", "2010-12-01T08:26:00", "paid", "United Kingdom", [("85123A", 6, 2.55), ("71053", 6, 3.39)]),
    ("536366", "17850", "2010-12-01T08:28:00", "paid", "United Kingdom", [("22633", 6, 1.85)]),
    ("536367", "13047", "2010-12-01T08:34:00", "paid", "United Kingdom", [("84879", 32, 1.69)]),
    ("C536379", "17850", "2010-12-01T09:41:00", "cancelled", "United Kingdom", [("22633", -2, 1.85)]),
    ("536544", None, "2010-12-01T14:32:00", "paid", "United Kingdom", [("21773", 1, 2.51), ("21774", 2, 2.51)]),
    ("537000", "12583", "2010-12-03T10:00:00", "paid", "France", [("71053", 24, 3.39)]),
    ("540001", "17850", "2011-01-04T10:00:00", "paid", "United Kingdom", [("85123A", 12, 2.55)]),
]


@pytest.fixture
def shop(ctx):
    db = ctx.db
    skus = {sku for o in ORDERS for sku, _, _ in o[5]}
    for sku in sorted(skus):
        products.add(db, sku=sku, title=f"Product {sku}", price=1.0)
    pid = {sku: products.get(db, sku=sku)["id"] for sku in skus}
    conn = db.conn
    customers = {}
    for ext, country in (("17850", "United Kingdom"), ("13047", "United Kingdom"), ("12583", "France")):
        customers[ext] = conn.execute("INSERT INTO customers (external_id, country) VALUES (?, ?)",
                                      (ext, country)).lastrowid
    for no, cust, when, status, country, lines in ORDERS:
        total = sum(q * p for _, q, p in lines)
        oid = conn.execute(
            "INSERT INTO orders (external_id, customer_id, ordered_at, status, total, country) VALUES (?,?,?,?,?,?)",
            (no, customers.get(cust), when, status, total, country)).lastrowid
        for sku, q, p in lines:
            conn.execute("INSERT INTO order_lines (order_id, product_id, quantity, unit_price, ordered_at) "
                         "VALUES (?,?,?,?,?)", (oid, pid[sku], q, p, when))
    ctx.customers = customers
    return ctx


@pytest.fixture
def tab(shop, qtbot):
    widget = OrdersTab(shop)
    qtbot.addWidget(widget)
    widget.resize(1200, 700)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()


def col(model, key):
    return [c.key for c in model.columns].index(key)


def order_numbers(model):
    c = col(model, "external_id")
    return [model.data(model.index(r, c)) for r in range(model.rowCount())]


def test_lists_orders_newest_first_with_lines_and_totals(tab):
    m = tab.model
    assert m.rowCount() == len(ORDERS)
    assert order_numbers(m)[0] == "540001"
    assert tab.count_label.text() == "7 orders"
    r = order_numbers(m).index("536365")
    assert m.data(m.index(r, col(m, "customer"))) == "17850"
    assert m.data(m.index(r, col(m, "lines"))) == "2"
    assert m.data(m.index(r, col(m, "total")), RawValueRole) == pytest.approx(6 * 2.55 + 6 * 3.39)
    assert m.data(m.index(r, col(m, "ordered_at"))) == "2010-12-01 08:26"
    guest = order_numbers(m).index("536544")
    assert m.data(m.index(guest, col(m, "customer"))) == "Guest"
    cancelled = order_numbers(m).index("C536379")
    assert m.data(m.index(cancelled, 0), Qt.ItemDataRole.ForegroundRole) is not None


def test_sort_by_total(tab):
    tab.table.sortByColumn(col(tab.model, "total"), Qt.SortOrder.DescendingOrder)
    totals = [tab.model.data(tab.model.index(r, col(tab.model, "total")), RawValueRole)
              for r in range(tab.model.rowCount())]
    assert totals == sorted(totals, reverse=True)


def test_filter_by_order_number_and_customer(tab, qtbot):
    qtbot.keyClicks(tab.filter, "5363")
    qtbot.waitUntil(lambda: tab.model.rowCount() == 3, timeout=2000)
    assert set(order_numbers(tab.model)) == {"536365", "536366", "536367"}
    tab.set_filter_text("12583")
    assert order_numbers(tab.model) == ["537000"]
    assert tab.count_label.text() == "1 found"
    tab.set_filter_text("zzz")
    assert tab.model.rowCount() == 0
    tab.set_filter_text("")
    assert tab.model.rowCount() == 7


def test_guest_finds_guest_orders_and_an_empty_list_shows_no_customer(tab):
    """The column says "Guest", but typing it found nothing; and with nothing found the customer panel
    still showed the customer of the order selected before."""
    tab.select_order(orders.order_ids(tab.ctx.db, "536365")[0])
    assert tab.customer_box.title() == "Customer 17850"
    for text in ("Guest", "gue"):
        tab.set_filter_text(text)
        assert order_numbers(tab.model) == ["536544"], text
    tab.set_filter_text("gu")  # two letters: just a prefix of order numbers and customers
    assert tab.model.rowCount() == 0
    assert tab.customer_box.title() == "Customer" and tab.summary["who"].text() == "Select an order."
    assert tab.lines_total.text() == "Select an order to see what was in it."
    tab.set_filter_text("536544")
    tab.select_order(orders.order_ids(tab.ctx.db, "536544")[0])
    assert tab.lines_total.text().startswith("2 lines · total")


def test_selecting_an_order_shows_its_lines_and_customer_history(tab):
    tab.select_order(orders.order_ids(tab.ctx.db, "536365")[0])
    assert tab.lines.rowCount() == 2
    assert {tab.lines.item(r, 0).text() for r in range(2)} == {"85123A", "71053"}
    assert tab.lines.item(0, 1).text().startswith("Product ")
    assert "Order 536365" in tab.lines_box.title()
    assert tab.lines_total.text() == f"2 lines · total {6 * 2.55 + 6 * 3.39:.2f}"
    # the customer's history: 4 orders, 3 paid, spend from paid ones only
    assert tab.customer_box.title() == "Customer 17850"
    assert tab.history_model.rowCount() == 4
    assert order_numbers(tab.history_model)[0] == "540001"
    spend = 6 * 2.55 + 6 * 3.39 + 6 * 1.85 + 12 * 2.55
    assert tab.summary["spend"].text() == f"{spend:,.2f}"
    assert tab.summary["orders"].text() == "3 paid, 1 cancelled or returned"
    assert tab.summary["period"].text() == "2010-12-01 — last order 2011-01-04"
    assert "United Kingdom" in tab.summary["who"].text()
    # the selected order is highlighted in the history
    hist_rows = tab.history.selectionModel().selectedRows()
    assert [tab.history_model.id_at(i.row()) for i in hist_rows] == [tab.current_order_id()]
    # a line double-clicked: its product in the Catalog
    asked = []
    tab.ctx.productRequested.connect(asked.append)
    tab.lines.itemActivated.emit(tab.lines.item(0, 1))
    assert [products.get(tab.ctx.db, product_id=p)["sku"] for p in asked] == [tab.lines.item(0, 0).text()]


def test_cancelled_order_lines_and_guest_order(tab):
    tab.select_order(orders.order_ids(tab.ctx.db, "C536379")[0])
    assert "(cancelled)" in tab.lines_box.title()
    assert tab.lines.item(0, 2).text() == "-2"
    tab.select_order(orders.order_ids(tab.ctx.db, "536544")[0])
    assert tab.lines.rowCount() == 2
    assert tab.history_model.rowCount() == 0
    assert "Guest order" in tab.summary["who"].text()
    assert not tab.only_button.isEnabled()
    tab.ctx.notify_changed({"products"})  # any edit elsewhere: the guest order stays explained
    assert "Guest order" in tab.summary["who"].text()


def test_history_click_shows_that_order_and_filter_to_customer(tab):
    tab.select_order(orders.order_ids(tab.ctx.db, "536367")[0])
    assert tab.customer_box.title() == "Customer 13047"
    tab.select_order(orders.order_ids(tab.ctx.db, "536366")[0])
    target = order_numbers(tab.history_model).index("540001")
    tab.history.selectRow(target)
    assert "Order 540001" in tab.lines_box.title()
    assert tab.model.data(tab.model.index(tab.table.currentIndex().row(), 0)) == "540001"
    tab.only_button.click()
    assert set(order_numbers(tab.model)) == {"536365", "536366", "C536379", "540001"}
    assert tab.only_customer_label.text() == "Customer 17850 only"
    assert tab.show_all_button.isVisible() and not tab.only_button.isEnabled()
    tab.show_all_button.click()
    assert tab.model.rowCount() == 7 and not tab.show_all_button.isVisible()


def test_refresh_on_data_changed_keeps_the_selected_order(tab):
    chosen = orders.order_ids(tab.ctx.db, "536366")[0]
    tab.select_order(chosen)
    tab.ctx.db.conn.execute(
        "INSERT INTO orders (external_id, customer_id, ordered_at, total) VALUES ('600000', ?, '2011-12-09T12:00:00', 5)",
        (tab.ctx.customers["17850"],))
    tab.ctx.notify_changed({"orders"})
    assert tab.model.rowCount() == 8 and order_numbers(tab.model)[0] == "600000"
    assert tab.current_order_id() == chosen
    assert tab.history_model.rowCount() == 5


def test_empty_shop(ctx, qtbot):
    tab = OrdersTab(ctx)
    qtbot.addWidget(tab)
    assert tab.model.rowCount() == 0
    assert tab.count_label.text() == "0 orders"
    assert tab.summary["who"].text() == "Select an order."
    assert tab.lines.rowCount() == 0


def test_an_order_worth_less_than_its_lines_shows_its_value(tab):
    """A discount or a partial refund makes an order worth less than its lines add up to: the panel says both."""
    order_id = orders.order_ids(tab.ctx.db, "536366")[0]
    tab.ctx.db.conn.execute("UPDATE orders SET total = 9.99 WHERE id = ?", (order_id,))
    tab.select_order(order_id)
    assert tab.lines_total.text() == "1 line · total 11.10 · order value 9.99 (after discounts and refunds)"


def test_long_order_numbers_and_emails_fit_and_dates_without_a_time_show_no_midnight(shop, qtbot):
    """"DD20230904…" and e-mail addresses were cut off while the window had room; a date a file gave without a
    time showed as "… 00:00"."""
    conn = shop.db.conn
    cust = conn.execute("INSERT INTO customers (external_id) VALUES ('olivia.jackson@example.co.uk')").lastrowid
    conn.execute("INSERT INTO orders (external_id, customer_id, ordered_at, status, total) "
                 "VALUES ('DD2023090415301299', ?, '2023-09-04T00:00:00', 'paid', 5)", (cust,))
    widget = OrdersTab(shop)
    qtbot.addWidget(widget)
    widget.resize(1200, 700)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.waitUntil(lambda: widget._widths_fitted, timeout=2000)
    m, fm = widget.model, widget.table.fontMetrics()
    r = order_numbers(m).index("DD2023090415301299")
    for key in ("external_id", "customer"):
        text = m.data(m.index(r, col(m, key)))
        assert widget.table.columnWidth(col(m, key)) >= fm.horizontalAdvance(text), key
    assert m.data(m.index(r, col(m, "ordered_at"))) == "2023-09-04"
    assert m.data(m.index(order_numbers(m).index("536365"), col(m, "ordered_at"))) == "2010-12-01 08:26"
    widget.shutdown()

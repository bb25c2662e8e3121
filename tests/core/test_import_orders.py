"""Orders import: products created from the log, unknown products, cancellations, guests, totals, price
history, re-import, cancel midway, undo, and a slice of the real retail log with no mapping."""
from __future__ import annotations

import csv
import gzip
import hashlib
from pathlib import Path

import pytest

from shopai.io import import_job, preview, undo_import
from shopai.jobs import UserError, run_job
from shopai.store import open_store

LOG_HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID",
              "Country"]


def write_csv(path: Path, header, rows, encoding="utf-8"):
    with open(path, "w", newline="", encoding=encoding) as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def snapshot(db) -> str:
    h = hashlib.sha256()
    for table in ("products", "customers", "orders", "order_lines", "price_history", "imports", "import_changes"):
        for row in db.conn.execute(f"SELECT * FROM {table} ORDER BY rowid"):
            h.update(repr(row).encode())
    return h.hexdigest()


LOG = [
    ["1001", "A1", "WHITE HEART HOLDER", "6", "2011-01-03 09:00:00", "2.55", "17850.0", "United Kingdom"],
    ["1001", "B2", "RED LANTERN", "2", "2011-01-03 09:00:00", "3.00", "17850.0", "United Kingdom"],
    ["1002", "A1", "WHITE HEART HOLDER", "12", "2011-01-04 10:00:00", "2.55", "", "United Kingdom"],      # guest
    ["1003", "A1", "WHITE HEART HOLDER", "6", "2011-02-01 10:00:00", "2.95", "12583", "France"],         # new price
    ["C1004", "A1", "WHITE HEART HOLDER", "-6", "2011-02-02 10:00:00", "2.95", "12583", "France"],      # cancelled
    ["1005", "Z9", "", "1", "2011-02-03 10:00:00", "1.00", "12583", "France"],                         # unknown
    ["1006", "A1", "", "-20", "2011-02-03 11:00:00", "0", "", "United Kingdom"],                       # stock adj.
    ["A1007", "B", "Adjust bad debt", "1", "2011-02-04 10:00:00", "-11062.06", "", "United Kingdom"],  # negative
    ["1008", "", "", "1", "2011-02-05 10:00:00", "1.00", "12583", "France"],                           # no product
    ["1009", "B2", "RED LANTERN", "x", "2011-02-05 10:00:00", "3.00", "12583", "France"],              # bad qty
    ["1010", "B2", "RED LANTERN", "1", "31/31/2011", "3.00", "12583", "France"],                        # bad date
]


def test_order_log_every_problem_and_what_is_stored(db_path, tmp_path):
    path = write_csv(tmp_path / "log.csv", LOG_HEADER, LOG)
    db = open_store(db_path)
    pv = preview(db, path, "orders")
    assert pv.rows_total == 11 and pv.rows_ok == 5
    skipped = {p.row: p.message for p in pv.problems if p.skipped}
    assert "not in the catalog" in skipped[7] and "no description" in skipped[7]
    assert "stock adjustment" in skipped[8]
    assert "negative" in skipped[9]
    assert "names no product" in skipped[10]
    assert "quantity" in skipped[11]
    assert "unreadable date" in skipped[12]
    noted = [p for p in pv.problems if not p.skipped]
    assert [(p.row, "cancelled" in p.message) for p in noted] == [(6, True)]
    assert db.conn.execute("SELECT count(*) FROM orders").fetchone()[0] == 0

    report = run_job(import_job(db_path, path, "orders"))
    assert report.created == 5 and report.skipped == 6
    assert report.details["products"] == 2 and report.details["customers"] == 2
    assert "1 cancelled line (1 order) stored as a cancelled order, not a sale." in report.notes  # not "1 lines"
    # products the catalog lacked, created from the log: title from the description, latest paid price
    assert db.conn.execute("SELECT sku, title, price FROM products ORDER BY sku").fetchall() == [
        ("A1", "WHITE HEART HOLDER", 2.95), ("B2", "RED LANTERN", 3.0)]
    orders = {r[0]: r[1:] for r in db.conn.execute(
        "SELECT o.external_id, c.external_id, o.status, o.total, o.ordered_at, o.country FROM orders o "
        "LEFT JOIN customers c ON c.id = o.customer_id")}
    assert orders["1001"] == ("17850", "paid", 21.3, "2011-01-03T09:00:00", "United Kingdom")  # 17850.0 -> 17850
    assert orders["1002"][0] is None                                                           # guest
    assert orders["C1004"][1:3] == ("cancelled", -17.7)
    lines = db.conn.execute("SELECT l.quantity, l.unit_price, l.ordered_at FROM order_lines l JOIN orders o "
                            "ON o.id = l.order_id WHERE o.external_id = 'C1004'").fetchall()
    assert lines == [(-6.0, 2.95, "2011-02-02T10:00:00")]
    # price history: only when the unit price changes
    hist = db.conn.execute("SELECT p.sku, h.price, h.changed_at FROM price_history h JOIN products p "
                           "ON p.id = h.product_id WHERE h.source = 'import' ORDER BY p.sku, h.changed_at").fetchall()
    assert hist == [("A1", 2.55, "2011-01-03T09:00:00"), ("A1", 2.95, "2011-02-01T10:00:00"),
                    ("B2", 3.0, "2011-01-03T09:00:00")]


def test_orders_use_catalog_products_and_reimport_skips_known_orders(db_path, tmp_path):
    cat = write_csv(tmp_path / "cat.csv", ["sku", "title", "price"], [["A1", "White Heart Holder", "2.55"]])
    run_job(import_job(db_path, cat, "catalog"))
    path = write_csv(tmp_path / "log.csv", LOG_HEADER, LOG[:4])
    first = run_job(import_job(db_path, path, "orders"))
    db = open_store(db_path)
    assert db.conn.execute("SELECT title FROM products WHERE sku = 'A1'").fetchone()[0] == "White Heart Holder"
    assert first.details["products"] == 1  # only B2 was missing
    path2 = write_csv(tmp_path / "log2.csv", LOG_HEADER, LOG[:5])
    pv = preview(db, path2, "orders")
    assert pv.rows_total == 5 and pv.rows_ok == 1  # counts count rows: order 1001's two lines are two rows
    again = run_job(import_job(db_path, path2, "orders"))
    assert again.created == 1 and again.skipped == 4  # only C1004 is new
    assert [p.row for p in again.problems if "already in the shop" in p.message] == [2, 3, 4, 5]
    assert "3 orders are already in the shop and are skipped." in again.notes


def test_title_only_lines_match_the_catalog(db_path, tmp_path):
    cat = write_csv(tmp_path / "cat.csv", ["sku", "title", "price"], [["M1", "Stoneware Mug", "9"]])
    run_job(import_job(db_path, cat, "catalog"))
    path = write_csv(tmp_path / "o.csv", ["Order", "Date", "Product", "Qty", "Price"],
                     [["1", "2024-01-02", "stoneware mug", "2", "9"], ["1", "2024-01-02", "Unknown Vase", "1", "5"]])
    report = run_job(import_job(db_path, path, "orders"))
    assert report.created == 1
    assert "no SKU" in [p for p in report.problems if p.skipped][0].message


def test_cancel_midway_and_undo(db_path, tmp_path):
    rows = [[str(5000 + i // 5), f"P{i % 300}", f"PRODUCT {i % 300}", "1", "2011-03-01 10:00:00", "1.50",
             str(12000 + i % 50), "United Kingdom"] for i in range(60_000)]
    path = write_csv(tmp_path / "big.csv", LOG_HEADER, rows)
    db = open_store(db_path)
    before = snapshot(db)
    job = import_job(db_path, path, "orders")
    for progress in job:
        if progress.message.startswith("Saving order lines:"):
            break
    job.close()
    assert snapshot(db) == before
    report = run_job(import_job(db_path, path, "orders"))
    assert report.created == 60_000
    counts = undo_import(db, report.import_id)
    assert counts["order_lines_deleted"] == 60_000 and counts["products_deleted"] == 300
    assert counts["customers_deleted"] == 10  # an order's customer is its first line's: 12000 + (5k mod 50)
    for table in ("products", "customers", "orders", "order_lines", "price_history"):
        assert db.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table


def test_missing_columns_are_a_user_error(db_path, tmp_path):
    path = write_csv(tmp_path / "o.csv", ["what", "who"], [["a", "b"]])
    with pytest.raises(UserError, match="no column found"):
        run_job(import_job(db_path, path, "orders"))


def test_real_retail_log_slice_imports_with_no_mapping(db_path, shared_data, tmp_path):
    source = shared_data / "retail" / "transactions.csv.gz"
    if not source.is_file():
        pytest.skip("retail log not present")
    with gzip.open(source, "rt", encoding="utf-8", newline="") as f:
        head = [next(f) for _ in range(5001)]
    path = tmp_path / "slice.csv"
    path.write_text("".join(head), encoding="utf-8")
    db = open_store(db_path)
    pv = preview(db, path, "orders")
    assert pv.missing_required == []
    assert pv.mapping["order_id"] == "invoice" and pv.mapping["ordered_at"] == "invoice_date"
    report = run_job(import_job(db_path, path, "orders"))
    assert report.created + report.skipped == 5000
    assert report.details["cancelled_orders"] > 0
    stats = dict(zip(("orders", "lines", "customers"), db.conn.execute(
        "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_lines), "
        "(SELECT count(*) FROM customers)").fetchone()))
    assert stats["lines"] == report.created and stats["orders"] > 100 and stats["customers"] > 50
    # the first line of the file, as stored
    row = db.conn.execute("SELECT o.external_id, c.external_id, p.sku, p.title, l.quantity, l.unit_price, "
                          "l.ordered_at FROM order_lines l JOIN orders o ON o.id = l.order_id JOIN products p "
                          "ON p.id = l.product_id LEFT JOIN customers c ON c.id = o.customer_id "
                          "ORDER BY l.id LIMIT 1").fetchone()
    assert row == ("536365", "17850", "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 6.0, 2.55,
                   "2010-12-01T08:26:00")


def test_a_log_with_no_usable_line_writes_nothing(db_path, tmp_path):
    path = write_csv(tmp_path / "bad.csv", LOG_HEADER, [LOG[5], LOG[7], LOG[8]])
    db = open_store(db_path)
    before = snapshot(db)
    with pytest.raises(UserError, match="no order line could be imported"):
        run_job(import_job(db_path, path, "orders"))
    assert snapshot(db) == before


SHOPIFY_HEADER = ["Name", "Email", "Financial Status", "Created at", "Lineitem quantity", "Lineitem name",
                  "Lineitem price", "Lineitem sku", "Billing Country", "Cancelled at"]


def test_shopify_order_fields_on_the_first_row_apply_to_all_its_rows(db_path, tmp_path):
    # Shopify fills order-level cells (Financial Status, Cancelled at, Billing Country) on an order's first row only
    path = write_csv(tmp_path / "orders_export.csv", SHOPIFY_HEADER, [
        ["#1001", "a@x.com", "paid", "2024-03-05 10:14:00 -0400", "2", "Tee", "20.00", "TEE", "US", ""],
        ["#1001", "a@x.com", "", "2024-03-05 10:14:00 -0400", "1", "Mug", "25.00", "MUG", "", ""],
        ["#1002", "b@x.com", "voided", "2024-03-10 09:00:00 -0400", "1", "Mug", "25.00", "MUG", "CA",
         "2024-03-10 11:00:00 -0400"],
        ["#1002", "b@x.com", "", "2024-03-10 09:00:00 -0400", "1", "Tote", "20.00", "TOTE", "", ""],
        ["#1003", "c@x.com", "refunded", "2024-03-12 09:00:00 -0400", "1", "Mug", "25.00", "MUG", "GB", ""],
        ["#1003", "c@x.com", "", "2024-03-12 09:00:00 -0400", "2", "Tee", "20.00", "TEE", "", ""],
        ["#1004", "d@x.com", "partially_refunded", "2024-03-13 09:00:00 -0400", "2", "Mug", "25.00", "MUG", "DE",
         ""],
        ["#1005", "e@x.com", "voided", "2024-03-14 09:00:00 -0400", "1", "Tee", "20.00", "TEE", "US", ""],
    ])
    report = run_job(import_job(db_path, path, "orders"))
    assert report.format == "shopify" and report.created == 8 and report.skipped == 0
    db = open_store(db_path)
    orders = {r[0]: r[1:] for r in db.conn.execute("SELECT external_id, status, total, country FROM orders")}
    # orders cancelled or refunded as a whole keep what was ordered: they are no sale and no credit either
    assert orders == {"#1001": ("paid", 65.0, "US"), "#1002": ("cancelled", 45.0, "CA"),
                      "#1003": ("returned", 65.0, "GB"), "#1004": ("paid", 50.0, "DE"),
                      "#1005": ("cancelled", 20.0, "US")}
    assert db.conn.execute("SELECT count(*) FROM order_lines WHERE quantity < 0").fetchone()[0] == 0


def test_a_refunded_shopify_order_nets_to_nothing_while_a_credit_note_offsets_its_sale(db_path, tmp_path):
    """A Shopify order refunded in full was once stored as a credit with no sale beside it: the customer's
    spend went negative and the product counted as returned. It is now neither sale nor credit."""
    from shopai.customers.history import load_events
    from shopai.customers.scores import unscored_rows
    from shopai.recommend.train import read_orders
    path = write_csv(tmp_path / "orders_export.csv", SHOPIFY_HEADER, [
        ["#2001", "a@x.com", "paid", "2024-03-05 10:14:00 -0400", "2", "Tee", "20.00", "TEE", "US", ""],
        ["#2002", "a@x.com", "refunded", "2024-03-09 10:14:00 -0400", "1", "Mug", "25.00", "MUG", "US", ""],
        ["#2003", "b@x.com", "paid", "2024-03-10 09:00:00 -0400", "1", "Mug", "25.00", "MUG", "CA", ""],
        ["#2004", "b@x.com", "refunded", "2024-03-11 09:00:00 -0400", "1", "Tote", "30.00", "TOTE", "CA", ""],
    ])
    run_job(import_job(db_path, path, "orders"))
    # a UK-style credit note (negative line) for b's mug: it offsets b's sale of the mug
    credit = write_csv(tmp_path / "credit.csv", LOG_HEADER, [
        ["C9001", "MUG", "Mug", "-1", "2024-03-12 09:00:00", "25.00", "b@x.com", "Canada"]])
    run_job(import_job(db_path, credit, "orders"))
    db = open_store(db_path)
    spend = {r["customer_id"]: r["spend"] for r in unscored_rows(db)}
    assert spend == {"a@x.com": 40.0, "b@x.com": 0.0}
    events = load_events(db)
    refunds = {events.ids[c]: v for c, v in zip(events.refund_cust, events.refund_value)}
    assert refunds == {"b@x.com": -25.0}
    log, info = read_orders(db)
    sku = {str(k): v for k, v in db.conn.execute("SELECT id, sku FROM products")}
    email = {str(k): v for k, v in db.conn.execute("SELECT id, external_id FROM customers")}
    bought = {(email[log.users[u]], sku[log.items[i]]) for u, i in zip(log.user, log.item)}
    assert bought == {("a@x.com", "TEE")}  # b's mug was returned; the refunded orders were never sales
    assert info["returned_pairs"] == 1


def test_expired_shopify_and_on_hold_woocommerce_orders_are_not_paid(db_path, tmp_path):
    shop = write_csv(tmp_path / "orders_export.csv", SHOPIFY_HEADER, [
        ["#3001", "a@x.com", "paid", "2024-03-05 10:14:00 -0400", "1", "Tee", "20.00", "TEE", "US", ""],
        ["#3002", "b@x.com", "expired", "2024-03-06 10:14:00 -0400", "1", "Tee", "20.00", "TEE", "US", ""],
        ["#3002", "b@x.com", "", "2024-03-06 10:14:00 -0400", "1", "Mug", "25.00", "MUG", "", ""],
    ])
    db = open_store(db_path)
    skipped = {p.row: p.message for p in preview(db, shop, "orders").problems if p.skipped}
    assert skipped == {3: "order #3002 has not been paid (status 'expired'), not a sale; skipped",
                       4: "order #3002 has not been paid (status 'expired'), not a sale; skipped"}
    woo = write_csv(tmp_path / "woo.csv", ["Order Number", "Order Date", "Order Status", "Billing Email Address",
                                           "SKU", "Item Name", "Quantity", "Item Cost"], [
        ["5001", "2024-04-01 10:00", "Completed", "ann@x.com", "A1", "HEART", "2", "2.55"],
        ["5002", "2024-04-02 11:00", "On hold", "bo@x.com", "A1", "HEART", "1", "2.55"],
    ])
    report = run_job(import_job(db_path, woo, "orders"))
    assert report.created == 1 and report.skipped == 1
    assert dict(db.conn.execute("SELECT external_id, status FROM orders")) == {"5001": "paid"}


def test_woocommerce_failed_and_unpaid_orders_are_not_sales(db_path, tmp_path):
    header = ["Order Number", "Order Date", "Order Status", "Billing Email Address", "SKU", "Item Name", "Quantity",
              "Item Cost"]
    path = write_csv(tmp_path / "woo.csv", header, [
        ["5001", "2024-04-01 10:00", "Completed", "ann@x.com", "A1", "HEART", "2", "2.55"],
        ["5002", "2024-04-02 11:00", "Refunded", "bo@x.com", "A1", "HEART", "1", "2.55"],
        ["5003", "2024-04-03 12:00", "Cancelled", "cy@x.com", "A1", "HEART", "1", "2.55"],
        ["5004", "2024-04-04 13:00", "Failed", "dee@x.com", "A1", "HEART", "4", "2.55"],
        ["5004", "2024-04-04 13:00", "", "dee@x.com", "B2", "LANTERN", "1", "3.00"],
        ["5005", "2024-04-05 14:00", "Pending payment", "eve@x.com", "A1", "HEART", "3", "2.55"],
    ])
    db = open_store(db_path)
    pv = preview(db, path, "orders")
    assert pv.rows_total == 6 and pv.rows_ok == 3
    skipped = {p.row: p.message for p in pv.problems if p.skipped}
    assert sorted(skipped) == [5, 6, 7] and all("not been paid" in m and "not a sale" in m for m in skipped.values())
    assert "'Failed'" in skipped[6] and "'Pending payment'" in skipped[7]
    report = run_job(import_job(db_path, path, "orders"))
    assert report.created == 3 and report.skipped == 3
    assert dict(db.conn.execute("SELECT external_id, status FROM orders")) == {
        "5001": "paid", "5002": "returned", "5003": "cancelled"}
    assert db.conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 3  # no customer for unpaid orders
    assert db.conn.execute("SELECT count(*) FROM products WHERE sku = 'B2'").fetchone()[0] == 0


def test_impossible_dates_are_skipped_as_unreadable(db_path, tmp_path):
    rows = [[f"D{i}", "A1", "HEART", "1", f"2024-02-{10 + i} 10:00:00", "2.55", "17850", "UK"] for i in range(1, 10)]
    rows += [["D10", "A1", "HEART", "1", "2024-02-30 10:00:00", "2.55", "17850", "UK"],
             ["D11", "A1", "HEART", "1", "2024-13-45 99:99:99", "2.55", "17850", "UK"]]
    path = write_csv(tmp_path / "dates.csv", LOG_HEADER, rows)
    pv = preview(open_store(db_path), path, "orders")
    assert pv.rows_total == 11 and pv.rows_ok == 9
    assert [(p.row, "unreadable date" in p.message) for p in pv.problems] == [(11, True), (12, True)]
    report = run_job(import_job(db_path, path, "orders"))
    assert report.created == 9 and report.skipped == 2
    db = open_store(db_path)
    assert db.conn.execute("SELECT max(ordered_at) FROM order_lines").fetchone()[0] == "2024-02-19T10:00:00"


def test_order_prices_are_finite_numbers_and_decimal_commas_are_read_as_such(db_path, tmp_path):
    """float() alone would take 'inf' and 'nan' as prices and read a decimal-comma file's 1.299 as 1.299."""
    rows = [["N1", "A1", "HEART", "1", "2024-02-01 10:00:00", "inf", "17850", "UK"],
            ["N2", "A1", "HEART", "nan", "2024-02-01 10:00:00", "2.55", "17850", "UK"],
            ["N3", "A1", "HEART", "1", "2024-02-01 10:00:00", "2.55", "17850", "UK"]]
    path = write_csv(tmp_path / "nonfinite.csv", LOG_HEADER, rows)
    pv = preview(open_store(db_path), path, "orders")
    assert pv.rows_ok == 1
    assert sorted((p.row, p.message.split(" is ")[0]) for p in pv.problems) == [(2, "price 'inf'"),
                                                                               (3, "quantity 'nan'")]
    comma = tmp_path / "comma.csv"
    comma.write_text("Order;SKU;Title;Qty;Date;Price\n"
                     "E1;A1;Heart;1;2024-02-01 10:00;49,90\n"
                     "E2;B2;Lamp;1;2024-02-02 10:00;1.299\n"
                     "E3;C3;Cup;2;2024-02-03 10:00;3,50\n", encoding="utf-8")
    run_job(import_job(db_path, comma, "orders"))
    prices = dict(open_store(db_path).conn.execute(
        "SELECT p.sku, l.unit_price FROM order_lines l JOIN products p ON p.id = l.product_id "
        "JOIN orders o ON o.id = l.order_id WHERE o.external_id LIKE 'E%'"))
    assert prices == {"A1": 49.9, "B2": 1299.0, "C3": 3.5}


# A Shopify order export as it really comes: order-level amounts on each order's first row only.
SHOPIFY_FULL = ["Name", "Email", "Financial Status", "Currency", "Subtotal", "Shipping", "Taxes", "Total",
                "Discount Amount", "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price",
                "Lineitem sku", "Billing Country", "Cancelled at", "Refunded Amount"]


def shopify_order(name, email, status, lines, *, subtotal=None, shipping="0.00", discount="0.00", refunded="0.00",
                  currency="GBP", cancelled="", when="2024-03-05 10:14:00 +0000"):
    """The rows of one Shopify order: ``lines`` = [(qty, title, price, sku)]."""
    goods = sum(q * p for q, _, p, _ in lines)
    sub = goods - float(discount) if subtotal is None else subtotal
    rows = []
    for j, (q, title, p, sku) in enumerate(lines):
        first = j == 0
        rows.append([name, email, status if first else "", currency if first else "", f"{sub:.2f}" if first else "",
                     shipping if first else "", f"{sub / 6:.2f}" if first else "",
                     f"{sub + float(shipping):.2f}" if first else "", discount if first else "", when, str(q), title,
                     f"{p:.2f}", sku, "GB" if first else "", cancelled if first else "", refunded if first else ""])
    return rows


def orders_table(db):
    return {r[0]: r[1:] for r in db.conn.execute("SELECT external_id, status, total FROM orders")}


def test_order_value_is_the_goods_after_discounts_without_shipping_and_taxes(db_path, tmp_path):
    """#1015 with WELCOME10 was stored at its pre-discount line sum (110.12): its value is Shopify's Subtotal
    (99.11), not the lines and not the Total with shipping; customer spend adds up those values."""
    from shopai.customers.scores import unscored_rows
    lines = [(4, "Heart Holder", 2.95, "A1"), (6, "Red Lantern", 3.75, "B2"), (2, "Mug", 37.91, "C3")]
    assert round(sum(q * p for q, _, p, _ in lines), 2) == 110.12
    path = write_csv(tmp_path / "orders_export.csv", SHOPIFY_FULL,
                     shopify_order("#1015", "a@x.com", "paid", lines, discount="11.01", shipping="4.95")
                     + shopify_order("#1016", "a@x.com", "paid", [(1, "Mug", 6.47, "C3")], when="2024-03-06 10:00:00"))
    report = run_job(import_job(db_path, path, "orders"))
    db = open_store(db_path)
    assert orders_table(db) == {"#1015": ("paid", 99.11), "#1016": ("paid", 6.47)}
    assert {r["customer_id"]: r["spend"] for r in unscored_rows(db)} == {"a@x.com": 105.58}
    assert ("Order values are the goods after discounts, without shipping and taxes (the file's Subtotal); "
            "1 order has a discount.") in report.notes
    # our own export gives lines only: read again, it leaves the value the Shopify file told alone
    from shopai.io.export import export_orders
    export_orders(db, tmp_path / "ours.csv")
    again = preview(db, tmp_path / "ours.csv", "orders")
    assert (again.would_create, again.would_update) == (0, 0)
    assert "2 orders are already in the shop and are skipped." in again.notes
    # no Subtotal column: the lines less the order's discount
    trimmed = tmp_path / "trimmed.csv"
    keep = [i for i, c in enumerate(SHOPIFY_FULL) if c not in ("Subtotal", "Total")]
    write_csv(trimmed, [SHOPIFY_FULL[i] for i in keep],
              [[r[i] for i in keep] for r in shopify_order("#1017", "b@x.com", "paid", lines, discount="11.01")])
    run_job(import_job(db_path, trimmed, "orders"))
    assert orders_table(db)["#1017"] == ("paid", 99.11)
    # WooCommerce (Advanced Order Export): Cart Discount Amount off the lines, Order Refund Amount off a sale
    woo = write_csv(tmp_path / "woo.csv", ["Order Number", "Order Date", "Order Status", "Billing Email Address",
                                           "SKU", "Item Name", "Quantity", "Item Cost", "Cart Discount Amount",
                                           "Order Refund Amount", "Order Total Amount"], [
        ["5001", "2024-04-01 10:00", "Completed", "w@x.com", "A1", "Heart Holder", "2", "10.00", "2.00", "0", "23.00"],
        ["5001", "2024-04-01 10:00", "Completed", "w@x.com", "C3", "Mug", "1", "5.00", "2.00", "0", "23.00"],
        ["5002", "2024-04-02 10:00", "Completed", "w@x.com", "C3", "Mug", "3", "5.00", "0", "5.00", "15.00"],
    ])
    assert preview(db, woo, "orders").mapping["discount"] == "Cart Discount Amount"
    run_job(import_job(db_path, woo, "orders"))
    assert {k: v for k, v in orders_table(db).items() if k in ("5001", "5002")} == {
        "5001": ("paid", 23.0), "5002": ("paid", 10.0)}


def test_a_partly_refunded_order_is_a_sale_worth_less_the_refund(db_path, tmp_path):
    path = write_csv(tmp_path / "orders_export.csv", SHOPIFY_FULL,
                     shopify_order("#2001", "a@x.com", "partially_refunded", [(2, "Mug", 25.0, "MUG")],
                                   refunded="10.00")
                     # refunds that cover all the goods (shipping kept): every item came back
                     + shopify_order("#2002", "b@x.com", "partially_refunded", [(1, "Mug", 25.0, "MUG")],
                                     shipping="4.95", refunded="25.00")
                     # a whole refund keeps the order as it was ordered: neither sale nor credit
                     + shopify_order("#2003", "c@x.com", "refunded", [(1, "Mug", 25.0, "MUG")], refunded="25.00"))
    report = run_job(import_job(db_path, path, "orders"))
    assert orders_table(open_store(db_path)) == {"#2001": ("paid", 40.0), "#2002": ("returned", 25.0),
                                                 "#2003": ("returned", 25.0)}
    assert "1 order partly refunded: it is a sale worth its goods less the refund (#2001: 50.00 less 10.00 = " \
           "40.00)." in report.notes
    noted = {p.row: p.message for p in report.problems if not p.skipped}
    assert noted[2] == "order #2001 was partly refunded: stored as a sale of 40.00 (50.00 less 10.00 refunded)"
    assert "cover all its goods" in noted[3]


def test_shopify_pending_and_authorized_orders_are_not_paid_until_a_later_export_says_so(db_path, tmp_path):
    rows = (shopify_order("#3001", "a@x.com", "paid", [(1, "Tee", 20.0, "TEE")])
            + shopify_order("#3002", "b@x.com", "pending", [(1, "Tee", 20.0, "TEE"), (1, "Mug", 25.0, "MUG")])
            + shopify_order("#3003", "c@x.com", "authorized", [(2, "Mug", 25.0, "MUG")]))
    path = write_csv(tmp_path / "orders_export.csv", SHOPIFY_FULL, rows)
    db = open_store(db_path)
    skipped = {p.row: p.message for p in preview(db, path, "orders").problems if p.skipped}
    assert skipped == {3: "order #3002 has not been paid (status 'pending'), not a sale; skipped",
                       4: "order #3002 has not been paid (status 'pending'), not a sale; skipped",
                       5: "order #3003 has not been paid (status 'authorized'), not a sale; skipped"}
    report = run_job(import_job(db_path, path, "orders"))
    assert (report.created, report.skipped) == (1, 3)
    assert orders_table(db) == {"#3001": ("paid", 20.0)}
    # a month later #3002 is paid: it is imported then, as a new order
    rows[1][2] = "paid"
    later = write_csv(tmp_path / "orders_export_later.csv", SHOPIFY_FULL, rows)
    again = run_job(import_job(db_path, later, "orders"))
    assert (again.created, again.updated, again.skipped) == (2, 0, 2)
    assert orders_table(db) == {"#3001": ("paid", 20.0), "#3002": ("paid", 45.0)}


def test_a_later_export_updates_the_status_and_value_of_orders_already_in_the_shop_and_undo_puts_them_back(
        db_path, tmp_path):
    """The owner re-exports a month later: #4001 was refunded since, #4002 partly refunded, #4005 (refunded by
    mistake) is paid again; #4004 is the same; #4006's lines were edited; a UK credit note stays as it is."""
    first = [shopify_order("#4001", "a@x.com", "paid", [(2, "Tee", 20.0, "TEE"), (1, "Mug", 25.0, "MUG")]),
             shopify_order("#4002", "b@x.com", "paid", [(2, "Mug", 25.0, "MUG")]),
             shopify_order("#4004", "d@x.com", "paid", [(1, "Tee", 20.0, "TEE")]),
             shopify_order("#4005", "e@x.com", "refunded", [(1, "Tote", 30.0, "TOTE")], refunded="30.00"),
             shopify_order("#4006", "f@x.com", "paid", [(1, "Tote", 30.0, "TOTE")])]
    run_job(import_job(db_path, write_csv(tmp_path / "june.csv", SHOPIFY_FULL, sum(first, [])), "orders"))
    credit = write_csv(tmp_path / "credit.csv", LOG_HEADER + ["Status"], [
        ["C9001", "MUG", "Mug", "-1", "2024-03-12 09:00:00", "25.00", "b@x.com", "GB", "Refund"]])
    run_job(import_job(db_path, credit, "orders"))
    db = open_store(db_path)
    tables = ("orders", "order_lines", "products", "customers", "price_history")

    def state():
        return {t: db.conn.execute(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in tables}

    before = state()
    assert orders_table(db)["C9001"] == ("returned", -25.0)
    later = [shopify_order("#4001", "a@x.com", "refunded", [(2, "Tee", 20.0, "TEE"), (1, "Mug", 25.0, "MUG")],
                           refunded="65.00"),
             shopify_order("#4002", "b@x.com", "partially_refunded", [(2, "Mug", 25.0, "MUG")], refunded="10.00"),
             shopify_order("#4004", "d@x.com", "paid", [(1, "Tee", 20.0, "TEE")]),
             shopify_order("#4005", "e@x.com", "paid", [(1, "Tote", 30.0, "TOTE")]),
             shopify_order("#4006", "f@x.com", "paid", [(2, "Tote", 30.0, "TOTE")]),
             shopify_order("#4007", "g@x.com", "paid", [(1, "Tee", 20.0, "TEE")])]
    path = write_csv(tmp_path / "july.csv", SHOPIFY_FULL, sum(later, []))
    pv = preview(db, path, "orders")
    assert (pv.would_create, pv.would_update, pv.rows_ok) == (1, 3, 5)
    report = run_job(import_job(db_path, path, "orders"))
    # counts count rows: #4007's line is created, the 4 rows of #4001, #4002, #4005 are updated
    assert (report.created, report.updated, report.skipped) == (1, 4, 2)
    assert report.details["updated_orders"] == 3
    assert report.notes[:2] == ["2 orders change status (#4001 paid → returned, #4005 returned → paid).",
                                "1 order already in the shop changes value (#4002 50.00 → 40.00)."]
    assert "1 order is in the shop with other lines than this file gives (#4006): it is left as it is." \
        in report.notes
    assert "1 order is already in the shop and is skipped." in report.notes
    skipped = {p.row: p.message for p in report.problems if p.skipped}
    assert skipped == {5: "order #4004 is already in the shop; skipped",
                       7: "order #4006 is already in the shop with other lines; skipped (its lines are left as "
                          "they are)"}
    got = orders_table(db)
    assert {k: got[k] for k in ("#4001", "#4002", "#4004", "#4005", "#4006", "#4007")} == {
        "#4001": ("returned", 65.0), "#4002": ("paid", 40.0), "#4004": ("paid", 20.0), "#4005": ("paid", 30.0),
        "#4006": ("paid", 30.0), "#4007": ("paid", 20.0)}
    assert db.conn.execute("SELECT count(*) FROM order_lines").fetchone()[0] == len(before["order_lines"]) + 1
    # a credit note read again with another status is never re-written
    credit2 = write_csv(tmp_path / "credit2.csv", LOG_HEADER + ["Status"], [
        ["C9001", "MUG", "Mug", "-1", "2024-03-12 09:00:00", "25.00", "b@x.com", "GB", "Cancelled"],
        ["9002", "MUG", "Mug", "1", "2024-03-13 09:00:00", "25.00", "b@x.com", "GB", "Paid"]])
    other = run_job(import_job(db_path, credit2, "orders"))
    assert (other.updated, orders_table(db)["C9001"]) == (0, ("returned", -25.0))
    undo_import(db, other.import_id)
    # undo puts the old statuses and values back, and the new order goes
    undo_import(db, report.import_id)
    assert state() == before


def test_lines_an_import_before_the_catalog_skipped_are_added_by_a_reimport(db_path, tmp_path):
    """Orders imported before the catalog: a line with no SKU naming a product the catalog lacks is skipped,
    with a hint; once the catalog is in, importing the orders again adds the lines to the orders already in
    the shop (and undo takes them out again)."""
    rows = (shopify_order("#5001", "a@x.com", "paid", [(2, "Tee", 20.0, "TEE"), (1, "Gift Box - Red", 5.0, "")])
            + shopify_order("#5002", "b@x.com", "paid", [(1, "Gift Box - Red", 5.0, "")]))
    path = write_csv(tmp_path / "orders_export.csv", SHOPIFY_FULL, rows)
    first = run_job(import_job(db_path, path, "orders"))
    assert (first.created, first.skipped) == (1, 2)
    assert ("2 lines name products the catalog lacks ('Gift Box - Red'): skipped; import the catalog first, then "
            "these orders again (orders already in the shop then get their missing lines).") in first.notes
    db = open_store(db_path)
    assert orders_table(db) == {"#5001": ("paid", 45.0)}  # its value is the Subtotal: the whole order
    cat = write_csv(tmp_path / "cat.csv", ["sku", "title", "price"], [["BOX-RED", "Gift Box - Red", "5"]])
    run_job(import_job(db_path, cat, "catalog"))
    before = db.conn.execute("SELECT * FROM order_lines ORDER BY id").fetchall()
    again = run_job(import_job(db_path, path, "orders"))
    assert (again.created, again.updated, again.skipped) == (2, 1, 0)
    assert "1 line that an earlier import could not match to a product is added to 1 order already in the shop." \
        in again.notes
    lines = db.conn.execute("SELECT o.external_id, p.sku, l.quantity FROM order_lines l JOIN orders o ON "
                            "o.id = l.order_id JOIN products p ON p.id = l.product_id ORDER BY l.id").fetchall()
    assert lines == [("#5001", "TEE", 2.0), ("#5002", "BOX-RED", 1.0), ("#5001", "BOX-RED", 1.0)]
    undo_import(db, again.import_id)
    assert db.conn.execute("SELECT * FROM order_lines ORDER BY id").fetchall() == before


def test_a_file_with_several_currencies_says_so(db_path, tmp_path):
    rows = (shopify_order("#6001", "a@x.com", "paid", [(1, "Tee", 20.0, "TEE")])
            + shopify_order("#6002", "b@x.com", "paid", [(1, "Tee", 20.0, "TEE")], currency="EUR")
            + shopify_order("#6003", "c@x.com", "paid", [(1, "Tee", 20.0, "TEE")]))
    pv = preview(open_store(db_path), write_csv(tmp_path / "o.csv", SHOPIFY_FULL, rows), "orders")
    assert ("This file has orders in 2 currencies: GBP (2 orders), EUR (1 order). Amounts are stored as they are, "
            "not converted: totals and customer spend add them up as if they were one currency.") in pv.notes
    one = preview(open_store(db_path), write_csv(tmp_path / "gbp.csv", SHOPIFY_FULL, rows[:1]), "orders")
    assert not any("currenc" in n for n in one.notes)


ZH_HEADER = ["订单号", "下单时间", "货号", "商品名称", "数量", "单价", "客户", "状态", "国家"]
# (Chinese status, the same status in English, what it is stored as; None: skipped as not paid)
ZH_STATUSES = [
    ("已付款", "paid", "paid"), ("已发货", "shipped", "paid"), ("待发货", "processing", "paid"),
    ("交易成功", "completed", "paid"), ("已完成", "completed", "paid"), ("已签收", "delivered", "paid"),
    ("买家已付款，等待卖家发货", "paid", "paid"), ("部分退款", "partially refunded", "paid"),
    ("已取消", "cancelled", "cancelled"), ("交易关闭", "cancelled", "cancelled"),
    ("交易關閉", "cancelled", "cancelled"),  # Traditional
    ("已退款", "refunded", "returned"), ("退款成功", "refunded", "returned"), ("已退货", "returned", "returned"),
    ("退貨退款", "returned", "returned"),
    ("待付款", "pending payment", None), ("等待买家付款", "pending payment", None), ("未付款", "unpaid", None),
    ("等待買家付款", "pending payment", None),
]


def test_chinese_order_statuses_count_as_their_english_twins(db_path, tmp_path):
    """已取消 / 交易关闭 were stored as paid, and so were 已退款 and 待付款: every Chinese status was a sale."""
    def rows(english: bool):
        return [[f"DD{n:03d}", "2023/9/4 19:40", "A1", "青花瓷杯", "2", "68.00元", "徐明", en if english else zh,
                 "中国"] for n, (zh, en, _) in enumerate(ZH_STATUSES)]

    zh = write_csv(tmp_path / "订单.csv", ZH_HEADER, rows(False), encoding="utf-8-sig")
    en = write_csv(tmp_path / "orders_en.csv", ZH_HEADER, rows(True))
    report = run_job(import_job(db_path, zh, "orders"))
    db = open_store(db_path)
    stored = dict(db.conn.execute("SELECT external_id, status FROM orders"))
    assert stored == {f"DD{n:03d}": want for n, (_, _, want) in enumerate(ZH_STATUSES) if want}
    skipped = {p.row: p.message for p in report.problems if p.skipped}
    assert skipped == {n + 2: f"order DD{n:03d} has not been paid (status {zh!r}), not a sale; skipped"
                       for n, (zh, _, want) in enumerate(ZH_STATUSES) if want is None}
    assert report.details["cancelled_orders"] == 3 and report.details["returned_orders"] == 4
    # the same orders with English statuses import the same
    undo_import(db, report.import_id)
    run_job(import_job(db_path, en, "orders"))
    assert dict(db.conn.execute("SELECT external_id, status FROM orders")) == stored


@pytest.mark.parametrize("text, status", [
    ("退款关闭", "paid"), ("退款中", "paid"), ("拒绝退款", "paid"),  # a refund asked for, none made: still a sale
    ("退款成功", "returned"), ("交易关闭", "cancelled"), ("待付款", "not sold"), ("交易成功", "paid"),
])
def test_a_refund_that_was_closed_or_is_still_open_leaves_the_sale(text, status):
    from shopai.io.order_status import status_of

    assert status_of(text, False) == status

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
    assert any("cancelled lines" in n for n in report.notes)
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
    assert "3 orders were already in the shop and were skipped." in again.notes


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

"""Shopify, WooCommerce and Square exports are recognised and mapped; anything else gets a guess."""
from __future__ import annotations

from pathlib import Path

import pytest

from shopai.io import guess_kind, import_job, preview
from shopai.jobs import run_job
from shopai.store import open_store

DATA = Path(__file__).resolve().parents[1] / "data" / "import"


def products(db):
    cur = db.conn.execute("SELECT sku, title, description, category, price, cost, stock FROM products ORDER BY id")
    return {r[0]: r[1:] for r in cur}


def orders(db):
    cur = db.conn.execute("SELECT o.external_id, c.external_id, o.ordered_at, o.status, o.total FROM orders o "
                          "LEFT JOIN customers c ON c.id = o.customer_id ORDER BY o.id")
    return {r[0]: r[1:] for r in cur}


def test_shopify_products_grouped_by_handle(db_path):
    db = open_store(db_path)
    pv = preview(db, DATA / "shopify_products.csv", "catalog")
    assert pv.format == "shopify" and pv.mapping["group"] == "Handle" and pv.mapping["sku"] == "Variant SKU"
    report = run_job(import_job(db_path, DATA / "shopify_products.csv", "catalog"))
    assert report.created == 5 and report.skipped == 0
    got = products(db)
    # variants inherit the first row's title, description and category; HTML is turned into text
    assert got["APR-NAT"] == ("Linen Apron - Natural", "Stonewashed linen apron & pocket.", "Aprons", 24.0, 9.5, 12)
    assert got["APR-CHA"][0] == "Linen Apron - Charcoal" and got["APR-CHA"][3] == 26.0
    assert got["CND-BEE"][0] == "Beeswax Pillar Candle"  # "Default Title" is not a variant name
    assert {"gift-card-10", "gift-card-25"} <= set(got)  # no SKU: made from the handle and the option
    assert any("image rows were merged" in n for n in report.notes)
    # the category path became a tree
    tree = dict(db.conn.execute("SELECT c.name, p.name FROM categories c LEFT JOIN categories p "
                                "ON p.id = c.parent_id").fetchall())
    assert tree["Aprons"] == "Clothing" and tree["Clothing"] == "Apparel & Accessories"


def test_shopify_orders(db_path):
    run_job(import_job(db_path, DATA / "shopify_products.csv", "catalog"))
    report = run_job(import_job(db_path, DATA / "shopify_orders.csv", "orders"))
    db = open_store(db_path)
    got = orders(db)
    assert got["#1001"] == ("ann@example.com", "2024-03-02T10:15:20", "paid", 48.5)
    assert got["#1002"][0] is None  # guest
    assert got["#1003"][2] == "cancelled" and got["#1003"][3] == -12.5
    assert report.details["cancelled_orders"] == 1
    assert any("cancelled" in p.message and not p.skipped for p in report.problems)


def test_woocommerce_products_and_orders(db_path):
    db = open_store(db_path)
    pv = preview(db, DATA / "woocommerce_products.csv", "catalog")
    assert pv.format == "woocommerce"
    report = run_job(import_job(db_path, DATA / "woocommerce_products.csv", "catalog"))
    got = products(db)
    assert got["WC-MUG-01"] == ("Stoneware Mug", "A 350 ml mug.", "Mugs", 9.5, None, 30)
    assert got["WC-TEA-01"][2] == "Textiles"  # "Kitchen > Textiles": the leaf
    assert "WC-BAD-01" not in got
    assert [(p.row, "not a number" in p.message) for p in report.problems if p.skipped] == [(4, True)]
    report = run_job(import_job(db_path, DATA / "woocommerce_orders.csv", "orders"))
    got = orders(db)
    assert got["2001"] == ("7", "2024-04-01T12:00:00", "paid", 23.0)
    assert got["2002"][2] == "returned" and got["2003"][2] == "cancelled"
    assert db.conn.execute("SELECT sum(quantity) FROM order_lines l JOIN orders o ON o.id = l.order_id "
                           "WHERE o.status != 'paid'").fetchone()[0] == -4


def test_square_items_utf16_and_item_details(db_path):
    db = open_store(db_path)
    pv = preview(db, DATA / "square_items.csv", "catalog")
    assert (pv.format, pv.encoding) == ("square", "utf-16")
    run_job(import_job(db_path, DATA / "square_items.csv", "catalog"))
    got = products(db)
    assert got["SQ-COF-L"][0] == "Flat White - Large" and got["SQ-COF-L"][3] == 3.4
    assert got["SQ-BRD-1"][0] == "Sourdough Loaf"  # "Regular" is not a variant name
    assert got["SQ-MAT-1"][0] == "抹茶拿铁"
    report = run_job(import_job(db_path, DATA / "square_items_detail.csv", "orders"))
    assert report.format == "square"
    got = orders(db)
    assert got["T1"] == (None, "2024-05-02T08:01:10", "paid", 10.0)  # unit price from "£5.80" gross / 2
    assert got["T3"][2] == "returned"


@pytest.mark.parametrize("rows, expected_first", [
    # month-first (the original UCI file writes 12/1/2010 8:26)
    (["536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom",
      "536366,22633,HAND WARMER UNION JACK,6,12/13/2010 8:28,1.85,17850,United Kingdom"],
     "2010-12-01T08:26:00"),
    # day-first
    (["536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,01/12/2010 08:26,2.55,17850,United Kingdom",
      "536366,22633,HAND WARMER UNION JACK,6,13/12/2010 08:28,1.85,17850,United Kingdom"],
     "2010-12-01T08:26:00"),
])
def test_generic_transaction_log_needs_no_mapping(db_path, tmp_path, rows, expected_first):
    path = tmp_path / "log.csv"
    path.write_text("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
                    + "\n".join(rows) + "\n")
    assert guess_kind(path) == "orders"
    db = open_store(db_path)
    pv = preview(db, path, "orders")
    assert pv.format == "generic"
    assert pv.mapping["order_id"] == "InvoiceNo" and pv.mapping["sku"] == "StockCode"
    assert pv.mapping["title"] == "Description" and pv.mapping["customer_id"] == "CustomerID"
    assert pv.missing_required == []
    run_job(import_job(db_path, path, "orders"))
    assert orders(db)["536365"][1] == expected_first
    assert db.conn.execute("SELECT ordered_at FROM orders WHERE external_id = '536366'").fetchone()[0][:10] \
        == "2010-12-13"


def test_guess_from_values_when_headers_say_nothing(db_path, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("ref,when,code,what,n,each\n"
                    "A1,2024-01-05 10:00,X1,Blue mug,2,3.50\n"
                    "A1,2024-01-05 10:00,X2,Red bowl,1,4.25\n"
                    "A2,2024-01-06 11:00,X1,Blue mug,3,3.75\n")
    pv = preview(open_store(db_path), path, "orders", mapping={"order_id": "ref", "sku": "code", "title": "what"})
    assert pv.mapping["ordered_at"] == "when"      # a column of dates
    assert pv.mapping["quantity"] == "n"           # whole numbers
    assert pv.mapping["unit_price"] == "each"      # decimals
    assert pv.rows_ok == 3


def test_mapping_override_and_unknown_column(db_path, tmp_path):
    path = tmp_path / "cat.csv"
    path.write_text("code,label,name,cost\nK1,Oak board,ignore me,10\n")
    db = open_store(db_path)
    pv = preview(db, path, "catalog", mapping={"title": "label", "price": "cost", "cost": None})
    assert pv.mapping["title"] == "label" and pv.mapping["price"] == "cost" and pv.mapping["cost"] is None
    assert pv.sample[0]["title"] == "Oak board" and pv.sample[0]["price"] == 10.0
    from shopai.jobs import UserError
    with pytest.raises(UserError, match="no column named"):
        preview(db, path, "catalog", mapping={"title": "nope"})


def test_guess_kind_of_known_exports():
    assert guess_kind(DATA / "shopify_products.csv") == "catalog"
    assert guess_kind(DATA / "shopify_orders.csv") == "orders"
    assert guess_kind(DATA / "square_items.csv") == "catalog"
    assert guess_kind(DATA / "woocommerce_orders.csv") == "orders"


def test_month_first_told_from_a_late_row(db_path, tmp_path):
    """The first 600 dates are ambiguous (day <= 12); one late date (12/13) settles it for the whole file."""
    rows = [f"{600 + i},A1,RED MUG,1,12/{1 + i % 12}/2010 9:{i % 60:02d},2.50,17850,United Kingdom"
            for i in range(600)]
    rows.append("1300,A1,RED MUG,1,12/13/2010 9:00,2.50,17850,United Kingdom")
    path = tmp_path / "us.csv"
    path.write_text("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
                    + "\n".join(rows) + "\n")
    pv = preview(open_store(db_path), path, "orders")
    assert pv.day_first is False and pv.sample[1]["ordered_at"] == "2010-12-02T09:01:00"
    assert any("month/day/year" in n for n in pv.notes)

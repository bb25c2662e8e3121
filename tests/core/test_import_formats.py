"""Shopify, WooCommerce and Square exports are recognised and mapped; anything else gets a guess."""
from __future__ import annotations

from pathlib import Path

import pytest

from shopai.io import guess_kind, import_job, preview
from shopai.jobs import run_job
from shopai.store import open_store

DATA = Path(__file__).resolve().parents[1] / "data" / "import"


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    """A file of ``text`` in ``encoding``, named ``name``, in ``folder``."""
    path = folder / name
    path.write_text(text, encoding=encoding)
    return path


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
    assert "1 extra image row is merged into its product." in report.notes
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
    assert got["#1003"][2] == "cancelled" and got["#1003"][3] == 12.5  # as ordered: no sale, no credit
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
                           "WHERE o.status != 'paid'").fetchone()[0] == 4  # whole orders: kept as ordered


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
    path = write(tmp_path, "cat.csv", "code,label,name,cost\nK1,Oak board,ignore me,10\n")
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


def test_a_column_named_price_wins_over_values_even_with_some_text(db_path, tmp_path):
    """A price column with a few "TBD" cells keeps the price; its bad rows are skipped one by one, and a
    weight column of decimals never becomes the price."""
    path = tmp_path / "tbd.csv"
    path.write_text("sku,title,price,weight_kg,stock\n" + "".join(
        f"W{i},Product {i},{'TBD' if i % 3 == 0 else f'{i}9.00'},0.{i}5,{'nan' if i == 4 else i}\n"
        for i in range(1, 11)))
    pv = preview(open_store(db_path), path, "catalog")
    assert pv.mapping["price"] == "price" and pv.mapping["stock"] == "stock"
    assert [p.row for p in pv.problems if p.skipped] == [4, 7, 10]
    assert all("'TBD' is not a number" in p.message for p in pv.problems if p.skipped)
    assert [p.row for p in pv.problems if not p.skipped] == [5]  # stock 'nan': left empty
    assert pv.sample[0]["price"] == 19.0 and pv.sample[2]["stock"] is None


def test_a_unit_price_column_with_some_text_is_not_replaced_by_another_number_column():
    from shopai.io.formats import guess_mapping
    header = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "Weight"]
    rows = [[f"T{i}", "85123A", "HEART", str(i), "01/12/2010 08:11", "N/A" if i % 3 == 0 else "2.55",
             f"0.{i}5"] for i in range(1, 11)]
    assert guess_mapping(header, rows, "orders")["unit_price"] == "UnitPrice"
    # a header that names the price but does not fit it: no other column is guessed in its place
    header[5] = "Unit Price (GBP)"
    rows = [r[:5] + ["N/A"] + r[6:] for r in rows]
    assert guess_mapping(header, rows, "orders")["unit_price"] is None
    cat = guess_mapping(["sku", "title", "Price (EUR)", "weight"],
                        [[f"S{i}", f"Mug {i}", "TBD", f"0.{i}5"] for i in range(5)], "catalog")
    assert cat["price"] is None


@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "NaN", "Infinity", "1e999"])
def test_non_finite_numbers_are_not_numbers(text):
    from shopai.io.values import parse_number
    assert parse_number(text) is None


def test_square_item_sales_unit_price_is_gross_sales_over_qty(db_path, tmp_path):
    """"Price Point Name" (here "12", a box of 12) is the variant's name, not the unit price."""
    path = tmp_path / "items-2024.csv"
    path.write_text("Date,Time,Category,Item,Qty,Price Point Name,SKU,Gross Sales,Transaction ID,Event Type\n"
                    "2024-03-05,09:14:02,Drinks,Latte,2,Small,LAT-S,$7.00,TXN001,Payment\n"
                    "2024-03-07,11:30:00,Bakery,Donuts,1,12,DON-12,$14.00,TXN003,Payment\n")
    pv = preview(open_store(db_path), path, "orders")
    assert pv.format == "square" and pv.mapping["unit_price"] is None
    assert [(s["sku"], s["unit_price"]) for s in pv.sample] == [("LAT-S", 3.5), ("DON-12", 14.0)]


def test_square_item_with_a_variable_price_is_imported_without_one(db_path, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("Token,Item Name,Variation Name,SKU,Description,Price,Current Quantity Main St\n"
                    "AB12,Latte,Small,SQ-LAT-S,Espresso with milk,3.50,40\n"
                    "YZ34,Custom cake,Regular,SQ-CAKE,Made to order,variable,\n", encoding="utf-16")
    report = run_job(import_job(db_path, path, "catalog"))
    assert report.format == "square" and (report.created, report.skipped) == (2, 0)
    assert [(p.row, p.skipped) for p in report.problems] == [(3, False)] and "variable" in report.problems[0].message
    assert any("variable price" in n for n in report.notes)
    assert products(open_store(db_path))["SQ-CAKE"][:4] == ("Custom cake", "Made to order", None, None)


def test_shopify_variants_use_every_option_and_type_stands_in_for_the_category(db_path):
    report = run_job(import_job(db_path, DATA / "shopify_products_options.csv", "catalog"))
    assert (report.created, report.skipped) == (7, 0)
    got = products(open_store(db_path))
    assert got["TEE-S-RED"][0] == "Classic Tee - S / Red"  # "S" is not taken for the "s" in "Classic"
    assert got["TEE-S-BLUE"][0] == "Classic Tee - S / Blue"
    assert got["TEE-M-RED"][0] == "Classic Tee - M / Red" and got["TEE-M-RED"][2] == "Shirts & Tops"
    # no SKU: made from the handle and all options, so two "Natural" totes do not collide
    assert got["tote-natural-small"][0] == "Canvas Tote Bag - Natural / Small"
    assert got["tote-natural-large"][3] == 21.0 and "tote-black-small" in got
    assert {got[s][2] for s in got if s.startswith("tote")} == {"Bags"}  # Product Category empty: Type


def test_shopify_made_up_variant_skus_never_collide(db_path, tmp_path):
    path = tmp_path / "products_export.csv"
    path.write_text("Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price\n"
                    "box,Gift Box,Colour,Red,,5.00\nbox,,,Red,,6.00\nbox,,,Blue,,5.00\n")
    report = run_job(import_job(db_path, path, "catalog"))
    assert (report.created, report.skipped) == (3, 0)
    assert set(products(open_store(db_path))) == {"box-red", "box-red-2", "box-blue"}


SHOPIFY_PHOTO_HEADER = ["Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type", "Option1 Name",
                        "Option1 Value", "Variant SKU", "Variant Price", "Image Src", "Image Position",
                        "Variant Image"]


def test_shopify_photos_come_from_image_src_where_the_variant_image_is_empty(db_path, tmp_path):
    import csv

    (tmp_path / "pics").mkdir()
    png = (DATA / "images" / "mug.png").read_bytes()
    (tmp_path / "pics" / "mug.png").write_bytes(png)
    (tmp_path / "pics" / "vase.png").write_bytes(png)
    cdn = "https://cdn.shopify.com/s/files/1/"
    rows = [
        ["mug", "Blue Mug", "", "Hearth & Co", "", "Mugs", "Size", "Small", "MUG-S", "5.00", "pics/mug.png", "1", ""],
        ["mug", "", "", "", "", "", "", "Large", "MUG-L", "6.00", "", "", ""],  # shows its product's photo
        ["mug", "", "", "", "", "", "", "", "", "", cdn + "mug-back.jpg", "2", ""],  # an extra image row
        ["lamp", "Desk Lamp", "", "Lumen", "", "Lamps", "Title", "Default Title", "LAMP-1", "20.00",
         cdn + "lamp.jpg?v=1", "1", ""],
        ["bowl", "Bowl", "", "", "", "", "Title", "Default Title", "BOWL-1", "4.00", "", "", ""],
        ["vase", "Vase", "", "", "", "", "Title", "Default Title", "VASE-1", "9.00", cdn + "vase.jpg", "1",
         "pics/vase.png"],  # the variant's own image wins
    ]
    path = tmp_path / "products_export.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([SHOPIFY_PHOTO_HEADER, *rows])
    db = open_store(db_path)
    pv = preview(db, path, "catalog")
    assert pv.mapping["image"] == "Variant Image" and pv.fallback == {"category": ["Type"], "image": ["Image Src"]}
    web = [n for n in pv.notes if "web address" in n]
    assert web == ["1 product's photo is a web address, which ShopAI does not download (nothing is fetched from "
                   "the internet): to add the photos, save each picture named by its SKU (LAMP-1.jpg) and use "
                   "Import photos… on the Auto-categorize tab."]
    report = run_job(import_job(db_path, path, "catalog"))
    assert (report.created, report.skipped) == (5, 0)
    photos = dict(db.conn.execute("SELECT sku, image_path FROM products"))
    assert photos["MUG-S"] and photos["MUG-L"] == photos["MUG-S"] and Path(photos["MUG-S"]).name.startswith("mug-")
    assert Path(photos["VASE-1"]).name.startswith("vase-")
    assert photos["LAMP-1"] is None and photos["BOWL-1"] is None
    assert products(db)["MUG-L"][2] == "Mugs"  # an empty Product Category: Type, for the variant too


def test_an_extra_image_row_gives_a_product_without_one_its_photo(db_path, tmp_path):
    import csv

    (tmp_path / "mug.png").write_bytes((DATA / "images" / "mug.png").read_bytes())
    path = tmp_path / "products_export.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([SHOPIFY_PHOTO_HEADER,
                                 ["cup", "Cup", "", "", "", "", "Title", "Default Title", "CUP-1", "3.00", "", "", ""],
                                 ["cup", "", "", "", "", "", "", "", "", "", "mug.png", "2", ""]])
    run_job(import_job(db_path, path, "catalog"))  # the extra row's file, found next to the CSV like any image
    stored = open_store(db_path).conn.execute("SELECT image_path FROM products").fetchone()[0]
    assert stored and Path(stored).read_bytes() == (tmp_path / "mug.png").read_bytes()


def test_woocommerce_description_falls_back_to_the_long_one(db_path, tmp_path):
    path = tmp_path / "wc.csv"
    path.write_text("ID,Type,SKU,Name,Short description,Description,Regular price\n"
                    "1,simple,W1,Mug,,<p>Glazed <b>stoneware</b></p>,3\n"
                    "2,simple,W2,Towel,Cotton towel,<p>Long text</p>,4\n", encoding="utf-8")
    run_job(import_job(db_path, path, "catalog"))
    got = products(open_store(db_path))
    assert got["W1"][1] == "Glazed stoneware" and got["W2"][1] == "Cotton towel"


@pytest.mark.parametrize("name, kind, what", [
    ("shopify_orders.csv", "catalog", "is a Shopify orders export, not a catalog: import it as orders."),
    ("shopify_products.csv", "orders", "is a Shopify product export, not an orders file: import it as a catalog."),
    ("woocommerce_orders.csv", "catalog", "is a WooCommerce orders export, not a catalog: import it as orders."),
    ("woocommerce_products.csv", "orders", "is a WooCommerce product export, not an orders file: import it as a "
                                           "catalog."),
    ("square_items.csv", "orders", "is a Square product export, not an orders file: import it as a catalog."),
    ("square_items_detail.csv", "catalog", "is a Square orders export, not a catalog: import it as orders."),
])
def test_a_known_export_of_the_other_kind_is_refused_in_plain_words(db_path, name, kind, what):
    from shopai.io.common import WrongKind

    db = open_store(db_path)
    with pytest.raises(WrongKind) as exc:
        preview(db, DATA / name, kind)
    assert str(exc.value) == f"{name} {what}" and exc.value.kind != kind
    with pytest.raises(WrongKind, match="import it as"):
        run_job(import_job(db_path, DATA / name, kind))
    with pytest.raises(WrongKind):  # a column choice does not make an orders export a catalog
        preview(db, DATA / name, kind, {"title": None})
    assert db.conn.execute("SELECT count(*) FROM imports").fetchone()[0] == 0


def test_an_order_log_picked_as_a_catalog_is_refused_unless_columns_are_chosen(db_path, tmp_path):
    from shopai.io.common import WrongKind

    path = tmp_path / "log.csv"
    path.write_text("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
                    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,UK\n",
                    encoding="utf-8")
    db = open_store(db_path)
    with pytest.raises(WrongKind, match="log.csv looks like an orders file .it has 'InvoiceNo' and 'InvoiceDate' "
                                        "columns., not a catalog: import it as orders."):
        preview(db, path, "catalog")
    assert preview(db, path, "orders").rows_ok == 1
    # the person's own column choice is theirs to make: a product list read from a log
    assert preview(db, path, "catalog", {"sku": "StockCode", "title": "Description"}).rows_ok == 1


def test_shopify_vendor_is_kept_searched_and_exported(db_path, tmp_path):
    from shopai.io.export import export_catalog
    from shopai.store.products import search

    run_job(import_job(db_path, DATA / "shopify_products.csv", "catalog"))
    db = open_store(db_path)
    vendors = dict(db.conn.execute("SELECT sku, vendor FROM products"))
    assert vendors["APR-NAT"] == vendors["APR-CHA"] == "Hearth & Co"  # a variant has its product's vendor
    assert {r["sku"] for r in search(db, "hearth")} == set(vendors)
    export_catalog(db, tmp_path / "catalog.csv")
    second = tmp_path / "second.sqlite"
    open_store(second).conn.close()
    pv = preview(open_store(second), tmp_path / "catalog.csv", "catalog")
    assert pv.mapping["vendor"] == "vendor"
    run_job(import_job(str(second), tmp_path / "catalog.csv", "catalog"))
    assert dict(open_store(second).conn.execute("SELECT sku, vendor FROM products")) == vendors


@pytest.mark.parametrize("header, row, expected", [
    # Taobao's order report (one row per order, GBK): the order's creation time, not its payment time
    ("订单编号,买家会员名,买家实际支付金额,订单状态,订单创建时间,订单付款时间,宝贝标题,宝贝总数量,商家编码",
     "3712345678901234567,tb_小明2019,68.00,交易成功,2024-03-05 10:14:22,2024-03-05 10:15:01,景德镇青花瓷杯,1,JDZ-001",
     {"order_id": "订单编号", "customer_id": "买家会员名", "line_total": "买家实际支付金额", "status": "订单状态",
      "ordered_at": "订单创建时间", "title": "宝贝标题", "quantity": "宝贝总数量", "sku": "商家编码"}),
    # Pinduoduo / JD style: units in brackets
    ("订单号,商品,商品数量(件),商品单价(元),商品总价(元),收货人,成交时间,订单状态,商品编码",
     "PDD-1,T恤 男款,2,79.00,158.00,张伟,2024-03-05 10:14,已发货,CLO-001",
     {"order_id": "订单号", "title": "商品", "quantity": "商品数量(件)", "unit_price": "商品单价(元)",
      "line_total": "商品总价(元)", "customer_name": "收货人", "ordered_at": "成交时间", "status": "订单状态",
      "sku": "商品编码"}),
    # a shop program's own export
    ("单号,下单时间,商品名称,购买数量,价格,金额,客户编号,收货人姓名,交易状态,国家/地区",
     "A1,2023/9/4 19:40,青花瓷杯,1,68,68,C001,李娜,已付款,中国",
     {"order_id": "单号", "ordered_at": "下单时间", "title": "商品名称", "quantity": "购买数量", "unit_price": "价格",
      "line_total": "金额", "customer_id": "客户编号", "customer_name": "收货人姓名", "status": "交易状态",
      "country": "国家/地区"}),
    # Traditional Chinese
    ("訂單編號,下單時間,商品名稱,數量,單價,客戶,訂單狀態",
     "T1,2023/9/4 19:40,青花瓷杯,1,68,王小明,已付款",
     {"order_id": "訂單編號", "ordered_at": "下單時間", "title": "商品名稱", "quantity": "數量", "unit_price": "單價",
      "customer_id": "客戶", "status": "訂單狀態"}),
])
def test_chinese_order_headers_are_mapped_without_a_choice(db_path, tmp_path, header, row, expected):
    catalog = write(tmp_path, "catalog.csv", "sku,title,price\nJDZ-001,青花瓷杯,68\n")
    run_job(import_job(db_path, catalog, "catalog"))  # lines naming a product by its title alone need it
    path = write(tmp_path, "订单.csv", header + "\n" + row + "\n", encoding="gbk" if "訂" not in header else "utf-8")
    assert guess_kind(path) == "orders"
    pv = preview(open_store(db_path), path, "orders")
    assert pv.format == "generic" and pv.missing_required == []
    assert {f: c for f, c in pv.mapping.items() if c} == expected
    assert pv.rows_ok == 1


def test_chinese_catalog_headers_are_mapped_and_guessed_as_a_catalog(db_path, tmp_path):
    path = tmp_path / "宝贝.csv"
    path.write_text("商家编码,宝贝名称,宝贝描述,宝贝类目,一口价,宝贝数量,新图片,品牌\n"
                    "JDZ-001,景德镇青花瓷杯,手绘青花,餐具,￥68.00,40件,,景德镇\n", encoding="gbk")
    assert guess_kind(path) == "catalog"
    pv = preview(open_store(db_path), path, "catalog")
    assert {f: c for f, c in pv.mapping.items() if c} == {
        "sku": "商家编码", "title": "宝贝名称", "description": "宝贝描述", "category": "宝贝类目", "price": "一口价",
        "stock": "宝贝数量", "image": "新图片", "vendor": "品牌"}
    run_job(import_job(db_path, path, "catalog"))
    got = products(open_store(db_path))["JDZ-001"]
    assert got[:2] == ("景德镇青花瓷杯", "手绘青花") and got[3:] == (68.0, None, 40)  # "40件" is 40


@pytest.mark.parametrize("header, kind", [
    ("货号,商品名称,描述,分类,售价,库存,图片", "catalog"),
    ("订单号,下单时间,货号,商品名称,数量,单价,客户,状态,国家", "orders"),
    ("订单编号,买家会员名,订单状态,订单创建时间,宝贝标题,宝贝总数量,商家编码", "orders"),
    ("SKU,Title,Price", "catalog"),
    ("Order ID,Order Date,SKU,Quantity,Price", "orders"),
])
def test_the_kind_of_a_chinese_file_is_told_from_its_header_as_an_english_one(tmp_path, header, kind):
    """A dropped 商品目录_gbk.csv was "Can't tell whether it holds products or orders"."""
    path = write(tmp_path, "file.csv", header + "\n" + ",".join("1" for _ in header.split(",")) + "\n", "gbk")
    assert guess_kind(path) == kind


def test_a_chinese_order_file_picked_as_a_catalog_is_refused(db_path, tmp_path):
    from shopai.io.common import WrongKind

    path = write(tmp_path, "淘宝订单.csv", "订单编号,订单创建时间,宝贝标题,宝贝总数量\n1,2024-03-05 10:14:22,青花瓷杯,1\n",
                 "gbk")
    with pytest.raises(WrongKind, match="it has '订单编号' and '订单创建时间' columns"):
        preview(open_store(db_path), path, "catalog")


def test_categories_of_the_same_name_under_different_parents_stay_apart(db_path, tmp_path):
    text = ("Handle,Title,Product Category,Variant SKU,Variant Price\n"
            "w-top,Linen top,Apparel > Women > Tops,W1,30\n"
            "m-top,Cotton top,Apparel > Men > Tops,M1,25\n"
            "w-top2,Silk top,Apparel > Women > Tops,W2,40\n")
    path = write(tmp_path, "products_export.csv", text)
    db = open_store(db_path)
    pv = preview(db, path, "catalog")
    assert [r["category"] for r in pv.sample] == ["Tops", "Tops (Men)", "Tops"]
    assert any("“Tops (Men)” keeps them apart" in n for n in pv.notes)
    run_job(import_job(db_path, path, "catalog"))
    cats = dict(db.conn.execute("SELECT sku, category FROM products"))
    assert cats == {"W1": "Tops", "M1": "Tops (Men)", "W2": "Tops"}
    tree = dict(db.conn.execute("SELECT c.name, p.name FROM categories c LEFT JOIN categories p ON p.id = c.parent_id"))
    assert tree["Tops"] == "Women" and tree["Tops (Men)"] == "Men" and tree["Men"] == tree["Women"] == "Apparel"
    # the same file again changes nothing; a flat "Tops" names the category the shop has
    again = run_job(import_job(db_path, path, "catalog"))
    assert again.updated == 0 and dict(db.conn.execute("SELECT sku, category FROM products")) == cats
    flat = write(tmp_path, "flat.csv", "SKU,Title,Category,Price\nF1,Plain top,Tops,10\n")
    run_job(import_job(db_path, flat, "catalog"))
    assert db.conn.execute("SELECT category FROM products WHERE sku = 'F1'").fetchone()[0] == "Tops"
    assert db.conn.execute("SELECT count(*) FROM categories WHERE name LIKE 'Tops%'").fetchone()[0] == 2
    from shopai.io.export import export_catalog

    export_catalog(db, tmp_path / "catalog.csv")
    second = tmp_path / "second.sqlite"
    open_store(second).conn.close()
    run_job(import_job(str(second), tmp_path / "catalog.csv", "catalog"))
    assert dict(open_store(second).conn.execute("SELECT sku, category FROM products")) == {**cats, "F1": "Tops"}


def test_taobao_order_report_refunds_are_taken_off_the_order(db_path, tmp_path):
    # Taobao's one-row-per-order report: 退款金额 is what was refunded of the order (partly, or all of it)
    text = ("订单编号,买家会员名,买家实际支付金额,退款金额,订单状态,订单创建时间,宝贝标题,宝贝总数量,商家编码\n"
            "T1,tb_小明,68.00,20.00,交易成功,2024-03-05 10:14:22,景德镇青花瓷杯,2,JDZ-001\n"
            "T2,tb_小明,50.00,50.00,交易成功,2024-03-06 11:00:00,白瓷碗,1,BWL-001\n"
            "T3,tb_小红,30.00,0.00,交易成功,2024-03-07 09:30:00,茶勺,1,SPN-001\n")
    path = write(tmp_path, "ExportOrderList.csv", text, "gbk")
    db = open_store(db_path)
    mapping = preview(db, path, "orders").mapping
    assert mapping["refunded"] == "退款金额"
    assert mapping["unit_price"] is None  # worked out from the line total, never guessed as the refund column
    run_job(import_job(db_path, path, "orders"))
    got = orders(db)
    assert got["T1"][2:] == ("paid", 48.0) and got["T2"][2] == "returned" and got["T3"][2:] == ("paid", 30.0)


def test_taobao_order_report_values_are_what_the_buyer_paid_less_postage(db_path, tmp_path):
    # The full report has the goods before the shop's coupons (买家应付货款), the postage (买家应付邮费) and what
    # the buyer paid (买家实际支付金额 = goods after coupons + postage): an order's goods are paid less postage.
    text = ("订单编号,买家会员名,买家应付货款,买家应付邮费,总金额,买家实际支付金额,退款金额,订单状态,订单创建时间,宝贝标题,"
            "宝贝总数量,商家编码\n"
            "T1,tb_小明,60.00,8.00,68.00,63.00,0.00,交易成功,2024-03-05 10:14:22,景德镇青花瓷杯,1,JDZ-001\n"  # a 5.00 coupon
            "T2,tb_小红,30.00,0.00,30.00,30.00,10.00,交易成功,2024-03-06 11:00:00,茶勺,1,SPN-001\n")  # free postage
    path = write(tmp_path, "ExportOrderList.csv", text, "gbk")
    db = open_store(db_path)
    pv = preview(db, path, "orders")
    assert (pv.mapping["line_total"], pv.mapping["shipping"], pv.mapping["refunded"]) == (
        "买家实际支付金额", "买家应付邮费", "退款金额")
    report = run_job(import_job(db_path, path, "orders"))
    got = orders(db)
    assert got["T1"][2:] == ("paid", 55.0) and got["T2"][2:] == ("paid", 20.0)
    assert any("买家应付邮费 (8.00 in all) is taken off the value of 1 order" in n for n in report.notes)

    # a report cut down to what the buyer paid, without the postage column: nothing to take off, as before
    short = tmp_path / "short.csv"
    short.write_text("订单编号,买家实际支付金额,订单状态,订单创建时间,宝贝标题,宝贝总数量,商家编码\n"
                     "T9,63.00,交易成功,2024-03-05 10:14:22,景德镇青花瓷杯,1,JDZ-001\n", encoding="gbk")
    short_pv = preview(db, short, "orders")
    assert short_pv.mapping["shipping"] is None
    assert any("order values include postage" in n for n in short_pv.notes)  # and the owner is told
    # and another shop program's postage column is never taken for postage included in its amounts
    other = write(tmp_path, "other.csv", "订单号,下单时间,商品名称,数量,金额,运费\nA1,2024-03-05,瓷杯,1,68,8\n")
    assert preview(db, other, "orders").mapping["shipping"] is None


def test_a_refund_column_of_another_file_is_never_guessed(db_path, tmp_path):
    text = "订单号,下单时间,商品名称,数量,金额,退款金额\nA1,2024-03-05,瓷杯,1,68,20\n"  # may be per line
    path = write(tmp_path, "orders.csv", text)
    assert preview(open_store(db_path), path, "orders").mapping["refunded"] is None

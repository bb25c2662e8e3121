"""A product's listing status (active, draft, archived): read from Shopify, WooCommerce, Square and spreadsheets,
kept on re-import and undo, exported, edited, and never offered to customers unless active."""
from __future__ import annotations

import pytest

from shopai.io import import_job, preview, undo_import
from shopai.jobs import UserError, run_job
from shopai.store import open_store
from shopai.store import products as product_store


def statuses(db) -> dict[str, str]:
    return dict(db.conn.execute("SELECT sku, status FROM products"))


def write(tmp_path, name: str, text: str, encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return str(path)


SHOPIFY = """Handle,Title,Body (HTML),Vendor,Type,Option1 Name,Option1 Value,Variant SKU,Variant Price,Status
mug,Blue Mug,<p>Mug</p>,Hearth,Mugs,Size,Small,MUG-S,8.00,active
mug,,,,,,Large,MUG-L,9.00,
lamp,Old Lamp,Lamp,Hearth,Lamps,Title,Default Title,LAMP-1,30.00,archived
vase,New Vase,Vase,Hearth,Vases,Title,Default Title,VASE-1,12.00,draft
vase2,Odd Vase,Vase,Hearth,Vases,Title,Default Title,VASE-2,12.00,sold-out-ish
"""


def test_shopify_status_is_read_and_variants_take_their_products(db_path, tmp_path):
    path = write(tmp_path, "products_export.csv", SHOPIFY)
    db = open_store(db_path)
    pv = preview(db, path, "catalog")
    assert pv.format == "shopify" and pv.mapping["listing"] == "Status"
    report = run_job(import_job(db_path, path, "catalog"))
    assert statuses(db) == {"MUG-S": "active", "MUG-L": "active", "LAMP-1": "archived", "VASE-1": "draft",
                            "VASE-2": "active"}
    odd = [p for p in report.problems if "sold-out-ish" in p.message]
    assert len(odd) == 1 and not odd[0].skipped and "not active, draft or archived" in odd[0].message


def test_a_later_export_changes_the_status_and_undo_puts_it_back(db_path, tmp_path):
    db = open_store(db_path)
    run_job(import_job(db_path, write(tmp_path, "first.csv", SHOPIFY), "catalog"))
    later = SHOPIFY.replace("8.00,active", "8.00,archived").replace("12.00,draft", "12.00,active")
    report = run_job(import_job(db_path, write(tmp_path, "later.csv", later), "catalog"))
    assert statuses(db)["MUG-S"] == "archived" and statuses(db)["VASE-1"] == "active"
    assert statuses(db)["MUG-L"] == "archived"  # the variant row's empty Status is its product's
    undo_import(db, report.import_id)
    assert statuses(db)["MUG-S"] == "active" and statuses(db)["VASE-1"] == "draft"


def test_a_file_without_a_status_column_leaves_statuses_alone(db_path, tmp_path):
    db = open_store(db_path)
    run_job(import_job(db_path, write(tmp_path, "first.csv", SHOPIFY), "catalog"))
    run_job(import_job(db_path, write(tmp_path, "prices.csv", "SKU,Title,Price\nLAMP-1,Old Lamp,31.00\n"), "catalog"))
    assert statuses(db)["LAMP-1"] == "archived"


def test_woocommerce_published_one_zero_minus_one(db_path, tmp_path):
    text = ("ID,Type,SKU,Name,Published,Regular price,Categories\n"
            "1,simple,W1,Mug,1,9.50,Mugs\n2,simple,W2,Draft mug,0,9.50,Mugs\n3,simple,W3,Private mug,-1,9.50,Mugs\n")
    run_job(import_job(db_path, write(tmp_path, "wc-product-export.csv", text), "catalog"))
    assert statuses(open_store(db_path)) == {"W1": "active", "W2": "draft", "W3": "draft"}


def test_square_archived_yes_means_archived(db_path, tmp_path):
    text = ("Token,Item Name,Variation Name,SKU,Price,Archived\n"
            "T1,Flat White,Regular,SQ-1,3.40,N\nT2,Old Cake,Regular,SQ-2,2.00,Y\n")
    pv = preview(open_store(db_path), write(tmp_path, "items.csv", text), "catalog")
    assert pv.format == "square" and pv.mapping["listing"] == "Archived"
    run_job(import_job(db_path, str(tmp_path / "items.csv"), "catalog"))
    assert statuses(open_store(db_path)) == {"SQ-1": "active", "SQ-2": "archived"}


def test_a_chinese_shop_on_and_off_the_shelf(db_path, tmp_path):
    text = "商家编码,商品名称,价格,商品状态\nJDZ-1,青花瓷杯,68,上架\nJDZ-2,旧瓷杯,50,下架\nJDZ-3,新瓷杯,80,仓库中\n"
    path = write(tmp_path, "商品.csv", text, "gbk")
    assert preview(open_store(db_path), path, "catalog").mapping["listing"] == "商品状态"
    run_job(import_job(db_path, path, "catalog"))
    assert statuses(open_store(db_path)) == {"JDZ-1": "active", "JDZ-2": "archived", "JDZ-3": "draft"}


def test_export_and_reimport_keep_the_status(db_path, tmp_path):
    from shopai.io.export import export_catalog

    run_job(import_job(db_path, write(tmp_path, "first.csv", SHOPIFY), "catalog"))
    export_catalog(open_store(db_path), tmp_path / "catalog.csv")
    second = str(tmp_path / "second.sqlite")
    open_store(second).conn.close()
    run_job(import_job(second, tmp_path / "catalog.csv", "catalog"))
    assert statuses(open_store(second)) == statuses(open_store(db_path))


def test_the_status_is_edited_like_any_field(db_path):
    db = open_store(db_path)
    pid = product_store.add(db, sku="A1", title="Lamp")
    assert product_store.get(db, product_id=pid)["status"] == "active"
    product_store.update(db, pid, status="Archived")
    assert product_store.get(db, product_id=pid)["status"] == "archived"
    with pytest.raises(UserError, match="active, draft or archived"):
        product_store.update(db, pid, status="gone")
    assert product_store.search_ids(db, "", order_by="status")  # sortable in SQL
    assert product_store.search_ids(db, "lamp", status="archived") == [pid]
    assert product_store.search_ids(db, "lamp", status="active") == []
    with pytest.raises(ValueError):
        product_store.search_ids(db, "", status="gone")
    other = product_store.add(db, sku="A2", title="Desk lamp")
    assert product_store.set_status(db, [pid, other], "draft") == 2
    assert product_store.set_status(db, [pid, other], "draft") == 0  # already drafts: nothing changed
    with pytest.raises(UserError, match="active, draft or archived"):
        product_store.set_status(db, [pid], "sold")
    assert product_store.get(db, product_id=other)["status"] == "draft"


def test_drafts_and_archived_products_are_never_offered(db_path):
    from shopai.recommend.query import set_rule, similar

    db = open_store(db_path)
    ids = {sku: product_store.add(db, sku=sku, title=title) for sku, title in [
        ("M1", "blue enamel camping mug"), ("M2", "blue enamel camping mug large"),
        ("M3", "blue enamel camping mug small"), ("M4", "blue enamel camping mug tall")]}
    assert {r["sku"] for r in similar(db, "M1", 5)} == {"M2", "M3", "M4"}
    product_store.update(db, ids["M2"], status="archived")
    product_store.update(db, ids["M3"], status="draft")
    set_rule(db, "M3", "pinned")  # pinned, but a draft: still not offered
    assert [r["sku"] for r in similar(db, "M1", 5)] == ["M4"]


def test_the_command_line_search_marks_archived_products(db_path, capsys):
    from shopai.cli.main import main

    db = open_store(db_path)
    product_store.update(db, product_store.add(db, sku="L1", title="Brass lamp"), status="archived")
    product_store.add(db, sku="L2", title="Brass lamp shade")
    assert main(["--db", db_path, "search", "brass"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any("L1" in line and line.endswith("(archived)") for line in lines)
    assert any("L2" in line and "(" not in line for line in lines)


def test_stock_status_and_tax_status_are_not_the_listing_status(db_path, tmp_path):
    text = "SKU,Title,Price,Stock status,Tax status\nA1,Lamp,5,instock,taxable\n"
    pv = preview(open_store(db_path), write(tmp_path, "sheet.csv", text), "catalog")
    assert pv.mapping["listing"] is None and not pv.problems


def test_whether_any_product_is_not_active_is_read_from_its_index(db_path):
    db = open_store(db_path)
    pid = product_store.add(db, sku="A1", title="Lamp")
    assert not product_store.any_not_active(db)
    product_store.set_status(db, [pid], "archived")
    assert product_store.any_not_active(db)
    plan = " ".join(str(r) for r in db.conn.execute("EXPLAIN QUERY PLAN " + product_store.ANY_NOT_ACTIVE))
    assert "products_not_active" in plan  # not a scan of every product, after each change in the Catalog

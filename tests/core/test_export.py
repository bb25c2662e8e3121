"""CSV export: formula injection neutralised, numbers kept, BOM for Excel, orders re-import."""
from __future__ import annotations

import csv

import pytest

from shopai.io import import_job
from shopai.io import export
from shopai.io.export import (export_catalog, export_catalog_job, export_orders, export_orders_job, safe_cell,
                              write_csv, write_csv_job)
from shopai.jobs import run_job
from shopai.store import open_store
from shopai.store.products import add


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"),
    ("+44 20 7946 0958", "'+44 20 7946 0958"),
    ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
    ("-12.50", "-12.50"),    # a plain negative number stays a number
    ("+3", "+3"),
    ("-1e3", "-1e3"),
    ("Mug = nice", "Mug = nice"),
    ("", ""),
    (None, ""),
    (-4, -4),
    (2.5, 2.5),
    ("红色陶瓷茶杯", "红色陶瓷茶杯"),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_write_csv_has_bom_and_neutralises_every_cell(tmp_path):
    path = tmp_path / "out.csv"
    n = write_csv(path, ["a", "=b"], [["=cmd", -3], ["ok", "-2"]])
    assert n == 2
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(data.decode("utf-8-sig").splitlines()))
    assert rows == [["a", "'=b"], ["'=cmd", "-3"], ["ok", "-2"]]
    assert not (tmp_path / "out.csv.part").exists()


def test_catalog_export_neutralises_titles(db_path, tmp_path):
    db = open_store(db_path)
    add(db, sku="F1", title="=HYPERLINK(\"http://evil\")", price=2.5)
    add(db, sku="F2", title="Crème brûlée 抹茶", price=3)
    path = tmp_path / "cat.csv"
    assert export_catalog(db, path) == 2
    rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0]["title"].startswith("'=") and rows[0]["price"] == "2.5"
    assert rows[1]["title"] == "Crème brûlée 抹茶"


def test_orders_export_round_trips(db_path, tmp_path):
    src = tmp_path / "log.csv"
    src.write_text("invoice,stock_code,description,quantity,invoice_date,unit_price,customer_id,country\n"
                   "1,A1,RED MUG,2,2011-01-03 09:00:00,2.50,17850,United Kingdom\n"
                   "C2,A1,RED MUG,-1,2011-01-04 09:00:00,2.50,17850,United Kingdom\n")
    run_job(import_job(db_path, src, "orders"))
    out = tmp_path / "orders.csv"
    assert export_orders(open_store(db_path), out) == 2
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0]["quantity"] == "2" and rows[1]["quantity"] == "-1"  # a negative quantity is not a formula
    assert rows[1]["status"] == "cancelled"
    second = str(tmp_path / "b" / "shop.sqlite")
    open_store(second).conn.close()
    report = run_job(import_job(second, out, "orders"))
    assert report.created == 2 and report.details["cancelled_orders"] == 1


def test_catalog_round_trip_takes_the_guard_off_every_text_field(db_path, tmp_path):
    from shopai.io import preview
    db = open_store(db_path)
    add(db, sku="-RT4", title="Minus sku product", description="- 100% cotton; - washable", price=6)
    add(db, sku="RT-2", title="=SUM(A1)", description='=HYPERLINK("x")', category="@home", vendor="=Brand", price=4)
    add(db, sku="RT-3", title="+44 phone case", description="@home edition", price=5)
    out = tmp_path / "cat.csv"
    export_catalog(db, out)
    text = out.read_text(encoding="utf-8-sig")
    assert "'-RT4" in text and "'- 100%" in text and "'@home edition" in text
    got = lambda d: d.conn.execute("SELECT sku, title, description, category, vendor FROM products "
                                   "ORDER BY sku").fetchall()
    assert next(csv.DictReader(text.splitlines()))["vendor"] == "" and "'=Brand" in text  # a vendor column
    # back into the same shop: nothing new, nothing changed
    pv = preview(db, out, "catalog")
    assert (pv.would_create, pv.would_update) == (0, 0)
    second = str(tmp_path / "b" / "shop.sqlite")
    open_store(second).conn.close()
    run_job(import_job(second, out, "catalog"))
    assert got(open_store(second)) == got(db)


def test_a_round_trip_keeps_the_category_tree_and_who_the_customers_are(db_path, tmp_path):
    db = open_store(db_path)
    cat = tmp_path / "woo.csv"
    cat.write_text("SKU,Name,Regular price,Categories\nW1,Blue mug,3.50,Home > Kitchen > Mugs\n"
                   "W2,Plain lamp,9.00,Lighting\n", encoding="utf-8")
    run_job(import_job(db_path, cat, "catalog"))
    orders = tmp_path / "orders.csv"
    orders.write_text("Order Number,Order Date,SKU,Item Name,Quantity,Item Cost,Billing Email Address,"
                      "Billing First Name,Order Status\n"
                      "5001,2024-03-01 10:00,W1,Blue mug,2,3.50,ann@example.com,Ann,completed\n", encoding="utf-8")
    run_job(import_job(db_path, orders, "orders"))
    out_cat, out_orders = tmp_path / "cat.csv", tmp_path / "ord.csv"
    export_catalog(db, out_cat)
    export_orders(db, out_orders)
    rows = {r["sku"]: r for r in csv.DictReader(out_cat.read_text(encoding="utf-8-sig").splitlines())}
    assert rows["W1"]["category"] == "Home > Kitchen > Mugs" and rows["W2"]["category"] == "Lighting"
    second = str(tmp_path / "b" / "shop.sqlite")
    open_store(second).conn.close()
    run_job(import_job(second, out_cat, "catalog"))
    run_job(import_job(second, out_orders, "orders"))
    db2 = open_store(second)
    tree = lambda d: sorted(d.conn.execute("SELECT c.name, p.name FROM categories c LEFT JOIN categories p "
                                           "ON p.id = c.parent_id").fetchall(), key=str)
    assert tree(db2) == tree(db)
    assert db2.conn.execute("SELECT category FROM products WHERE sku = 'W1'").fetchone()[0] == "Mugs"
    who = lambda d: d.conn.execute("SELECT external_id, name, email FROM customers").fetchall()
    assert who(db2) == who(db) and who(db)[0][1:] == ("Ann", "ann@example.com")


def _orders_shop(db_path, tmp_path, n=12):
    src = tmp_path / "log.csv"
    src.write_text("invoice,stock_code,description,quantity,invoice_date,unit_price,customer_id,country\n"
                   + "".join(f"{i},S{i % 4},MUG {i % 4},1,2011-01-{1 + i % 28:02d} 09:00:00,2.50,17850,UK\n"
                             for i in range(1, n + 1)))
    run_job(import_job(db_path, src, "orders"))


@pytest.mark.parametrize("make, rows", [(export_orders_job, 12), (export_catalog_job, 4)])
def test_export_jobs_yield_progress_and_return_the_row_count(db_path, tmp_path, monkeypatch, make, rows):
    _orders_shop(db_path, tmp_path)
    monkeypatch.setattr(export, "PROGRESS_EVERY", 2)
    out = tmp_path / "out.csv"
    seen = []
    assert run_job(make(db_path, out), on_progress=seen.append) == rows  # the shop's path: its own connection
    done = [p.done for p in seen if p.message.startswith("Exporting")]
    assert done == sorted(done) and done[0] == 0 and done[-1] == rows and len(done) >= 3
    assert {p.total for p in seen} == {rows} and seen[-1].fraction == 1.0
    assert len(out.read_text(encoding="utf-8-sig").splitlines()) == rows + 1
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".part"] == []


def test_the_plain_functions_write_what_the_jobs_write(db_path, tmp_path):
    _orders_shop(db_path, tmp_path)
    db = open_store(db_path)
    export_orders(db, tmp_path / "plain.csv")
    run_job(export_orders_job(db_path, tmp_path / "job.csv"))
    assert (tmp_path / "plain.csv").read_bytes() == (tmp_path / "job.csv").read_bytes()


def _rows(n):
    return ([i, f"row {i}"] for i in range(n))


@pytest.mark.parametrize("existing", [True, False])
def test_a_cancelled_export_leaves_no_file_and_keeps_the_old_one(tmp_path, existing):
    out = tmp_path / "orders.csv"
    if existing:
        out.write_text("last week's export\n")
    job = write_csv_job(out, ["n", "text"], _rows(3 * export.PROGRESS_EVERY), 3 * export.PROGRESS_EVERY)
    assert next(job).done == 0
    assert next(job).done == export.PROGRESS_EVERY
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".part"]  # written beside the target meanwhile
    assert out.exists() == existing  # the old file is untouched until the new one is complete
    job.close()  # what Cancel does
    assert sorted(p.name for p in tmp_path.iterdir()) == (["orders.csv"] if existing else [])
    if existing:
        assert out.read_text() == "last week's export\n"


def test_a_cancel_right_before_the_rename_changes_nothing(tmp_path):
    out = tmp_path / "c.csv"
    out.write_text("old\n")
    job = write_csv_job(out, ["n", "text"], _rows(3))
    steps = [next(job), next(job)]
    assert steps[-1].done == 3  # every row written; the rename is the next step
    job.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv"] and out.read_text() == "old\n"


def test_a_failed_export_keeps_the_old_file_and_removes_the_folders_it_made(tmp_path):
    out = tmp_path / "old.csv"
    out.write_text("old\n")

    def broken():
        yield [1, "fine"]
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_csv(out, ["n", "text"], broken())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.csv"] and out.read_text() == "old\n"
    deep = tmp_path / "a" / "b" / "new.csv"
    job = write_csv_job(deep, ["n"], _rows(2 * export.PROGRESS_EVERY))
    next(job)
    assert deep.parent.is_dir()
    job.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.csv"]  # a/ and a/b/ were made for it: gone


def test_a_finished_export_replaces_the_old_file(tmp_path):
    out = tmp_path / "c.csv"
    out.write_text("old\n")
    assert write_csv(out, ["n", "text"], _rows(2)) == 2
    assert out.read_text(encoding="utf-8-sig").splitlines() == ["n,text", "0,row 0", "1,row 1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv"]

"""shopai-cli import / export / search: exit codes, --dry-run, --map, --json; a failed import writes nothing."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from shopai.cli.main import main
from shopai.store import open_store


@pytest.fixture
def catalog(tmp_path):
    path = tmp_path / "cat.csv"
    path.write_text("Code,Label,Price\nT1,Teal teapot,12.00\nT2,Tan tray,4.50\n", encoding="utf-8")
    return path


def counts(db_path):
    db = open_store(db_path)
    return db.conn.execute("SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM imports)").fetchone()


def test_import_dry_run_then_import_then_search(db_path, catalog, capsys):
    assert main(["import", "catalog", str(catalog), "--db", db_path, "--dry-run", "--map", "title=Label"]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 rows" in out and "Nothing was written" in out
    assert counts(db_path) == (0, 0)
    assert main(["import", "catalog", str(catalog), "--db", db_path, "--map", "title=Label", "-q", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["created"] == 2 and report["import_id"] == 1
    assert main(["search", "teapot", "--db", db_path, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"sku": "T1", "title": "Teal teapot", "price": 12.0,
                                                    "category": None, "status": "active"}]
    assert main(["import", "list", "--db", db_path, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["rows_ok"] == 2
    assert main(["import", "undo", "1", "--db", db_path]) == 0
    assert counts(db_path)[0] == 0


@pytest.mark.parametrize("args, reason", [
    (["import", "catalog", "{missing}"], "no such file"),
    (["import", "catalog", "{html}"], "HTML"),
    (["import", "catalog", "{catalog}", "--map", "title=Nope"], "no column named"),
    (["import", "catalog", "{catalog}", "--map", "title"], "FIELD=COLUMN"),
    (["import", "orders", "{catalog}"], "no column found"),
    (["import", "orders", "{catalog}", "--dry-run"], "no column chosen"),
    (["import", "undo", "42"], "no import number 42"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(db_path, tmp_path, catalog, capsys, args, reason):
    html = tmp_path / "page.csv"
    html.write_text("<!DOCTYPE html><html><body>hi</body></html>")
    argv = [a.format(missing=tmp_path / "none.csv", html=html, catalog=catalog) for a in args] + ["--db", db_path]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("shopai-cli: ") and reason in err and err.count("\n") == 1
    assert counts(db_path) == (0, 0)


def test_failed_import_writes_nothing(db_path, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,title,price\nB1,,1\nB2,Thing,-4\n")
    assert main(["import", "catalog", str(bad), "--db", db_path, "-q"]) == 2
    assert "no product could be imported" in capsys.readouterr().err
    assert counts(db_path) == (0, 0)


def test_export_catalog_and_orders(db_path, tmp_path, catalog, capsys):
    main(["import", "catalog", str(catalog), "--db", db_path, "--map", "title=Label", "-q"])
    capsys.readouterr()
    out = tmp_path / "out" / "cat.csv"
    assert main(["export", "catalog", str(out), "--db", db_path, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 2
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert main(["export", "orders", str(tmp_path / "o.csv"), "--db", db_path]) == 0
    capsys.readouterr()
    folder = tmp_path / "a_folder"
    folder.mkdir()
    assert main(["export", "catalog", str(folder), "--db", db_path]) == 2
    assert capsys.readouterr().err.startswith("shopai-cli: cannot write")


def test_top_level_help_lists_every_command_readably(capsys):
    import pytest

    from shopai.cli.main import COMMAND_MODULES, main

    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "option_strings" not in out and "80% range" in out
    assert len(COMMAND_MODULES) >= 10


def test_db_is_taken_before_or_after_the_command(db_path, tmp_path, catalog, capsys):
    assert main(["import", "catalog", str(catalog), "--db", db_path, "--map", "title=Label", "-q"]) == 0
    capsys.readouterr()
    assert main(["--db", db_path, "stats", "--json"]) == 0  # as the README writes it
    assert json.loads(capsys.readouterr().out)["products"] == 2
    other = tmp_path / "other" / "shop.sqlite"
    assert main(["--db", str(other), "stats", "--db", db_path, "--json"]) == 0  # after the command wins
    assert json.loads(capsys.readouterr().out)["products"] == 2


@pytest.mark.parametrize("command", [["stats"], ["search", "teapot"]])
@pytest.mark.parametrize("kind, reason", [("too_new", "newer ShopAI"), ("text", "not a ShopAI shop")])
def test_too_new_or_non_database_file_is_one_line_exit_2(db_path, tmp_path, capsys, command, kind, reason):
    import sqlite3

    if kind == "too_new":
        path = db_path
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA user_version = 999")
        conn.close()
    else:
        path = str(tmp_path / "notes.db")
        Path(path).write_text("Shopping list: milk, eggs\n" * 50)
    before = Path(path).read_bytes()
    assert main([*command, "--db", path]) == 2
    err = capsys.readouterr().err
    assert err.startswith("shopai-cli: ") and reason in err and err.count("\n") == 1
    assert "Traceback" not in err
    assert Path(path).read_bytes() == before


def test_another_programs_sqlite_file_is_refused_and_left_as_it_was(tmp_path, capsys):
    import sqlite3

    from shopai.cli.main import main

    path = tmp_path / "accounts.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY, amount REAL)")
    conn.execute("INSERT INTO ledger (amount) VALUES (12.5)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    assert main(["stats", "--db", str(path)]) == 2
    err = capsys.readouterr().err
    assert "accounts.db is an SQLite database, but not a ShopAI shop; nothing was changed" in err
    assert path.read_bytes() == before
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"ledger"}


DATA = Path(__file__).resolve().parents[1] / "data" / "import"


@pytest.mark.parametrize("dry_run", [["--dry-run"], []])
def test_a_file_of_the_other_kind_is_refused_with_what_it_is(db_path, capsys, dry_run):
    assert main(["import", "catalog", str(DATA / "shopify_orders.csv"), "--db", db_path, *dry_run]) == 2
    assert capsys.readouterr().err == ("shopai-cli: shopify_orders.csv is a Shopify orders export, not a catalog: "
                                       "import it as orders.\n")
    assert main(["import", "orders", str(DATA / "shopify_products.csv"), "--db", db_path, *dry_run]) == 2
    assert "is a Shopify product export, not an orders file: import it as a catalog." in capsys.readouterr().err
    assert counts(db_path) == (0, 0)


def test_help_and_messages_are_written_in_plain_english(db_path, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["import", "--help"])
    out = capsys.readouterr().out
    assert "import an orders CSV file" in out and "import a catalog CSV file" in out
    assert main(["import", "catalog", str(DATA / "shopify_products.csv"), "--db", db_path, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "image ← Variant Image (else Image Src)" in out and "category ← Product Category (else Type)" in out
    one = tmp_path / "one.csv"
    one.write_text("sku,title\nA1,Mug\n", encoding="utf-8")
    main(["import", "catalog", str(one), "--db", db_path, "-q"])
    capsys.readouterr()
    assert main(["export", "catalog", str(tmp_path / "out.csv"), "--db", db_path]) == 0
    assert capsys.readouterr().out == f"Wrote 1 row to {tmp_path / 'out.csv'}\n"


def test_orders_dry_run_counts_new_and_changed_orders_in_plain_english(db_path, tmp_path, capsys):
    path = tmp_path / "orders.csv"
    path.write_text("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
                    "1001,A1,HEART,6,2011-01-03 09:00:00,2.55,17850,United Kingdom\n"
                    "1002,A1,HEART,0,2011-01-03 09:00:00,2.55,17850,United Kingdom\n", encoding="utf-8")
    assert main(["import", "orders", str(path), "--db", db_path, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "1 of 2 rows can be imported (1 new order, 0 already in the shop changed)" in out
    assert "\n1 row skipped:\n" in out  # not "1 rows"


def test_rows_kept_with_a_note_are_listed_too_the_first_ten_and_how_many_more(db_path, tmp_path, capsys):
    """The CLI said "12 created, 0 updated, 0 skipped" and nothing of the stocks it left empty."""
    path = tmp_path / "目录.csv"
    path.write_text("货号,商品名称,售价,库存\n" + "".join(f"S{n},杯子{n},10,很多\n" for n in range(12))
                    + "S12,杯子12,10,40件\n", encoding="utf-8")
    for dry in (["--dry-run"], []):
        assert main(["import", "catalog", str(path), "--db", db_path, "-q", *dry]) == 0
        out = capsys.readouterr().out
        assert "\n12 rows kept with a note:\n  row 2: stock '很多' is not a number; left empty\n" in out
        assert "  row 11: stock '很多'" in out and "row 12:" not in out and "\n  … and 2 more\n" in out
        assert "skipped:" not in out and "40件" not in out  # a count with its unit word is a number
    assert open_store(db_path).conn.execute("SELECT stock FROM products WHERE sku = 'S12'").fetchone()[0] == 40

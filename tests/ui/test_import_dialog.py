"""Import dialog end to end on small files: detection, mapping, dry run, import, cancel, undo, bad files."""
from __future__ import annotations

import threading

import pytest
from PySide6.QtGui import QColor, QImage

import shopai.io
from shopai.store import orders, products
from shopai_ui.import_dialog import ImportDialog, open_import_dialog

CATALOG = """SKU,Title,Category,Price,Stock,Image
A1,Red lantern,Home,3.50,10,lantern.png
A2,Blue mug,Kitchen,2.25,5,
A3,,Kitchen,1.00,1,
A4,Green cup,Kitchen,-2,3,
B1,景德镇 青花 瓷杯,Kitchen,12.00,4,
"""

ORDERS = """InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom
536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850,United Kingdom
C536379,22633,HAND WARMER UNION JACK,-2,12/1/2010 9:41,1.85,17850,United Kingdom
536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/1/2010 8:34,1.69,13047,United Kingdom
"""


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return str(path)


def held_import(real, gate: threading.Event, at):
    """``real`` (the import job) held at its first progress for which ``at`` is true, until ``gate`` opens (at
    most 10 s); closing it closes the real job, so its transaction rolls back."""
    def job(*args, **kw):
        inner = real(*args, **kw)
        try:
            while True:
                try:
                    progress = next(inner)
                except StopIteration as stop:
                    return stop.value
                yield progress
                if at(progress):
                    gate.wait(10)
        finally:
            inner.close()

    return job


def settle(qtbot, dialog, timeout=10_000):
    qtbot.waitUntil(lambda: not dialog.runner.running and dialog.phase not in ("previewing", "importing", "undoing"),
                    timeout=timeout)
    qtbot.wait(5)  # let the deferred "finished" check run


@pytest.fixture
def make_dialog(ctx, qtbot):
    made = []

    def make(**kw):
        dialog = ImportDialog(ctx, **kw)
        qtbot.addWidget(dialog)
        made.append(dialog)
        return dialog

    yield make
    for d in made:
        d.runner.shutdown()


def test_catalog_preview_import_and_undo(ctx, make_dialog, qtbot, tmp_path):
    image = QImage(32, 32, QImage.Format.Format_RGB32)
    image.fill(QColor("red"))
    image.save(str(tmp_path / "lantern.png"))
    path = write(tmp_path, "catalog.csv", CATALOG)
    dialog = make_dialog(path=path)
    settle(qtbot, dialog)
    pv = dialog.preview
    assert pv is not None and pv.kind == "catalog" and dialog.kind == "catalog"
    assert "Catalog" in dialog.detected.text() and "comma-separated" in dialog.detected.text()
    assert "UTF-8" in dialog.detected.text()
    # mapping prefilled with the guess
    assert dialog._combos["title"].currentText() == "Title"
    assert dialog._combos["price"].currentText() == "Price"
    assert dialog._combos["image"].currentText() == "Image"
    # the dry run: sample and per-row problems with counts, nothing written
    assert dialog.sample.rowCount() == pv.rows_ok == 3
    assert "5 rows in the file; 3 ready to import, 2 will be skipped" in dialog.counts.text()
    listed = [dialog.problems.item(i).text() for i in range(dialog.problems.count())]
    assert any(t.startswith("Row 4:") for t in listed) and any(t.startswith("Row 5:") for t in listed)
    assert "2 problems" in dialog.problems_label.text()
    assert orders.stats(ctx.db)["products"] == 0
    assert dialog.import_button.isEnabled()

    changed = []
    ctx.dataChanged.connect(changed.append)
    with qtbot.waitSignal(dialog.imported, timeout=10_000):
        dialog.import_button.click()
    settle(qtbot, dialog)
    assert dialog.report.created == 3 and dialog.report.skipped == 2
    assert "3 products created" in dialog.summary.text()
    assert changed and "products" in changed[-1]
    assert products.get(ctx.db, sku="B1")["title"] == "景德镇 青花 瓷杯"
    assert products.get(ctx.db, sku="A1")["image_path"]
    assert not dialog.import_button.isEnabled() and dialog.undo_button.isEnabled()

    dialog.undo_button.click()
    settle(qtbot, dialog)
    assert orders.stats(ctx.db)["products"] == 0
    assert "was undone" in dialog.summary.text()
    assert not dialog.undo_button.isEnabled()
    assert dialog.import_button.isEnabled()  # the dry run ran again; importing again is possible


def test_orders_log_guessed_and_imported(ctx, make_dialog, qtbot, tmp_path):
    path = write(tmp_path, "Online Retail.csv", ORDERS)
    dialog = make_dialog(path=path)  # kind guessed from the header
    settle(qtbot, dialog)
    assert dialog.preview.kind == "orders"
    assert dialog._combos["order_id"].currentText() == "InvoiceNo"
    assert dialog._combos["customer_id"].currentText() == "CustomerID"
    assert dialog.import_button.isEnabled()
    dialog.start_import()
    settle(qtbot, dialog)
    assert dialog.phase == "done", dialog.message.text()
    stats = orders.stats(ctx.db)
    assert stats["orders"] == 4 and stats["customers"] == 2 and stats["order_lines"] == 5
    assert "5 order lines created" in dialog.summary.text() and "orders: 4" in dialog.summary.text()


def test_mapping_step_fixes_a_missing_column(ctx, make_dialog, qtbot, tmp_path):
    path = write(tmp_path, "odd.csv", "Ref,Zzz,Amount\nX1,Lamp shade,4.20\nX2,Table runner,9.99\n")
    dialog = make_dialog(path=path, kind="catalog")
    settle(qtbot, dialog)
    assert dialog.preview is not None
    if not dialog.preview.missing_required:
        dialog._combos["title"].setCurrentIndex(0)  # un-map the guess to reach the fix-it state
        settle(qtbot, dialog)
        qtbot.waitUntil(lambda: bool(dialog.preview.missing_required), timeout=5000)
    assert "Choose a column for: Title" in dialog.message.text()
    assert not dialog.import_button.isEnabled()
    for field, column in (("sku", "Ref"), ("title", "Zzz"), ("price", "Amount")):
        combo = dialog._combos[field]
        combo.setCurrentIndex(combo.findData(column))
    qtbot.waitUntil(lambda: dialog.preview is not None and not dialog.preview.missing_required
                    and dialog.phase == "ready", timeout=5000)
    assert dialog.import_button.isEnabled()
    assert dialog.reset_mapping_button.isEnabled()
    dialog.start_import()
    settle(qtbot, dialog)
    assert products.get(ctx.db, sku="X2")["title"] == "Table runner"


@pytest.mark.parametrize("name, data, words", [
    ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00" * 20, "not a text file"),
    ("page.csv", "<!DOCTYPE html><html><body><table></table></body></html>".encode(), "web page"),
    ("empty.csv", b"", "empty"),
    ("one.csv", b"just one column\nand another line\n", "does not look like a table"),
])
def test_files_that_are_not_tables_are_refused_inline(make_dialog, qtbot, tmp_path, name, data, words):
    path = tmp_path / name
    path.write_bytes(data)
    dialog = make_dialog(path=str(path), kind="catalog")
    settle(qtbot, dialog)
    assert dialog.preview is None
    assert words in dialog.message.text()
    assert dialog.message.kind == "error"
    assert not dialog.import_button.isEnabled()


def test_unknown_kind_asks_the_user(make_dialog, qtbot, tmp_path):
    path = write(tmp_path, "mystery.csv", "alpha,beta\n1,2\n3,4\n")
    dialog = make_dialog(path=path)
    settle(qtbot, dialog)
    assert "choose the kind" in dialog.message.text()
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData("catalog"))
    settle(qtbot, dialog)
    assert dialog.preview is not None and dialog.preview.kind == "catalog"


def test_windows_1252_semicolon_file(make_dialog, qtbot, tmp_path):
    path = write(tmp_path, "excel.csv", "sku;title;price\nC1;Café crème;2,50\nC2;Crème brûlée dish;7,00\n",
                 encoding="cp1252")
    dialog = make_dialog(path=path, kind="catalog")
    settle(qtbot, dialog)
    assert "Windows-1252" in dialog.detected.text() and "semicolon" in dialog.detected.text()
    texts = [dialog.sample.item(r, c).text() for r in range(dialog.sample.rowCount())
             for c in range(dialog.sample.columnCount()) if dialog.sample.item(r, c)]
    assert "Café crème" in texts


def test_cancel_midway_leaves_the_shop_unchanged(ctx, make_dialog, qtbot, tmp_path, monkeypatch):
    rows = "\n".join(f"S{i:05d},Thing number {i},{i % 50 + 0.5}" for i in range(12_000))
    path = write(tmp_path, "big.csv", "SKU,Title,Price\n" + rows + "\n")
    products.add(ctx.db, sku="KEEP", title="Already here", price=1)
    gate = threading.Event()
    monkeypatch.setattr(shopai.io, "import_job", held_import(shopai.io.import_job, gate, lambda p: p.message.startswith("Saving")))
    dialog = make_dialog(path=path, kind="catalog")
    settle(qtbot, dialog)
    assert dialog.preview.rows_ok == 12_000
    seen = []
    dialog.runner.progressed.connect(lambda p: seen.append(p.message))
    dialog.start_import()
    qtbot.waitUntil(lambda: any(m.startswith("Saving") for m in seen), timeout=10_000)
    dialog.progress.cancel_button.click()
    gate.set()
    assert dialog.runner.wait(10_000)
    qtbot.waitUntil(lambda: dialog.phase == "ready", timeout=5000)
    assert "cancelled" in dialog.message.text() and "nothing was changed" in dialog.message.text()
    assert orders.stats(ctx.db)["products"] == 1
    assert ctx.db.conn.execute("SELECT count(*) FROM imports").fetchone()[0] == 0
    assert dialog.report is None and dialog.import_button.isEnabled()


def test_closing_during_an_import_asks_and_then_cancels(ctx, make_dialog, qtbot, tmp_path, monkeypatch):
    rows = "\n".join(f"S{i:05d},Thing number {i},{i % 50 + 0.5}" for i in range(12_000))
    path = write(tmp_path, "big.csv", "SKU,Title,Price\n" + rows + "\n")
    gate = threading.Event()
    monkeypatch.setattr(shopai.io, "import_job", held_import(shopai.io.import_job, gate, lambda p: p.message.startswith("Saving")))
    dialog = make_dialog(path=path, kind="catalog")
    dialog.show()
    settle(qtbot, dialog)
    seen = []
    dialog.runner.progressed.connect(lambda p: seen.append(p.message))
    dialog.start_import()
    qtbot.waitUntil(lambda: any(m.startswith("Saving") for m in seen), timeout=10_000)
    answers = [False, True]
    asked = []
    monkeypatch.setattr(dialog, "confirm_stop", lambda: asked.append(1) or answers[len(asked) - 1])
    dialog.close()
    assert asked == [1] and dialog.isVisible() and dialog.runner.running  # "No": keeps importing
    threading.Timer(0.3, gate.set).start()  # let the job go on only once the stop has been asked for
    dialog.reject()  # Escape, this time "Yes": waits for the job to stop
    assert asked == [1, 1] and not dialog.isVisible()
    assert dialog.runner.wait(10_000)
    assert orders.stats(ctx.db)["products"] == 0
    assert ctx.db.conn.execute("SELECT count(*) FROM imports").fetchone()[0] == 0


def test_once_the_import_commits_it_can_no_longer_be_cancelled_or_closed_and_it_is_shown(
        ctx, make_dialog, qtbot, tmp_path, monkeypatch):
    # Its last step is the COMMIT: a Cancel or close then would say "nothing was changed" about an import
    # that lands all the same.
    rows = "\n".join(f"S{i:05d},Thing number {i},{i % 50 + 0.5}" for i in range(300))
    path = write(tmp_path, "big.csv", "SKU,Title,Price\n" + rows + "\n")
    gate = threading.Event()
    monkeypatch.setattr(shopai.io, "import_job", held_import(shopai.io.import_job, gate, lambda p: p.commit))
    dialog = make_dialog(path=path, kind="catalog")
    dialog.show()
    settle(qtbot, dialog)
    dialog.start_import()
    qtbot.waitUntil(lambda: dialog.runner.committing, timeout=10_000)
    qtbot.waitUntil(lambda: not dialog.progress.cancel_button.isEnabled(), timeout=5000)
    asked = []
    monkeypatch.setattr(dialog, "confirm_stop", lambda: asked.append(1) or True)
    dialog.close()
    assert dialog.isVisible() and asked == []  # not even asked: it is finishing
    assert dialog.runner.request_cancel() is False
    gate.set()
    qtbot.waitUntil(lambda: dialog.phase == "done", timeout=10_000)
    assert orders.stats(ctx.db)["products"] == 300 and dialog.report.created == 300


def test_open_import_dialog_with_a_dropped_path(ctx, qtbot, tmp_path):
    path = write(tmp_path, "drop.csv", CATALOG.replace(",lantern.png", ","))
    dialog = open_import_dialog(ctx, None, path=path)
    qtbot.addWidget(dialog)
    assert dialog.isVisible() and dialog.path == path
    settle(qtbot, dialog)
    assert dialog.preview.kind == "catalog"
    dialog.close()


def test_closing_while_the_dry_run_runs_stops_it(ctx, make_dialog, qtbot, tmp_path):
    rows = "\n".join(f"S{i:05d},Thing number {i},{i % 50 + 0.5}" for i in range(30_000))
    path = write(tmp_path, "big.csv", "SKU,Title,Price\n" + rows + "\n")
    dialog = make_dialog(path=path, kind="catalog")
    assert dialog.runner.running and dialog.phase == "previewing"
    dialog.close()
    assert dialog.runner.wait(10_000)
    assert not dialog.runner.running
    assert orders.stats(ctx.db)["products"] == 0


def test_a_file_of_the_other_kind_says_which_kind_to_choose(ctx, make_dialog, qtbot):
    from pathlib import Path

    data = Path(__file__).resolve().parents[1] / "data" / "import"
    dialog = make_dialog(path=str(data / "shopify_orders.csv"), kind="catalog")
    settle(qtbot, dialog)
    assert dialog.preview is None and dialog.message.kind == "error"
    assert dialog.message.text() == ("shopify_orders.csv is a Shopify orders export, not a catalog: choose "
                                     "“Orders (sales)” as the Kind above (or “Guess from the file”).")
    assert not dialog.import_button.isEnabled() and dialog.kind_combo.isEnabled()
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData("orders"))
    settle(qtbot, dialog)
    assert dialog.preview is not None and dialog.preview.format == "shopify" and dialog.import_button.isEnabled()
    assert dialog.message.text() == ""
    # a Shopify product export: photos from Image Src where Variant Image is empty, said on the combo
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData("catalog"))
    dialog.set_path(str(data / "shopify_products.csv"))
    settle(qtbot, dialog)
    assert dialog._combos["image"].currentText() == "Variant Image"
    assert "Image Src" in dialog._combos["image"].toolTip() and dialog._combos["title"].toolTip() == ""
    assert dialog._combos["vendor"].currentText() == "Vendor"
    assert "Vendor" in [dialog.sample.horizontalHeaderItem(c).text() for c in range(dialog.sample.columnCount())]


SHOPIFY_ORDERS = """Name,Email,Financial Status,Subtotal,Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Billing Country,Cancelled at,Refunded Amount
#2883,daisy@example.com,{status},45.00,2011-12-09 12:31:00 +0000,2,Rabbit Night Light,20.00,23084,GB,,{refunded}
#2883,daisy@example.com,,,2011-12-09 12:31:00 +0000,1,Bird Ornament,5.00,84879,,,
#2884,rhys@example.com,paid,5.00,2011-12-10 12:31:00 +0000,1,Bird Ornament,5.00,84879,GB,,0.00
"""


def test_a_later_export_that_only_changes_a_status_can_be_imported_and_undone(ctx, make_dialog, qtbot, tmp_path):
    """Nothing new in the file, one order refunded since: the dry run says it would change it, Import is
    enabled, the summary tells the change, and Undo puts the old status back."""
    from shopai.jobs import run_job

    first = write(tmp_path, "orders_export.csv", SHOPIFY_ORDERS.format(status="paid", refunded="0.00"))
    run_job(shopai.io.import_job(ctx.db_path, first, "orders"))
    later = write(tmp_path, "orders_export_later.csv", SHOPIFY_ORDERS.format(status="refunded", refunded="45.00"))
    dialog = make_dialog(path=later)
    settle(qtbot, dialog)
    assert "It would add 0 new orders and change 1." in dialog.counts.text()
    assert dialog.import_button.isEnabled()
    dialog.start_import()
    settle(qtbot, dialog)
    assert dialog.phase == "done", dialog.message.text()
    text = dialog.summary.text()
    assert "0 order lines created, 2 updated, 1 row skipped" in text and "orders updated: 1" in text
    assert "1 order changes status (#2883 paid → returned)." in text
    status = "SELECT status FROM orders WHERE external_id = '#2883'"
    assert ctx.db.conn.execute(status).fetchone()[0] == "returned"
    dialog.undo()
    settle(qtbot, dialog)
    assert ctx.db.conn.execute(status).fetchone()[0] == "paid"


def test_undo_says_which_products_stay_and_in_their_categories(ctx, make_dialog, qtbot, tmp_path):
    from shopai.io import import_job
    from shopai.jobs import run_job

    path = write(tmp_path, "catalog.csv", "SKU,Title,Category,Price\nK1,Kept mug,Home > Mugs,3.00\n"
                                          "K2,Unsold pot,Garden,2.00\n")
    dialog = make_dialog(path=path, kind="catalog")
    settle(qtbot, dialog)
    with qtbot.waitSignal(dialog.imported, timeout=10_000):
        dialog.import_button.click()
    settle(qtbot, dialog)
    log = write(tmp_path, "orders.csv", "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice\n"
                                        "900,K1,Kept mug,2,2024-03-01 10:00:00,3.00\n")
    run_job(import_job(ctx.db_path, log, "orders"))
    dialog.undo_button.click()
    settle(qtbot, dialog)
    assert dialog.summary.text() == (f"Import {dialog.report.import_id} was undone, except for 1 product that orders "
                                     "imported since refer to: it stays in the catalog, in its category.")
    assert {r[0] for r in ctx.db.conn.execute("SELECT name FROM categories")} == {"Home", "Mugs"}


def test_a_long_problem_list_is_cut_with_exact_counts_and_saved_whole(ctx, make_dialog, qtbot, tmp_path, monkeypatch):
    # A re-import of a 540,000-line log has a problem on every line: the list shows the first few, the counts
    # stay exact, and "Save the list…" writes every one.
    import csv

    import shopai_ui.import_dialog as import_dialog

    monkeypatch.setattr(import_dialog, "MAX_LISTED_PROBLEMS", 5)
    rows = [f"N{i},Thing {i},Home,-{i + 1},1," for i in range(30)] + ["OK1,Good lamp,Home,4.00,2,"]
    path = write(tmp_path, "catalog.csv", "SKU,Title,Category,Price,Stock,Image\n" + "\n".join(rows) + "\n")
    dialog = make_dialog(path=path)
    settle(qtbot, dialog)
    listed = [dialog.problems.item(i).text() for i in range(dialog.problems.count())]
    assert len(listed) == 6 and listed[0].startswith("Row 2:")
    assert "25 more" in listed[-1] and "Save the list" in listed[-1]
    assert "30 problems (rows skipped)" in dialog.problems_label.text()
    assert "31 rows in the file; 1 ready to import, 30 will be skipped" in dialog.counts.text()
    assert "It would add 1 new product." in dialog.counts.text()  # one product, not "1 new products"
    assert dialog.save_problems_button.isVisibleTo(dialog) and dialog.save_problems_button.isEnabled()

    out = tmp_path / "problems"  # ".csv" is added
    dialog.save_problems(str(out))
    settle(qtbot, dialog)
    with open(tmp_path / "problems.csv", encoding="utf-8-sig", newline="") as f:
        saved = list(csv.reader(f))
    assert saved[0] == ["Row", "Outcome", "Reason"] and len(saved) == 31
    assert [r[0] for r in saved[1:]] == [str(i) for i in range(2, 32)] and {r[1] for r in saved[1:]} == {"skipped"}
    assert "Saved 30 problems" in dialog.message.text()
    (tmp_path / "notes").write_text("a file, not a folder")  # a folder that cannot be made: said in the dialog
    dialog.save_problems(str(tmp_path / "notes" / "problems.csv"))
    settle(qtbot, dialog)
    assert dialog.message.text().startswith(f"Could not write {tmp_path / 'notes' / 'problems.csv'}: ")
    assert orders.stats(ctx.db)["products"] == 0  # still a dry run
    assert dialog.import_button.isEnabled()


def test_problems_are_grouped_by_reason_with_ids_blanked():
    from shopai.io.sniff import RowProblem
    from shopai_ui.import_dialog import summarise_problems

    problems = ([RowProblem(row=i, message=f"cancelled line of order C{570000 + i}", skipped=False) for i in range(1, 8)]
                + [RowProblem(row=9, message="price '-2' is negative", skipped=True),
                   RowProblem(row=0, message="column Cost is empty everywhere", skipped=True)])
    s = summarise_problems(problems, limit=3)
    assert (s.skipped, s.skipped_rows, s.notes, s.total, s.more) == (2, 1, 7, 9, 6)
    assert s.common[0] == ("cancelled line of order …", 7) and s.reasons == 3
    assert [p.row for p in s.listed] == [9, 0, 1]  # the skipped rows first

"""The main window: every tab present, a broken tab does not stop the shop opening, state kept."""
from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMessageBox

from shopai.store import connect, open_store, products
from shopai_ui import main_window
from shopai_ui.main_window import MainWindow
from shopai_ui.tabs import TABS


def test_window_has_every_tab_in_order(qtbot, ctx):
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert titles == [t for t, _ in TABS]


@pytest.mark.parametrize("spec", ["shopai_ui.tabs.not_there:Nope", "shopai_ui.tabs.catalog:NoSuchClass"])
def test_a_tab_that_fails_to_build_does_not_stop_the_window(qtbot, ctx, monkeypatch, spec):
    monkeypatch.setattr(main_window, "TABS", [("Broken", spec), ("Catalog", TABS[0][1])])
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    assert "could not be opened" in window.tab("Broken").text()
    window.tabs.setCurrentIndex(1)
    assert window.tab("Catalog") is window.tabs.widget(1)


def test_tabs_are_built_when_first_shown(qtbot, ctx):
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    first = TABS[0][0]
    assert list(window.tab_widgets) == [first] or window.tabs.currentIndex() != 0
    window.tabs.setCurrentIndex(1)
    assert TABS[1][0] in window.tab_widgets
    assert window.tabs.widget(1) is window.tab_widgets[TABS[1][0]]
    assert window.tabs.currentIndex() == 1
    for index, (title, _) in enumerate(TABS):
        assert window.tabs.tabText(index) == title


def test_status_bar_counts_follow_data_changes(qtbot, ctx):
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    assert window._counts.text().startswith("0 products")
    products.add(connect(ctx.db_path), sku="A", title="Mug")
    ctx.notify_changed({"products"})
    assert window._counts.text() == "1 product · 0 customers · 0 orders"


def test_dropping_a_csv_opens_the_import_dialog(qtbot, ctx, monkeypatch, tmp_path):
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    opened = []
    monkeypatch.setattr(window, "import_file", lambda path=None, kind=None: opened.append(path))
    csv = tmp_path / "catalog.csv"
    csv.write_text("sku,title\nA,Mug\n")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(csv))])
    event = QDropEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert opened == [str(csv)]


def test_app_starts_fast_without_torch(tmp_path):
    env = {"QT_QPA_PLATFORM": "offscreen", "SHOPAI_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "shopai_ui.app", "--db", str(tmp_path / "shop.sqlite"), "--quit-after-shown"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "torch_imported=False" in result.stdout
    assert Path(tmp_path / "logs" / "shopai.log").exists()


def test_file_menu_offers_backup_and_closing_makes_a_backup(qtbot, ctx, monkeypatch):
    from shopai.safety import backup
    from shopai.safety.backup import list_backups

    products.add(connect(ctx.db_path), sku="A", title="Mug")
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    texts = [a.text().replace("&", "") for a in window.file_menu.actions()]
    assert "Back up now" in texts and any(t.startswith("Restore from backup") for t in texts)
    window.show()
    seen = []  # the window is already gone while the backup runs (seconds on a big shop: not seen frozen)
    real = backup.auto_backup

    def watched(*args, **kwargs):
        seen.append(window.isVisible())
        return real(*args, **kwargs)

    monkeypatch.setattr(backup, "auto_backup", watched)
    window.close()
    backups = list_backups(ctx.db_path)
    assert len(backups) == 1 and backups[0].reason == "close"
    assert seen == [False]


def test_every_tab_opens_on_a_100k_product_shop(qtbot, ctx):
    """No tab may load the whole catalog into a widget (it also crashed PySide on Python 3.11)."""
    from shopai.store import transaction

    with transaction(connect(ctx.db_path)) as conn:
        conn.executemany("INSERT INTO products (sku, title, price) VALUES (?, ?, ?)",
                         [(f"S{i}", f"Mug number {i}", 1.0) for i in range(100_000)])
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        qtbot.wait(10)
    assert len(window.tab_widgets) == len(TABS)
    window.shutdown()


def test_catalog_search_bar_has_the_voice_mic_button(qtbot, ctx):
    from shopai_ui.tabs.voice import MicButton

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    catalog = window.tab("Catalog")
    assert isinstance(catalog.mic_button, MicButton)
    catalog.mic_button.on_text("hanging heart")
    assert catalog.search.text() == "hanging heart"


def _drop(window, path: Path) -> QDropEvent:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    event = QDropEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    return event


def test_dropping_a_photo_says_what_can_be_dropped(qtbot, ctx, monkeypatch, tmp_path):
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    opened = []
    monkeypatch.setattr(window, "import_file", lambda path=None, kind=None: opened.append(path))
    photo = tmp_path / "mug.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 not much of a photo")
    _drop(window, photo)
    message = window.statusBar().currentMessage()
    assert opened == [] and "mug.jpg" in message and "CSV" in message and "Auto-categorize" in message
    assert "\n" not in message


@pytest.mark.parametrize("name, text, kind", [
    ("商品目录_gbk.csv", "货号,商品名称,描述,分类,售价,库存,图片\nJDZ-001,景德镇青花瓷杯,手绘青花,餐具,￥68.00,120,\n",
     "catalog"),
    ("订单_gbk.csv", "订单号,下单时间,货号,商品名称,数量,单价,客户,状态,国家\n"
                     "DD1,2023/9/4,JDZ-001,景德镇青花瓷杯,1,68.00元,徐明,已付款,中国\n", "orders"),
])
def test_dropping_a_chinese_csv_opens_the_import_dialog_on_its_kind(qtbot, ctx, tmp_path, name, text, kind):
    """A dropped 商品目录_gbk.csv was refused: "Can't tell whether it holds products or orders"."""
    from shopai_ui.import_dialog import ImportDialog

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    path = tmp_path / name
    path.write_bytes(text.encode("gbk"))
    _drop(window, path)
    dialog = window.findChild(ImportDialog)
    try:
        qtbot.waitUntil(lambda: not dialog.runner.running and dialog.phase not in ("previewing", "importing"),
                        timeout=10_000)
        assert "Can't tell" not in dialog.message.text()
        assert dialog.preview is not None and dialog.preview.kind == kind and dialog.kind == kind
        assert dialog.preview.missing_required == [] and dialog.import_button.isEnabled()
    finally:
        dialog.runner.shutdown()
        dialog.close()


def test_window_title_names_the_shop_not_the_data_folder(qtbot, qapp, ctx, tmp_path):
    from shopai.paths import default_db_path
    from shopai_ui.context import ShopContext

    default = ShopContext(str(default_db_path()))
    try:
        window = MainWindow(default)
        qtbot.addWidget(window)
        assert window.windowTitle() == "ShopAI"
    finally:
        default.close()
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    assert window.windowTitle() == f"ShopAI — {Path(ctx.db_path).parent.name}"
    assert main_window.window_title(str(tmp_path / "shop-2025.db")) == "ShopAI — shop-2025.db"


# --- opening a shop (ShopApp.open) -------------------------------------------------------------


@pytest.fixture
def warnings(monkeypatch):
    """The texts of warning/critical boxes, recorded instead of shown."""
    shown = []
    for kind in ("warning", "critical"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(lambda parent, title, text, *a, **kw: shown.append(text)))
    return shown


@pytest.fixture
def shop_app(qapp, monkeypatch):
    from shopai_ui import errors
    from shopai_ui.app import ShopApp

    monkeypatch.setattr(errors, "_log_file", None)
    app = ShopApp(qapp)
    yield app
    if app.window is not None:
        app.window.close()
        app.ctx.close()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_shopai", False)]:
        root.removeHandler(handler)
        handler.close()


def _shop_in(folder: Path) -> Path:
    folder.mkdir(parents=True)
    shop = folder / "shop.sqlite"
    open_store(shop).conn.close()
    return shop


def test_a_shop_in_a_read_only_folder_is_refused_in_plain_words(shop_app, warnings, tmp_path, read_only):
    shop = _shop_in(tmp_path / "usb-stick")
    with read_only(shop.parent):
        assert not shop_app.open(str(shop))  # no PermissionError for its logs folder
    assert "can't be opened" in warnings[-1] and "read-only" in warnings[-1] and str(shop) in warnings[-1]
    assert shop_app.window is None and not (shop.parent / "logs").exists()


def test_a_read_only_shop_file_is_refused_before_a_save_can_fail(shop_app, warnings, tmp_path, read_only):
    shop = _shop_in(tmp_path / "archive")
    with read_only(shop):
        assert not shop_app.open(str(shop))
    assert "read-only" in warnings[-1] and "Copy the shop's folder" in warnings[-1]
    assert shop_app.window is None


def test_a_failed_open_leaves_logging_on_the_open_shop(shop_app, warnings, tmp_path, monkeypatch):
    from shopai_ui import backup_actions, errors

    offered = []
    monkeypatch.setattr(backup_actions, "confirm_restore_on_damage", lambda *a: offered.append(a))
    good = _shop_in(tmp_path / "good")
    assert shop_app.open(str(good))
    assert errors.log_file() == good.parent / "logs" / "shopai.log"
    other = tmp_path / "other"
    other.mkdir()
    notes = other / "notes.db"
    notes.write_text("Shopping list: milk, eggs\n" * 50)
    assert not shop_app.open(str(notes))
    assert errors.log_file() == good.parent / "logs" / "shopai.log"
    assert sorted(p.name for p in other.iterdir()) == ["notes.db"]
    assert shop_app.ctx.db_path == str(good)
    assert not offered and "notes.db is not a ShopAI shop" in warnings[-1]  # no restore over a stranger


@pytest.mark.parametrize("count, words", [(1, "Exported 1 row to"), (13_589, "Exported 13,589 rows to")])
def test_export_says_how_many_rows_in_plain_words(qtbot, ctx, monkeypatch, tmp_path, count, words):
    from PySide6.QtWidgets import QFileDialog

    from shopai.io import export

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    out = str(tmp_path / "catalog.csv")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (out, ""))

    def job(db, path):
        yield from ()
        return count

    monkeypatch.setattr(export, "export_catalog_job", job)
    window.export_file("catalog")
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == f"{words} {out}")


def _shop_with_orders(db_path, tmp_path):
    from shopai.io import import_job
    from shopai.jobs import run_job

    src = tmp_path / "log.csv"
    src.write_text("invoice,stock_code,description,quantity,invoice_date,unit_price,customer_id,country\n"
                   + "".join(f"{i},A{i % 7},RED MUG {i % 7},2,2011-01-03 09:00:00,2.50,178{i % 5},United Kingdom\n"
                             for i in range(1, 31)))
    run_job(import_job(db_path, src, "orders"))


@pytest.mark.parametrize("what, rows", [("orders", 30), ("catalog", 7)])
def test_export_runs_in_the_background_and_says_how_many_rows(qtbot, ctx, monkeypatch, tmp_path, what, rows):
    import threading

    from PySide6.QtWidgets import QFileDialog

    from shopai.io import export

    _shop_with_orders(ctx.db_path, tmp_path)
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    out = tmp_path / "out" / f"{what}.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    writers = set()
    cell = export.safe_cell
    monkeypatch.setattr(export, "safe_cell", lambda v: (writers.add(threading.current_thread()), cell(v))[1])
    window.export_file(what)
    assert window.export_runner.running and not any(a.isEnabled() for a in window._export_actions)
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Exported"), timeout=10_000)
    assert window.statusBar().currentMessage() == f"Exported {rows:,} rows to {out}"
    assert writers and threading.main_thread() not in writers  # the rows were written off the GUI thread
    assert len(out.read_text(encoding="utf-8-sig").splitlines()) == rows + 1
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]  # no temporary file left
    assert all(a.isEnabled() for a in window._export_actions)


def test_a_cancelled_export_leaves_the_old_file_and_says_nothing(qtbot, ctx, monkeypatch, tmp_path):
    import threading

    from PySide6.QtWidgets import QFileDialog

    from shopai.io import export

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    out = tmp_path / "exports" / "orders.csv"
    out.parent.mkdir()
    out.write_text("last week's export\n")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    half_way, go_on = threading.Event(), threading.Event()

    def rows():
        for i in range(3 * export.PROGRESS_EVERY):
            if i == export.PROGRESS_EVERY + 1:
                half_way.set()
                go_on.wait(10)
            yield [i]

    monkeypatch.setattr(export, "export_orders_job", lambda db, path: export.write_csv_job(path, ["n"], rows()))
    window.export_file("orders")
    qtbot.waitUntil(half_way.is_set, timeout=10_000)
    assert any(p.name.endswith(".part") for p in out.parent.iterdir())  # being written beside the old file
    window.export_progress.cancel_button.click()
    go_on.set()
    assert not window.export_runner.running
    assert window.export_runner.wait(10_000)
    qtbot.wait(50)
    assert sorted(p.name for p in out.parent.iterdir()) == ["orders.csv"]
    assert out.read_text() == "last week's export\n"
    assert not window.statusBar().currentMessage().startswith("Exported")


def test_an_export_that_cannot_be_written_says_why_in_plain_words(qtbot, ctx, monkeypatch, tmp_path, warnings):
    from PySide6.QtWidgets import QFileDialog

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    (tmp_path / "notes").write_text("a file, not a folder")
    out = str(tmp_path / "notes" / "catalog.csv")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (out, ""))
    window.export_file("catalog")
    qtbot.waitUntil(lambda: bool(warnings), timeout=10_000)
    assert len(warnings) == 1 and warnings[0].startswith(f"Could not write {out}: ")
    assert "Errno" not in warnings[0] and ".part" not in warnings[0]  # the reason, not the temporary file's name
    assert not window.statusBar().currentMessage().startswith("Exported")


def test_opening_a_shop_sorts_a_chinese_title_another_program_renamed(db_path):
    import sqlite3

    from shopai.store import open_store, products
    from shopai_ui.context import ShopContext

    db = open_store(db_path)
    products.add(db, sku="P5", title="橙子")
    db.conn.close()
    other = sqlite3.connect(db_path)
    other.execute("UPDATE products SET title = '仔细' WHERE sku = 'P5'")
    other.commit()
    other.close()
    ctx = ShopContext(db_path)
    try:
        assert ctx.db.conn.execute("SELECT title_key FROM products WHERE sku = 'P5'").fetchone()[0] == "zi3 xi4"
    finally:
        ctx.close()


def test_a_product_double_clicked_in_another_tab_is_shown_in_the_catalog(qtbot, ctx):
    ids = {sku: products.add(ctx.db, sku=sku, title=title, price=2) for sku, title in
           [("A1", "Heart lantern"), ("B2", "Zinc bucket"), ("C3", "Doormat")]}
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.tabs.setCurrentIndex(0)
    catalog = window.tab("Catalog")
    catalog.search.setText("bucket")
    catalog.apply_search()  # a search that hides the product asked for
    window.tabs.setCurrentIndex([t for t, _ in TABS].index("Voice search"))
    ctx.show_product(ids["C3"])
    assert window.tabs.currentWidget() is catalog
    assert catalog.selected_ids() == [ids["C3"]] and catalog.search.text() == ""


def test_voice_results_and_recommendations_lead_to_the_catalog_and_customers_to_their_orders(qtbot, ctx):
    import sys as _sys

    from PySide6.QtWidgets import QTableWidgetItem

    _sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
    from recommend_shop import make_shop
    from shopai_ui.tabs.customers import CustomersTab
    from shopai_ui.tabs.voice import VoiceTab

    make_shop(ctx.db)
    asked_products, asked_customers = [], []
    ctx.productRequested.connect(asked_products.append)
    ctx.customerRequested.connect(asked_customers.append)
    voice = VoiceTab(ctx)
    qtbot.addWidget(voice)
    pid = ctx.db.conn.execute("SELECT id FROM products ORDER BY id LIMIT 1").fetchone()[0]
    voice.results.setRowCount(1)
    item = QTableWidgetItem("95%")
    item.setData(Qt.ItemDataRole.UserRole, pid)
    voice.results.setItem(0, 0, item)
    voice.results.itemActivated.emit(item)
    assert asked_products == [pid]

    customers = CustomersTab(ctx)
    qtbot.addWidget(customers)
    qtbot.waitUntil(lambda: customers.model.rowCount() > 0, timeout=5000)
    first = customers.model.id_at(0)
    customers.table.activated.emit(customers.model.index(0, 0))
    assert asked_customers == [first]

    from shopai_ui.tabs.recommend import RecommendTab

    rec = RecommendTab(ctx)
    qtbot.addWidget(rec)
    qtbot.waitUntil(lambda: not rec.loader.running and rec.content is not None, timeout=10_000)
    rec.product.set_current("P00", "P00")
    rec.show_product()  # similar descriptions need no Train
    sku = rec.similar_list.item(0, 1).text()
    rec.similar_list.itemActivated.emit(rec.similar_list.item(0, 0))
    assert asked_products[-1] == products.get(ctx.db, sku=sku)["id"]
    rec.shutdown()

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show_customer(first)
    orders_tab = window.tab("Orders")
    assert window.tabs.currentWidget() is orders_tab and orders_tab._only_customer == first
    ours = ctx.db.conn.execute("SELECT count(*) FROM orders WHERE customer_id = ?", (first,)).fetchone()[0]
    assert orders_tab.model.rowCount() == ours
    voice.shutdown()
    customers.shutdown()


def test_the_catalogs_right_click_menu_leads_to_the_products_forecast_and_what_is_bought_with_it(qtbot, ctx):
    import sys as _sys

    _sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
    from recommend_shop import make_shop

    make_shop(ctx.db)
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.tabs.setCurrentIndex(0)
    catalog = window.tab("Catalog")
    pid = products.get(ctx.db, sku="P00")["id"]
    catalog.select_ids([pid])
    menu = catalog.selection_menu()
    actions = {a.text(): a for a in menu.actions() if a.text()}
    actions["Forecast its sales"].trigger()
    forecast = window.tab("Price forecast")
    assert window.tabs.currentWidget() is forecast and forecast.picker.current_data() == "sku:P00"
    actions["What is bought with it"].trigger()
    rec = window.tab("Recommendations")
    assert window.tabs.currentWidget() is rec and rec.product.current_data() == "P00"
    qtbot.waitUntil(lambda: not rec.loader.running, timeout=10_000)
    qtbot.wait(100)
    assert rec.product.current_data() == "P00"  # still, once the tab has loaded its model
    catalog.select_ids([pid, products.get(ctx.db, sku="P01")["id"]])  # two products: one forecast each, not both
    two = {a.text(): a for a in catalog.selection_menu().actions() if a.text()}
    assert not two["Forecast its sales"].isEnabled() and not two["What is bought with it"].isEnabled()
    for title in ("Price forecast", "Recommendations"):
        window.tab(title).shutdown()

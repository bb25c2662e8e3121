"""CategorizeTab: queue with thumbnails and top-3, keyboard accept/fix/skip, undo, batch-accept, Train, import."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from shopai.jobs import run_job

CATS = {"Scarves": ["wool scarf", "silk scarf", "knitted scarf"], "Mugs": ["coffee mug", "tea mug", "enamel mug"]}
RGB = {"Scarves": (200, 30, 30), "Mugs": (30, 30, 200)}


def _square(colour, rng):
    arr = np.full((40, 40, 3), 245, dtype=np.int16)
    arr[8:32, 8:32] = colour
    arr += rng.integers(-20, 20, arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


@pytest.fixture
def shop(ctx, tmp_path):
    from shopai.categorize.train import train_job

    rng = np.random.default_rng(0)
    n = 0
    for cat, names in CATS.items():
        for i in range(6):
            n += 1
            img = tmp_path / f"S{n}.png"
            _square(RGB[cat], rng).save(img)
            ctx.db.conn.execute("INSERT INTO products (sku, title, category, image_path) VALUES (?, ?, ?, ?)",
                                (f"S{n}", f"red {names[i % 3]}", cat, str(img)))
    for sku, title in [("U1", "blue silk scarf"), ("U2", "big coffee mug"), ("U3", "tea mug with lid")]:
        ctx.db.conn.execute("INSERT INTO products (sku, title) VALUES (?, ?)", (sku, title))
    run_job(train_job(ctx.db_path, photo_epochs=3, photo_seconds=20, threads=1))
    return ctx


def category(ctx, sku):
    return ctx.db.conn.execute("SELECT category FROM products WHERE sku = ?", (sku,)).fetchone()[0]


def test_queue_keyboard_accept_fix_skip_undo(qtbot, shop):
    from shopai_ui.tabs.categorize import CategorizeTab

    tab = CategorizeTab(shop)
    qtbot.addWidget(tab)
    tab.show()
    assert tab.table.rowCount() == 3
    assert not tab.table.item(0, 0).icon().isNull() or tab.rows[0]["image_path"] is None
    assert "%" in tab.table.item(0, 1).text()
    assert tab.accuracy.rowCount() == 2
    tab.table.setFocus()
    first = tab.current()["sku"]
    qtbot.keyClick(tab.table, Qt.Key.Key_Return)
    assert category(shop, first) == tab_first_suggestion_after(shop, first)
    assert tab.table.rowCount() == 2
    # fix with the 2nd suggestion (key 2): a correction, learnt in the background
    second = tab.current()
    other = second["suggestions"][1]["category"]
    qtbot.keyClick(tab.table, Qt.Key.Key_2)
    assert category(shop, second["sku"]) == other
    qtbot.waitUntil(lambda: not tab.learner.running, timeout=20_000)
    # skip
    third = tab.current()["sku"]
    qtbot.keyClick(tab.table, Qt.Key.Key_S)
    assert tab.table.rowCount() == 0
    assert category(shop, third) is None
    # undo x3 brings everything back
    for _ in range(3):
        tab.undo()
    assert tab.table.rowCount() == 3
    assert category(shop, first) is None and category(shop, second["sku"]) is None
    tab.shutdown()


def tab_first_suggestion_after(ctx, sku):
    import json

    row = ctx.db.conn.execute(
        "SELECT s.suggestions_json FROM categorize_suggestions s JOIN products p ON p.id = s.product_id "
        "WHERE p.sku = ?", (sku,)).fetchone()
    return json.loads(row[0])[0]["category"]


def test_batch_accept_and_train_button(qtbot, shop, child_jobs):
    from shopai_ui.tabs.categorize import CategorizeTab

    tab = CategorizeTab(shop)
    qtbot.addWidget(tab)
    tab.threshold.setValue(0.5)
    tab.batch_accept()
    accepted = shop.db.conn.execute("SELECT count(*) FROM categorize_suggestions WHERE status = 'accepted'").fetchone()[0]
    assert accepted >= 1 and tab.table.rowCount() == 3 - accepted
    tab.undo()
    assert tab.table.rowCount() == 3
    tab.train_options = {"photo_epochs": 2, "photo_seconds": 10, "threads": 1}
    with qtbot.waitSignal(tab.runner.finished, timeout=60_000):
        tab.train()
    assert "Trained on 12 products" in tab.message.text()
    assert child_jobs == [("shopai.categorize.train.train_job", 1)]  # in a process of its own
    tab.shutdown()


def test_train_says_which_photos_it_could_not_read(qtbot, shop):
    from shopai_ui.tabs.categorize import CategorizeTab

    path = shop.db.conn.execute("SELECT image_path FROM products WHERE sku = 'S2'").fetchone()[0]
    with open(path, "r+b") as f:
        f.truncate(30)
    tab = CategorizeTab(shop)
    qtbot.addWidget(tab)
    tab.train_options = {"photo_epochs": 2, "photo_seconds": 10, "threads": 1}
    with qtbot.waitSignal(tab.runner.finished, timeout=60_000):
        tab.train()
    text = tab.message.text()
    assert "Trained on 12 products" in text and "could not be read" in text and "S2" in text, text
    assert tab.message.kind == "error"  # something to put right, not just news
    tab._trained({"labelled products": 12, "categories": 2, "held-out accuracy": 1.0,
                  "pretrained photo model": "not used: the file is damaged (train again after getting it again)"})
    assert "pretrained photo model was not used: the file is damaged" in tab.message.text()
    assert tab.message.kind == "error"
    tab._trained({"labelled products": 12, "categories": 2, "pretrained photo model": "used (/x/m.pth)"})
    assert tab.message.kind == "info" and "pretrained" not in tab.message.text()
    tab.shutdown()


def test_a_product_with_nothing_to_go_on_asks_for_its_category(qtbot, shop, tmp_path):
    """A draft whose photo cannot be read has no title and no photo: no made-up suggestion, Enter explains."""
    from shopai.categorize import review
    from shopai_ui.tabs.categorize import CategorizeTab

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _square(RGB["Mugs"], np.random.default_rng(4)).save(inbox / "new-mug.png")
    run_job(review.import_photos_job(shop.db_path, [inbox]))
    pid = shop.db.conn.execute("SELECT id FROM products WHERE sku = 'new-mug'").fetchone()[0]
    tab = CategorizeTab(shop)
    qtbot.addWidget(tab)
    tab.show()
    row = lambda: [r["sku"] for r in tab.rows].index("new-mug")  # noqa: E731
    assert not tab.table.item(row(), 0).icon().isNull()
    shop.db.conn.execute("UPDATE categorize_photos SET embedding = NULL, model_stamp = NULL WHERE product_id = ?",
                         (pid,))
    image = shop.db.conn.execute("SELECT image_path FROM products WHERE id = ?", (pid,)).fetchone()[0]
    from shopai.categorize.train import resolve_image

    resolve_image(shop.db_path, image).write_bytes(b"")  # the stored copy is gone bad too
    review.refresh_suggestions(shop.db, shop.db_path, product_ids=[pid])
    tab.refresh()
    r = row()
    assert tab.table.item(r, 0).icon().isNull()  # not the thumbnail cached while the photo was good
    assert r == len(tab.rows) - 1  # after every real suggestion
    assert tab.table.item(r, 1).text() == "nothing to go on" and tab.table.item(r, 2).text() == ""
    tab.table.selectRow(r)
    assert not tab.accept_button.isEnabled() and "type the category" in tab.choice_buttons[0].text()
    assert tab.photo.text() == "the photo cannot be read"
    tab.table.setFocus()
    qtbot.keyClick(tab.table, Qt.Key.Key_Return)
    assert "no suggestion for that product" in tab.message.text()
    assert category(shop, "new-mug") is None
    tab.fix_box.setEditText("Mugs")
    tab.fix_typed()
    assert category(shop, "new-mug") == "Mugs"
    qtbot.waitUntil(lambda: not tab.learner.running, timeout=20_000)
    tab.shutdown()


def test_import_bad_and_good_photos(qtbot, shop, tmp_path):
    from shopai_ui.tabs.categorize import CategorizeTab

    tab = CategorizeTab(shop)
    qtbot.addWidget(tab)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _square(RGB["Mugs"], np.random.default_rng(3)).save(inbox / "new-mug.png")
    (inbox / "zero.jpg").write_bytes(b"")
    with qtbot.waitSignal(tab.runner.finished, timeout=60_000):
        tab.import_paths([str(inbox)])
    assert "1 new draft product." in tab.message.text() and "zero.jpg" in tab.message.text()
    assert any(r["sku"] == "new-mug" for r in tab.rows)
    tab.shutdown()


def test_no_model_yet_message(qtbot, ctx):
    from shopai_ui.tabs.categorize import CategorizeTab

    tab = CategorizeTab(ctx)
    qtbot.addWidget(tab)
    assert "No model yet: give products in at least two categories" in tab.model_label.text()
    with qtbot.waitSignal(tab.runner.finished, timeout=30_000):
        tab.train()
    assert "No product has a category" in tab.message.text()
    # once products carry categories, the label says Train is all that is left (a lone category's product
    # and an uncategorised one are not counted)
    for sku, cat in [("A1", "Mugs"), ("A2", "Mugs"), ("B1", " Scarves"), ("B2", "Scarves "), ("C1", "Hats"),
                     ("D1", "")]:
        ctx.db.conn.execute("INSERT INTO products (sku, title, category) VALUES (?, ?, ?)", (sku, sku, cat))
    tab.refresh()
    assert "press Train to learn from the 4 products in 2 categories" in tab.model_label.text()
    tab.shutdown()


def test_pretrained_photo_model_download_asks_then_fetches(qtbot, ctx, tmp_path, monkeypatch):
    """The button asks first; a failed download is a message in the tab; a good one hides the button."""
    import hashlib

    from PySide6.QtWidgets import QMessageBox

    from shopai.categorize import pretrained
    from shopai_ui.tabs.categorize import CategorizeTab

    served = tmp_path / "served.pth"
    served.write_bytes(b"stand-in weights " * 1000)
    monkeypatch.setattr(pretrained, "SHA256_PREFIX", hashlib.sha256(served.read_bytes()).hexdigest()[:8])
    pretrained._CHECKED.clear()
    tab = CategorizeTab(ctx)
    qtbot.addWidget(tab)
    tab.show()
    assert tab.backbone_button.isVisible()
    answers = [QMessageBox.StandardButton.No]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: answers.pop(0))
    tab.backbone_button.click()  # said no: nothing happens
    assert not tab.runner.running and pretrained.find_backbone() is None
    monkeypatch.setattr(pretrained, "URL", "http://127.0.0.1:9/none.pth")
    answers.append(QMessageBox.StandardButton.Yes)
    tab.backbone_button.click()
    qtbot.waitUntil(lambda: not tab.runner.running and "Could not download" in tab.message.text(), timeout=20000)
    assert tab.backbone_button.isVisible()
    monkeypatch.setattr(pretrained, "URL", served.as_uri())
    answers.append(QMessageBox.StandardButton.Yes)
    tab.backbone_button.click()
    qtbot.waitUntil(lambda: not tab.runner.running and "Press Train" in tab.message.text(), timeout=20000)
    assert pretrained.find_backbone() == pretrained.own_dir() / pretrained.FILE
    assert not tab.backbone_button.isVisible()
    tab.shutdown()


def test_review_goes_on_while_train_runs_and_a_drop_does_not_cancel_it(qtbot, shop, monkeypatch, tmp_path):
    """Decisions during Train move the queue on (a correction is learnt once Train ends); photos dropped on
    the tab are refused with a message instead of cancelling Train."""
    import threading
    import time

    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    from shopai.categorize import train as train_mod
    from shopai.jobs import Progress
    from shopai_ui.tabs.categorize import CategorizeTab

    real, gate = train_mod.train_job, threading.Event()

    def held_train(path, **kw):  # Train, held running until the test lets it finish
        while not gate.is_set():
            yield Progress(0, 1, "training")
            time.sleep(0.02)
        return (yield from real(path, photo_epochs=2, photo_seconds=10, threads=1))

    monkeypatch.setattr(train_mod, "train_job", held_train)
    # held_train is local (a child process cannot run it): Train runs it in the worker thread instead
    monkeypatch.setattr("shopai_ui.tabs.categorize.in_process", lambda func, *a, **kw: func(*a, **kw))
    tab = CategorizeTab(shop)
    qtbot.addWidget(tab)
    tab.show()
    tab.train()
    assert tab.runner.running
    tab.table.setFocus()
    first = tab.current()["sku"]
    qtbot.keyClick(tab.table, Qt.Key.Key_Return)
    qtbot.keyClick(tab.table, Qt.Key.Key_Return)
    assert category(shop, first) is not None and tab.table.rowCount() == 1  # two products, not one twice
    assert shop.db.conn.execute("SELECT count(*) FROM categorize_decisions").fetchone()[0] == 2
    assert tab.undo_button.isEnabled()
    last = tab.current()
    qtbot.keyClick(tab.table, Qt.Key.Key_2)  # a correction: waits for the new model
    assert category(shop, last["sku"]) == last["suggestions"][1]["category"] and tab.table.rowCount() == 0
    assert not tab.learner.running and "when Train has finished" in tab.message.text()
    photo = tmp_path / "dropped.png"
    _square(RGB["Mugs"], np.random.default_rng(8)).save(photo)
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(photo))])
    tab.dropEvent(QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, data, Qt.MouseButton.NoButton,
                             Qt.KeyboardModifier.NoModifier))
    assert tab.runner.running and tab._job == "train"  # Train goes on
    assert "not imported: Train is still running" in tab.message.text()
    assert shop.db.conn.execute("SELECT count(*) FROM products WHERE sku = 'dropped'").fetchone()[0] == 0
    with qtbot.waitSignal(tab.runner.finished, timeout=60_000):
        gate.set()
    qtbot.waitUntil(lambda: not tab.learner.running and not tab._to_learn, timeout=20_000)
    assert "Trained on 15 products" in tab.message.text()  # the three decided during Train were labels then
    from shopai.categorize.models import load_bundle

    assert last["suggestions"][1]["category"] in load_bundle(shop.db_path).classes
    tab.shutdown()


def test_big_photos_are_read_scaled(qtbot, shop, tmp_path):
    """Thumbnails and the preview are decoded scaled down, so a photo over Qt's allocation limit shows."""
    from PIL import Image
    from PySide6.QtGui import QImageReader

    from shopai_ui.tabs.categorize import CategorizeTab

    big = tmp_path / "big.jpg"
    Image.new("RGB", (1600, 1200), (200, 30, 30)).save(big)  # 7.7 MB decoded, over the 1 MB limit below
    shop.db.conn.execute("UPDATE products SET image_path = ? WHERE sku = 'U1'", (str(big),))
    limit = QImageReader.allocationLimit()
    QImageReader.setAllocationLimit(1)
    try:
        tab = CategorizeTab(shop)
        qtbot.addWidget(tab)
        tab.show()
        r = [row["sku"] for row in tab.rows].index("U1")
        assert not tab.table.item(r, 0).icon().isNull()
        tab.table.selectRow(r)
        assert tab.photo.pixmap() is not None and not tab.photo.pixmap().isNull()
        assert tab.photo.text() == ""
    finally:
        QImageReader.setAllocationLimit(limit)
    tab.shutdown()


def test_fix_box_offers_and_asks_before_a_new_category(qtbot, shop, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from shopai_ui.tabs.categorize import CategorizeTab

    shop.db.conn.execute("INSERT INTO products (sku, title, category) VALUES ('M1', 'whole milk', 'Milk')")
    tab = CategorizeTab(shop)
    qtbot.addWidget(tab)
    tab.show()
    milk = tab.offers("milk")
    assert milk[0] == "Milk" and len({m.casefold() for m in milk}) == len(milk) > 2  # shop first, no doubles
    assert "Non-Dairy Milk" in milk
    zh = tab.offers("水果")
    assert zh and all(any("\u4e00" <= ch <= "\u9fff" for ch in name) for name in zh)
    tab.fix_box.lineEdit().setText("")
    qtbot.keyClicks(tab.fix_box.lineEdit(), "scarv")
    assert tab._offer_model.stringList()[0] == "Scarves"
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.No)
    row = tab.current()
    tab.fix_box.setEditText("Brand new thing")
    tab.fix_typed()
    assert category(shop, row["sku"]) is None and "new category" in asked[0]
    tab.fix_box.setEditText("mugs")  # the shop's category, whatever the case: no question
    tab.fix_typed()
    assert category(shop, row["sku"]) == "Mugs" and len(asked) == 1
    qtbot.waitUntil(lambda: not tab.learner.running, timeout=20_000)
    row = tab.current()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    tab.fix_box.setEditText("Brand new thing")
    tab.fix_typed()
    assert category(shop, row["sku"]) == "Brand new thing"
    qtbot.waitUntil(lambda: not tab.learner.running, timeout=20_000)
    tab.shutdown()


def test_threshold_recolours_and_an_empty_batch_records_nothing(qtbot, shop):
    from shopai_ui.tabs.categorize import CategorizeTab

    tab = CategorizeTab(shop)
    qtbot.addWidget(tab)
    green = lambda: tab.table.item(0, 1).foreground().color() == Qt.GlobalColor.darkGreen  # noqa: E731
    tab.threshold.setValue(0.5)
    assert green()
    tab.threshold.setValue(1.0)
    assert not green()
    assert "photo alone" in tab.model_label.text()
    tab.threshold.setValue(0.5)
    tab.batch_accept()
    accepted = 3 - tab.table.rowCount()
    shop.db.conn.execute("UPDATE categorize_suggestions SET confidence = 0.6 WHERE status = 'pending'")
    tab.threshold.setValue(1.0)
    tab.batch_accept()
    assert "nothing was accepted" in tab.message.text()
    tab.undo()  # takes back the first batch, as nothing was recorded since
    assert "Undone (%d products)" % accepted in tab.message.text() and tab.table.rowCount() == 3
    tab.shutdown()


def test_import_message_names_every_kind_of_problem(qtbot, shop, tmp_path):
    from shopai_ui.tabs.categorize import CategorizeTab

    tab = CategorizeTab(shop)
    qtbot.addWidget(tab)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(9):
        (inbox / f"zero{i}.jpg").write_bytes(b"")
    (inbox / "notes.txt").write_text("not a photo")
    _square(RGB["Mugs"], np.random.default_rng(3)).save(inbox / "new-mug.png")
    with qtbot.waitSignal(tab.runner.finished, timeout=60_000):
        tab.import_paths([str(inbox)])
    text = tab.message.text()
    assert "notes.txt" in text and "(and 2 more)" in text, text
    tab.shutdown()


def test_the_model_line_is_one_line_in_a_small_window(qtbot, ctx):
    """Beside the buttons the model's line was squeezed onto three lines at 1024 px; under them it has the
    tab's width."""
    import json

    from shopai.categorize.models import META, model_dir
    from shopai_ui.tabs.categorize import CategorizeTab

    tab = CategorizeTab(ctx)
    qtbot.addWidget(tab)
    tab.resize(1004, 700)  # the tab inside a 1024x768 window
    tab.show()
    qtbot.waitExposed(tab)
    label = tab.model_label

    def one_line() -> bool:
        return (label.fontMetrics().horizontalAdvance(label.text()) <= label.contentsRect().width()
                and label.height() < 2 * label.fontMetrics().lineSpacing())

    assert label.text().startswith("No model yet") and one_line(), label.size()
    meta = {"trained_at": "2024-05-01T10:00:00", "classes": [f"Category {i}" for i in range(12)],
            "holdout_accuracy": 0.91, "holdout_photo_accuracy": 0.45, "holdout_photos": 30, "photos": 120,
            "per_category": {"Category 0": {"n": 3, "correct": 2}}}
    folder = model_dir(ctx.db_path)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / META).write_text(json.dumps(meta), "utf-8")
    tab.refresh()
    qtbot.wait(20)
    assert "(photo alone: 45% of 30 held-out photos)" in label.text() and one_line(), label.size()
    tab.shutdown()


def test_refresh_fills_the_queue_with_its_columns_measured_once(qtbot, shop, monkeypatch):
    # Filled with the suggestion columns ResizeToContents, a 500-row queue took 15 s to show (Qt measured the
    # columns again after every cell); the columns are Interactive while filling and fit the text after.
    from PySide6.QtWidgets import QHeaderView

    import shopai_ui.tabs.categorize as categorize

    tab = categorize.CategorizeTab(shop)
    qtbot.addWidget(tab)
    tab.show()
    header = tab.table.horizontalHeader()
    modes_while_filling = set()
    fill_row = categorize.CategorizeTab._fill_row

    def spy(self, r, row):
        modes_while_filling.update(header.sectionResizeMode(c) for c in range(1, 4))
        fill_row(self, r, row)

    monkeypatch.setattr(categorize.CategorizeTab, "_fill_row", spy)
    tab.refresh()
    assert tab.table.rowCount() == 3
    assert modes_while_filling == {QHeaderView.ResizeMode.Interactive}
    assert all(header.sectionResizeMode(c) == QHeaderView.ResizeMode.ResizeToContents for c in range(1, 4))
    assert tab.table.updatesEnabled()
    longest = max(tab.table.fontMetrics().horizontalAdvance(tab.table.item(r, 1).text()) for r in range(3))
    assert tab.table.columnWidth(1) >= longest
    tab.shutdown()


def _train_held_after_reading(monkeypatch):
    """Train that reads the labels (its first step, as always), then waits for the gate returned; it runs in
    the worker thread, as a local job cannot go to a child process."""
    import threading
    import time

    from shopai.categorize import train as train_mod
    from shopai.jobs import Progress

    real, gate = train_mod.train_job, threading.Event()

    def held_train(path, **kw):
        job = real(path, photo_epochs=2, photo_seconds=10, threads=1)
        yield next(job)  # before reading the labels
        yield next(job)  # the first step after
        while not gate.is_set():
            yield Progress(0, 1, "training")
            time.sleep(0.02)
        return (yield from job)

    monkeypatch.setattr(train_mod, "train_job", held_train)
    monkeypatch.setattr("shopai_ui.tabs.categorize.in_process", lambda func, *a, **kw: func(*a, **kw))
    return gate


def _start_train(qtbot, tab):
    """Train started, once it has read the labels."""
    with qtbot.waitSignal(tab.runner.progressed, check_params_cb=lambda p: bool(p.fraction), timeout=20_000):
        tab.train()


def test_a_correction_undone_while_train_runs_is_never_learnt(qtbot, shop, monkeypatch):
    """A fix made while Train runs waits for the new model; undone (Ctrl+Z) it is taken off the waiting list
    at once, so the new model never learns it. Fixed again, it is learnt once, and its undo takes it all out."""
    from shopai.categorize import review
    from shopai_ui.tabs.categorize import CategorizeTab

    gate = _train_held_after_reading(monkeypatch)
    tab = CategorizeTab(shop)
    qtbot.addWidget(tab)
    tab.show()
    row = tab.current()
    other = row["suggestions"][1]["category"]
    learn, before = review.learn_correction, []  # what the model said before each correction it learnt

    def spy(db, path, pid, cat):
        before.append(review.suggest_text(path, row["title"]))
        return learn(db, path, pid, cat)

    monkeypatch.setattr(review, "learn_correction", spy)
    _start_train(qtbot, tab)
    tab.table.setFocus()
    qtbot.keyClick(tab.table, Qt.Key.Key_2)
    assert category(shop, row["sku"]) == other and tab._to_learn == [(row["product_id"], other)]
    qtbot.keyClick(tab.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert category(shop, row["sku"]) is None and tab._to_learn == []
    assert "The new model will not learn that correction." in tab.message.text()
    assert "press Train again" not in tab.message.text()  # Train had read the labels before that fix
    tab.table.selectRow([r["sku"] for r in tab.rows].index(row["sku"]))
    qtbot.keyClick(tab.table, Qt.Key.Key_2)  # the same fix again
    with qtbot.waitSignal(tab.runner.finished, timeout=60_000):
        gate.set()
    qtbot.waitUntil(lambda: not tab.learner.running and not tab._to_learn, timeout=20_000)
    assert "Trained on 12 products" in tab.message.text() and len(before) == 1  # learnt once, not twice
    tab.undo()
    assert review.suggest_text(shop.db_path, row["title"]) == before[0]  # the new model as Train left it
    tab.shutdown()


def test_a_fix_from_before_train_undone_while_it_runs(qtbot, shop, monkeypatch):
    """A fix learnt before Train, undone while it runs: cancelled, Train leaves the model before in place, and
    the correction comes out of it. Train had read the fix as a label, so the model a finished Train makes
    knows it: the tab says so, at the undo and after, until another Train leaves it out."""
    from shopai.categorize import review
    from shopai_ui.tabs.categorize import CategorizeTab

    gate = _train_held_after_reading(monkeypatch)
    tab = CategorizeTab(shop)
    qtbot.addWidget(tab)
    tab.show()
    row = tab.current()
    before = review.suggest_text(shop.db_path, row["title"])
    tab.table.setFocus()
    qtbot.keyClick(tab.table, Qt.Key.Key_2)
    qtbot.waitUntil(lambda: not tab.learner.running, timeout=20_000)
    assert review.suggest_text(shop.db_path, row["title"]) != before  # learnt at once
    _start_train(qtbot, tab)
    tab.undo()
    assert category(shop, row["sku"]) is None
    assert f"Train had already read the category of {row['sku']}" in tab.message.text()
    tab.runner.cancel()
    assert review.suggest_text(shop.db_path, row["title"]) == before  # out of the model still in use
    assert "press Train again" not in tab.model_label.text()
    # the same, with Train finishing this time
    tab.table.selectRow([r["sku"] for r in tab.rows].index(row["sku"]))
    tab.table.setFocus()
    qtbot.keyClick(tab.table, Qt.Key.Key_2)
    qtbot.waitUntil(lambda: not tab.learner.running, timeout=20_000)
    _start_train(qtbot, tab)
    tab.undo()
    with qtbot.waitSignal(tab.runner.finished, timeout=60_000):
        gate.set()
    text = tab.message.text()
    assert "Trained on 13 products" in text and tab.message.kind == "error", text
    assert f"still learnt the category of {row['sku']}, undone while Train ran: press Train again" in text
    assert f"still learnt the category of {row['sku']}" in tab.model_label.text()
    assert row["sku"] in [r["sku"] for r in tab.rows]  # back in the queue, with the new model's suggestions
    reopened = CategorizeTab(shop)  # the app started again: the model line still says it
    qtbot.addWidget(reopened)
    assert f"still learnt the category of {row['sku']}" in reopened.model_label.text()
    reopened.shutdown()
    with qtbot.waitSignal(tab.runner.finished, timeout=60_000):
        tab.train()  # another Train leaves it out
    assert "Trained on 12 products" in tab.message.text() and tab.message.kind == "info"
    assert "still learnt" not in tab.model_label.text()
    tab.shutdown()


def test_undo_while_train_runs_names_what_train_may_have_read(qapp):
    from shopai_ui.tabs import categorize_messages as messages

    assert messages.read_by_train(["A1"], surely=False).startswith("Train may already have read the category of A1")
    many = messages.read_by_train([f"A{i}" for i in range(5)], surely=True)
    assert "categories of A0, A1, A2 (and 2 more)" in many and "leave them out" in many
    assert messages.still_learnt(["A1", "B2"]).startswith("This model has still learnt the categories of A1, B2")

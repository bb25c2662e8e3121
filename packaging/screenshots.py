"""Take a screenshot of every tab of the real app on a shop (run under Xvfb or offscreen).

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python packaging/screenshots.py OUT_DIR [--trained]

Each tab is shown in the real main window, given a moment to load, and grabbed to OUT_DIR/<tab>.png.
``--trained`` first makes a copy of the sample shop in a temporary folder as an owner would have it after a
while (the README's screenshots): a dozen products without a category, 54 grocery photos imported (MIT, see
``../shared/data/grocery/PROVENANCE.md``; 45 given their category: fruit, vegetables, dairy), every model
trained; Auto-categorize then shows a photo, and Voice search the search for a recorded "white hanging heart".
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--db", help="shop file (default: the sample shop)")
    parser.add_argument("--wait-ms", type=int, default=2500, help="time each tab gets to load")
    parser.add_argument("--trained", action="store_true", help="a trained copy of the sample shop (see above)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.trained:
        import tempfile

        args.db = trained_demo(Path(tempfile.mkdtemp(prefix="shopai-shots-")))

    from shopai_ui.app import ShopApp

    qapp = QApplication(sys.argv[:1])
    qapp.setApplicationName("ShopAI")
    qapp.setOrganizationName("ShopAI-screenshots")
    app = ShopApp(qapp)
    if args.db:
        app.open(args.db)
    else:
        app.open_sample()

    state = {"index": -1}

    def step() -> None:
        window = app.window
        if window is None:  # the sample shop is still being built
            QTimer.singleShot(500, step)
            return
        window.resize(1360, 860)
        if state["index"] >= 0:
            title = window.tabs.tabText(state["index"])
            name = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
            window.grab().save(str(args.out / f"{name}.png"))
            print(args.out / f"{name}.png", flush=True)
        state["index"] += 1
        if state["index"] >= window.tabs.count():
            window.close()
            qapp.quit()
            return
        window.tabs.setCurrentIndex(state["index"])
        if args.trained:
            QTimer.singleShot(args.wait_ms // 2, lambda: _show_off(window.tabs.currentWidget()))
        QTimer.singleShot(args.wait_ms, step)

    QTimer.singleShot(500, step)
    return qapp.exec()


GROCERY = Path(__file__).resolve().parents[2] / "shared" / "data" / "grocery"
DEMO_PHOTOS = {"Fresh fruit": ("Banana", "Golden-Delicious", "Orange"),
               "Vegetables": ("Carrots", "Regular-Tomato", "Yellow-Onion"),
               "Dairy": ("Arla-Standard-Milk", "Arla-Natural-Yoghurt", "Arla-Medium-Fat-Milk")}
VOICE_QUERY = Path(__file__).resolve().parents[1] / "tests" / "data" / "voice" / "white_hanging_heart.wav"


def trained_demo(folder: Path) -> str:
    """The sample shop after a while of use (see the module's docstring); returns its path."""
    import csv

    from shopai.categorize.review import import_photos_job
    from shopai.categorize.train import train_job as categorize_job
    from shopai.customers.train import train_job as customers_job
    from shopai.forecast.train import train_job as forecast_job
    from shopai.jobs import run_job
    from shopai.recommend.train import train_job as recommend_job
    from shopai.sample import build_sample_shop_job
    from shopai.store import open_store

    path = str(folder / "shop.sqlite")
    run_job(build_sample_shop_job(path))
    db = open_store(path)
    with db.conn:
        ids = [r[0] for r in db.conn.execute("SELECT id FROM products ORDER BY sku")][5::31][:12]
        db.conn.executemany("UPDATE products SET category = NULL WHERE id = ?", [(i,) for i in ids])
    with open(GROCERY / "labels.csv", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "train"]
    photos, category_of = [], {}
    for category, kinds in DEMO_PHOTOS.items():
        for kind in kinds:
            for r in [r for r in rows if r["fine_class"] == kind][:6]:
                photos.append(str(GROCERY / r["image"]))
                category_of[Path(r["image"]).stem] = category
    run_job(import_photos_job(path, photos))
    with db.conn:  # five of each kind get their category: the sixth waits in the review queue
        for i, (stem, category) in enumerate(category_of.items()):
            if i % 6 != 5:
                db.conn.execute("UPDATE products SET category = ? WHERE sku = ?", (category, stem))
    db.conn.close()
    for job in (customers_job(path), recommend_job(path), forecast_job(path), categorize_job(path)):
        run_job(job)
    return path


def _show_off(tab) -> None:
    """What the README's screenshot of a tab shows beyond its first look."""
    name = type(tab).__name__
    if name == "CategorizeTab":  # a product with a photo, to show its photo and look-alikes
        row = next((r for r, item in enumerate(tab.rows) if item.get("image_path")), None)
        if row is not None:
            tab.table.selectRow(row)
    elif name == "VoiceTab" and VOICE_QUERY.exists():
        tab.search_file(str(VOICE_QUERY))


if __name__ == "__main__":
    sys.exit(main())

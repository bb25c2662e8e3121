"""How long the window is busy filling two lists: the Auto-categorize review queue and the import dialog's problems.

- **Review queue** (500 rows, the most the tab shows): ``CategorizeTab.refresh`` as it is (its suggestion
  columns ResizeToContents, measured once after filling, ``shopai_ui.widgets.tables.filling``) against the same
  refresh with Qt measuring them while filling (``filling`` replaced by a no-op: the code before the fix).
- **Problems list** of a dry run with one problem on each of ``--problems`` rows (a re-import of the whole
  540,000-line UCI log): the GUI thread's share as it is (the worker counts and groups, the dialog lists
  1,000) against the dialog sorting out and grouping all of them itself, one regex each, then listing 1,000
  (the code before the fix, copied here).

GUI-thread seconds, best of ``--repeat``; offscreen Qt. The last line is ``verdict: met`` when each list fills
in under TARGET_S (0.1 s: the window answers without a visible pause), else ``verdict: missed: <which>``.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/ui_fill_bench.py
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
import time

TARGET_S = 0.1

def _queue_shop(folder: str, n: int):
    from PIL import Image

    from shopai_ui.context import ShopContext

    ctx = ShopContext(os.path.join(folder, "shop.sqlite"))
    photo = os.path.join(folder, "photo.png")
    Image.new("RGB", (160, 160), (200, 40, 40)).save(photo)
    cats = ["Home & Garden > Kitchen & Dining > Tableware > Drinkware > Mugs",
            "Apparel & Accessories > Clothing Accessories > Scarves & Shawls", "Toys & Games > Toys > Dolls"]
    with ctx.db.conn:
        for i in range(n):
            ctx.db.conn.execute("INSERT INTO products (sku, title, image_path) VALUES (?, ?, ?)",
                                (f"S{i}", f"Product number {i} with a title of usual length", photo))
            top = [{"category": cats[(i + k) % 3] + " (x)" * (i % 5), "confidence": 0.9 - 0.2 * k} for k in range(3)]
            ctx.db.conn.execute(
                "INSERT INTO categorize_suggestions (product_id, suggestions_json, top_category, confidence, created_at) "
                "VALUES (?, ?, ?, ?, '2026-12-02')", (i + 1, json.dumps(top), top[0]["category"], 0.9 - i / (2 * n)))
    return ctx


def bench_queue(app, rows: int, repeat: int) -> tuple[float, float]:
    import shopai_ui.tabs.categorize as categorize

    with tempfile.TemporaryDirectory() as folder:
        ctx = _queue_shop(folder, rows)
        tab = categorize.CategorizeTab(ctx)
        tab.resize(1200, 800)
        tab.show()
        app.processEvents()
        times = {}
        real = categorize.filling
        for name, fill in (("ours", real), ("while", lambda table: contextlib.nullcontext())):
            categorize.filling = fill
            best = float("inf")
            for _ in range(repeat):
                t0 = time.perf_counter()
                tab.refresh()
                app.processEvents()
                best = min(best, time.perf_counter() - t0)
            assert tab.table.rowCount() == min(rows, categorize.MAX_ROWS)
            times[name] = best
        categorize.filling = real
        tab.shutdown()
        ctx.close()
    return times["ours"], times["while"]


def _fill_before(dialog, problems) -> None:
    """What the dialog did on the GUI thread before the fix: sort out and group every problem (one regex each),
    then list 1,000."""
    from shopai.io.problems import ID_LIKE
    from shopai_ui import import_dialog

    dialog.problems.clear()
    skipped = [p for p in problems if p.skipped]
    notes = [p for p in problems if not p.skipped]
    by_reason: dict[str, int] = {}
    for p in problems:
        reason = ID_LIKE.sub("…", p.message)
        by_reason[reason] = by_reason.get(reason, 0) + 1
    sorted(by_reason.items(), key=lambda kv: -kv[1])[:3]
    for p in (skipped + notes)[:import_dialog.MAX_LISTED_PROBLEMS]:
        dialog.problems.addItem(f"Row {p.row}: {p.message}")


def bench_problems(app, n: int, repeat: int) -> tuple[float, float]:
    from shopai.io.sniff import RowProblem
    from shopai_ui import import_dialog
    from shopai_ui.context import ShopContext

    problems = [RowProblem(row=i + 2, message=f"order {536365 + i // 20} is already in the shop", skipped=True)
                for i in range(n)]
    with tempfile.TemporaryDirectory() as folder:
        ctx = ShopContext(os.path.join(folder, "shop.sqlite"))
        dialog = import_dialog.ImportDialog(ctx)
        dialog.preview = object()
        ours = old = float("inf")
        for _ in range(repeat):
            summary = import_dialog.summarise_problems(problems, import_dialog.MAX_LISTED_PROBLEMS)  # in the worker
            t0 = time.perf_counter()
            dialog._fill_problems(summary, problems)
            app.processEvents()
            ours = min(ours, time.perf_counter() - t0)
            assert dialog.problems.count() == import_dialog.MAX_LISTED_PROBLEMS + 1  # and "… and N more"
            t0 = time.perf_counter()
            _fill_before(dialog, problems)
            app.processEvents()
            old = min(old, time.perf_counter() - t0)
        dialog.runner.shutdown()
        dialog.deleteLater()
        ctx.close()
    return ours, old


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--problems", type=int, default=540_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    rows = [("review queue refresh", f"{args.rows:,} rows", *bench_queue(app, args.rows, args.repeat)),
            ("problems list", f"{args.problems:,} problems", *bench_problems(app, args.problems, args.repeat))]
    print(f"{'list':<22} {'size':>18} {'ours s':>8} {'before s':>9} {'before/ours':>12}")
    for name, size, ours, before in rows:
        print(f"{name:<22} {size:>18} {ours:>8.3f} {before:>9.3f} {before / ours:>11.0f}×")
    missed = [f"{name} {ours:.2f} s ≥ {TARGET_S} s" for name, _size, ours, _before in rows if ours >= TARGET_S]
    print("verdict: met" if not missed else "verdict: missed: " + "; ".join(missed))


if __name__ == "__main__":
    main()

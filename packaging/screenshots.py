"""Take a screenshot of every tab of the real app on a shop (run under Xvfb or offscreen).

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python packaging/screenshots.py --demo OUT_DIR

Each tab is shown in the real main window, given a moment to load, and grabbed to OUT_DIR/<tab>.png.
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
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

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
        QTimer.singleShot(args.wait_ms, step)

    QTimer.singleShot(500, step)
    return qapp.exec()


if __name__ == "__main__":
    sys.exit(main())

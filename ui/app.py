"""``shopai``: start the desktop app.

``shopai`` opens the shop in the user data folder (a welcome screen on first run),
``shopai --demo`` the built-in sample shop, ``shopai --db PATH`` any shop file.
"""
from __future__ import annotations

import time

_T0 = time.perf_counter()

import argparse  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from shopai.jobs import Progress, UserError  # noqa: E402
from shopai.paths import default_db_path, log_dir, read_only_reason  # noqa: E402
from shopai_ui.welcome import should_show_welcome  # noqa: E402

log = logging.getLogger(__name__)
SAMPLE = "::sample::"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="shopai", description="ShopAI desktop app")
    parser.add_argument("--db", metavar="PATH", help="open this shop file")
    parser.add_argument("--demo", action="store_true", help="open the built-in sample shop")
    parser.add_argument("--quit-after-shown", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _log_beside(db_path) -> None:
    """Log into the shop's ``logs`` folder (the user data folder's when that can't be written)."""
    from shopai_ui.errors import setup_logging

    try:
        setup_logging(log_dir(db_path))
    except OSError as exc:  # no folder at all can be written: keep the log as it is rather than fail
        log.warning("no log file beside %s: %s", db_path, exc)


class ShopApp:
    """Owns the one main window and opens shops in it."""

    def __init__(self, qapp: QApplication) -> None:
        self.qapp = qapp
        self.window = None
        self.ctx = None
        self._runner = None

    def open(self, path: str) -> bool:
        from shopai_ui.context import ShopContext
        from shopai_ui.errors import log_file
        from shopai_ui.main_window import MainWindow

        if path == SAMPLE:
            self.open_sample()
            return True
        from shopai_ui.backup_actions import check_and_recover

        if log_file() is None:  # nothing open yet: log the checks in the user data folder
            _log_beside(default_db_path())
        read_only = read_only_reason(path)
        if read_only is not None:  # SQLite and ShopAI write beside the file at every change: say so now
            log.warning("not opening %s: %s", path, read_only)
            QMessageBox.warning(self.window, "ShopAI", QApplication.translate("app", (
                "This shop can't be opened: {0}.\n\n{1}\n\nShopAI saves every change straight into the shop "
                "and keeps its backups beside it, so it needs to write there. Copy the shop's folder somewhere "
                "you can write to (for example your Documents folder) and open the copy.")).format(read_only, path))
            return False
        if not check_and_recover(self.window, path):  # damaged shop: restore offered, or left alone
            return False
        try:
            ctx = ShopContext(path)
        except Exception as exc:  # damaged file, newer schema, unreadable folder
            log.exception("could not open %s", path)
            QMessageBox.critical(self.window, "ShopAI", f"This shop could not be opened:\n{path}\n\n{exc}")
            return False
        _log_beside(path)  # only now: a failed open leaves logging on the shop still open
        old_window, old_ctx = self.window, self.ctx
        self.ctx, self.window = ctx, MainWindow(ctx)
        self.window.shopRequested.connect(self.open)
        if old_window is not None:
            self.window.restoreGeometry(old_window.saveGeometry())
            old_window.close()
            old_ctx.close()
        self.window.show()
        log.info("opened %s", path)
        return True

    def open_sample(self) -> None:
        """Open the sample shop, building it in the background the first time."""
        from PySide6.QtWidgets import QProgressDialog

        from shopai import sample
        from shopai_ui.worker import JobRunner

        path = sample.sample_shop_path()
        if sample.is_built(path):
            self.open(str(path))
            return
        dialog = QProgressDialog("Building the sample shop from real order history…", "Cancel", 0, 1000,
                                 self.window)
        dialog.setWindowTitle("ShopAI")
        dialog.setMinimumDuration(0)
        self._runner = runner = JobRunner()

        def progressed(p: Progress) -> None:
            if p.fraction is not None:
                dialog.setValue(int(p.fraction * 1000))
            dialog.setLabelText(p.message or dialog.labelText())

        def done(result: object) -> None:
            dialog.close()
            self.open(str(result))

        def failed(message: str) -> None:
            dialog.close()
            QMessageBox.warning(self.window, "ShopAI", message)

        runner.progressed.connect(progressed)
        dialog.canceled.connect(runner.request_cancel)  # too late once the shop is being put in place: it opens
        runner.start(lambda: sample.build_sample_shop_job(path), on_result=done, on_error=failed)
        dialog.show()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from shopai_ui.errors import install_excepthook

    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    qapp.setApplicationName("ShopAI")
    qapp.setOrganizationName("ShopAI")
    qapp.setApplicationDisplayName("ShopAI")
    from shopai_ui.icons import app_icon

    qapp.setWindowIcon(app_icon())
    install_excepthook()
    app = ShopApp(qapp)
    if args.demo:
        app.open_sample()
    elif not args.db and not args.quit_after_shown and should_show_welcome(default_db_path()):
        from shopai_ui.welcome import WelcomeDialog, ask_how_to_start

        choice = ask_how_to_start(None, default_db_path())
        if choice is None:
            return 0
        if choice == WelcomeDialog.SAMPLE:
            app.open_sample()
        elif not app.open(str(default_db_path())):
            return 2
        elif choice == WelcomeDialog.IMPORT:
            app.window.import_file(kind="catalog")
    else:
        try:
            ok = app.open(str(args.db or default_db_path()))
        except UserError as exc:
            QMessageBox.warning(None, "ShopAI", str(exc))
            ok = False
        if not ok:
            return 2
    if args.quit_after_shown:
        def report() -> None:
            torch_loaded = "torch" in sys.modules
            print(f"shown_after_s={time.perf_counter() - _T0:.3f} torch_imported={torch_loaded}", flush=True)
            qapp.quit()

        QTimer.singleShot(0, report)
    code = qapp.exec()
    from shopai_ui.worker import shutdown_all

    if app.window is not None:
        app.window.shutdown()
    shutdown_all()
    return code


if __name__ == "__main__":
    sys.exit(main())

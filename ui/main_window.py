"""The main window: a tab per capability, menus, drag-and-drop of CSV files, status bar.

The window wires tabs to the shared ShopContext; it holds no feature logic of its own.
"""
from __future__ import annotations

import importlib
import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QTabWidget, QWidget

from shopai.store import orders as order_queries
from shopai_ui.context import ShopContext
from shopai_ui.tabs import TABS
from shopai_ui.widgets.progress import ProgressPanel
from shopai_ui.widgets.wording import count
from shopai_ui.worker import JobRunner

log = logging.getLogger(__name__)
TABLE_SUFFIXES = {".csv", ".tsv", ".txt"}


def load_tab(spec: str, ctx: ShopContext) -> QWidget:
    """Build one tab from its "module:Class" spec."""
    module_name, _, class_name = spec.partition(":")
    return getattr(importlib.import_module(module_name), class_name)(ctx)


def window_title(db_path: str) -> str:
    """Just "ShopAI" for the shop in the user data folder; else its file name (its folder's for a shop.sqlite)."""
    from shopai.paths import DB_FILENAME, default_db_path

    path = Path(db_path).resolve()
    if path == default_db_path().resolve():
        return "ShopAI"
    return f"ShopAI — {path.parent.name if path.name == DB_FILENAME else path.name}"


def _export_job(what: str, db_path: str, path: str):
    """``export_{what}_job`` over the shop at ``db_path`` (its own connection, in the worker thread); a file
    that can't be written is a UserError (``export.CannotWrite``), its reason in plain words."""
    from shopai.io import export

    return (yield from getattr(export, f"export_{what}_job")(db_path, path))


class MainWindow(QMainWindow):
    """One open shop. ``shopRequested(path)`` asks the application to open another shop."""

    shopRequested = Signal(str)

    def __init__(self, ctx: ShopContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(window_title(ctx.db_path))
        self.setAcceptDrops(True)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        # Tabs are built when first shown, so start-up costs only the first tab (and its imports).
        self.tab_widgets: dict[str, QWidget] = {}
        self._tab_specs = list(TABS)
        for title, _spec in self._tab_specs:
            self.tabs.addTab(QWidget(), self.tr(title))
        self.tabs.currentChanged.connect(self._ensure_tab)
        # File ▸ Export … runs here, in the background: progress and Cancel in the status bar
        self.export_runner = JobRunner(self)
        self.export_progress = ProgressPanel(self.export_runner, self)
        self.statusBar().addPermanentWidget(self.export_progress)
        self._counts = QLabel()
        self.statusBar().addPermanentWidget(self._counts)
        ctx.set_status_sink(lambda text: self.statusBar().showMessage(text, 8000))
        ctx.dataChanged.connect(self._update_counts)
        ctx.productRequested.connect(self.show_product)
        ctx.customerRequested.connect(self.show_customer)
        ctx.forecastRequested.connect(self.show_forecast)
        ctx.recommendationsRequested.connect(self.show_recommendations)
        self._build_menus()
        self._update_counts()
        self._restore_geometry()
        self._ensure_tab(self.tabs.currentIndex())

    def _ensure_tab(self, index: int) -> QWidget | None:
        """Build the tab at ``index`` if it hasn't been built yet; returns it."""
        if not 0 <= index < len(self._tab_specs):
            return None
        title, spec = self._tab_specs[index]
        if title in self.tab_widgets:
            return self.tab_widgets[title]
        try:
            widget = load_tab(spec, self.ctx)
        except Exception as exc:  # one broken tab must not keep the shop from opening
            log.exception("tab %s failed to load", title)
            widget = QLabel(self.tr("This tab could not be opened: {0}").format(exc))
            widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.tab_widgets[title] = widget
        self._add_mic_button(widget)
        self.tabs.blockSignals(True)
        current = self.tabs.currentIndex()
        placeholder = self.tabs.widget(index)
        self.tabs.removeTab(index)
        self.tabs.insertTab(index, widget, self.tr(title))
        self.tabs.setCurrentIndex(current)
        self.tabs.blockSignals(False)
        placeholder.deleteLater()
        return widget

    def _add_mic_button(self, widget: QWidget) -> None:
        """A tab with a search bar (the Catalog) gets the voice tab's press-and-hold mic beside it."""
        layout = getattr(widget, "search_bar_layout", None)
        if layout is None:
            return
        from shopai_ui.tabs.voice import MicButton

        widget.mic_button = MicButton(self.ctx, widget.set_search_text)
        layout.insertWidget(getattr(widget, "mic_slot_index", 1), widget.mic_button)

    def tab(self, title: str) -> QWidget | None:
        """The tab called ``title``, built now if needed."""
        for index, (name, _spec) in enumerate(self._tab_specs):
            if name == title:
                return self._ensure_tab(index)
        return None

    # --- menus ---
    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu(self.tr("&File"))
        self._action(file_menu, self.tr("&Open shop…"), self.open_shop, QKeySequence.StandardKey.Open)
        self._action(file_menu, self.tr("New &empty shop…"), self.new_shop, "Ctrl+Shift+N")
        self._action(file_menu, self.tr("Open &sample shop"), self.open_sample_shop)
        file_menu.addSeparator()
        self._action(file_menu, self.tr("&Import catalog…"), lambda: self.import_file(kind="catalog"), "Ctrl+I")
        self._action(file_menu, self.tr("Import &orders…"), lambda: self.import_file(kind="orders"), "Ctrl+Shift+I")
        self._action(file_menu, self.tr("&Past imports…"), self.show_imports)
        self._export_actions = [
            self._action(file_menu, self.tr("&Export catalog…"), lambda: self.export_file("catalog"), "Ctrl+E"),
            self._action(file_menu, self.tr("Export o&rders…"), lambda: self.export_file("orders"))]
        for action in self._export_actions:  # one export at a time: the menu waits for the one running
            self.export_runner.started.connect(lambda a=action: a.setEnabled(False))
            self.export_runner.finished.connect(lambda a=action: a.setEnabled(True))
        file_menu.addSeparator()
        self._backup_menu_anchor = file_menu.addSeparator()
        from shopai_ui.backup_actions import add_backup_actions

        add_backup_actions(self, file_menu, lambda: self.ctx, before=self._backup_menu_anchor)
        self._action(file_menu, self.tr("&Quit"), self.close, QKeySequence.StandardKey.Quit)
        self.file_menu = file_menu

        help_menu = self.menuBar().addMenu(self.tr("&Help"))
        self._action(help_menu, self.tr("Open the shop's &folder"), self.open_data_folder)
        self._action(help_menu, self.tr("Show the &log file"), self.open_log)
        self._action(help_menu, self.tr("&About ShopAI"), self.about)

    # --- shop switching ---
    def open_shop(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Open shop"), str(Path(self.ctx.db_path).parent),
                                              self.tr("ShopAI shops (*.sqlite *.db);;All files (*)"))
        if path:
            self.shopRequested.emit(path)

    def new_shop(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose an empty folder for the new shop"))
        if folder:
            self.shopRequested.emit(str(Path(folder) / "shop.sqlite"))

    def open_sample_shop(self) -> None:
        self.shopRequested.emit("::sample::")

    # --- import / export ---
    def import_file(self, path: str | None = None, kind: str | None = None) -> None:
        from shopai_ui.import_dialog import open_import_dialog

        open_import_dialog(self.ctx, self, path=path, kind=kind)

    def show_imports(self) -> QWidget:
        """File ▸ Past imports…: the shop's imports, to undo one found wrong later (non-modal)."""
        from shopai_ui.imports_dialog import ImportsDialog

        dialog = ImportsDialog(self.ctx, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def export_file(self, what: str) -> None:
        """Ask where, then write the catalog or the orders there in the background (progress and Cancel in
        the status bar). The file appears only once complete; a cancelled export leaves nothing behind."""
        if self.export_runner.running:
            self.ctx.show_status(self.tr("An export is still running: wait for it, or cancel it first."))
            return
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export {0}").format(what),
                                              str(Path.home() / f"{what}.csv"), self.tr("CSV files (*.csv)"))
        if not path:
            return
        db_path = self.ctx.db_path

        def done(n: int) -> None:
            rows = self.tr("1 row") if n == 1 else self.tr("{0:,} rows").format(n)
            self.ctx.show_status(self.tr("Exported {0} to {1}").format(rows, path))

        def failed(reason: str) -> None:
            QMessageBox.warning(self, self.tr("Export"), self.tr("Could not write {0}: {1}").format(path, reason))

        self.export_runner.start(lambda: _export_job(what, db_path, path), on_result=done, on_error=failed)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        # Any file is let in, so that dropping one that can't be used gets a word instead of nothing.
        if any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        for url in urls:
            if Path(url.toLocalFile()).suffix.lower() in TABLE_SUFFIXES:
                event.acceptProposedAction()
                self.import_file(path=url.toLocalFile())
                return
        if urls:
            event.acceptProposedAction()
            self.ctx.show_status(self.tr(
                "{0} can't be dropped here: drop a CSV file to import it. Photos go in with Import photos… on "
                "the Auto-categorize tab.").format(Path(urls[0].toLocalFile()).name))

    # --- help ---
    def open_data_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(self.ctx.db_path).parent)))

    def open_log(self) -> None:
        from shopai_ui.errors import log_file

        path = log_file()
        if path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    def about(self) -> None:
        from shopai import __version__

        QMessageBox.about(self, self.tr("About ShopAI"), self.tr(
            "<b>ShopAI {0}</b><p>AI tools for a small shop, running entirely on your own computer.</p>"
            "<p>Shop file: {1}</p>").format(__version__, self.ctx.db_path))

    # --- state ---
    def _open_in(self, tab_class: str, method: str, *args, **kwargs) -> None:
        """Switch to the tab of ``tab_class`` (built if it was not yet) and call its ``method`` (a tab that
        failed to build has none: it just shows why)."""
        index = next(i for i, (_title, spec) in enumerate(self._tab_specs) if spec.endswith(":" + tab_class))
        self.tabs.setCurrentIndex(index)
        act = getattr(self._ensure_tab(index), method, None)
        if callable(act):
            act(*args, **kwargs)

    def show_product(self, product_id: int) -> None:
        """Switch to the Catalog and show this product there (selected, its details on the right)."""
        self._open_in("CatalogTab", "reveal", product_id)

    def show_forecast(self, sku: str) -> None:
        """Switch to Price forecast, forecasting this product."""
        self._open_in("ForecastTab", "select", sku=sku)

    def show_recommendations(self, sku: str) -> None:
        """Switch to Recommendations, showing what is bought with this product."""
        self._open_in("RecommendTab", "select_product", sku)

    def show_customer(self, customer_id: int) -> None:
        """Switch to Orders, showing only this customer's orders."""
        self._open_in("OrdersTab", "filter_by_customer", customer_id)

    def _update_counts(self, _tables: object = None) -> None:
        counts = order_queries.stats(self.ctx.db)
        self._counts.setText(" · ".join([
            count(counts["products"], self.tr("{0:,} product"), self.tr("{0:,} products")),
            count(counts["customers"], self.tr("{0:,} customer"), self.tr("{0:,} customers")),
            count(counts["orders"], self.tr("{0:,} order"), self.tr("{0:,} orders"))]))

    def _restore_geometry(self) -> None:
        settings = QSettings()
        geometry = settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        index = settings.value("window/tab", 0, type=int)
        if 0 <= index < self.tabs.count():
            self.tabs.setCurrentIndex(index)

    def shutdown(self) -> None:
        """Stop every tab's background work and wait for it."""
        self.export_runner.cancel()  # the export's worker removes its unfinished file as it stops
        for widget in self.tab_widgets.values():
            stop = getattr(widget, "shutdown", None)
            if callable(stop):
                try:
                    stop()
                except Exception:
                    log.exception("tab shutdown failed")

    def closeEvent(self, event: QCloseEvent) -> None:
        settings = QSettings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/tab", self.tabs.currentIndex())
        self.shutdown()
        from shopai.safety.backup import on_close

        # the backup checks and copies the whole file (seconds on a big shop): the window goes first, so it is
        # not seen frozen on its way out
        self.hide()
        try:  # throttled, verified, rotating; a failed backup must never keep the window open
            on_close(self.ctx.db_path)
        except Exception:
            log.exception("backup on close failed")
        super().closeEvent(event)

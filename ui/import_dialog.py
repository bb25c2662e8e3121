"""The import dialog: choose a CSV, check how its columns map, see a dry run, import, undo.

Steps, all on one page so nothing is hidden: the file and its kind (guessed from the header), what
was detected (format, encoding, separator), a column per field (prefilled with the guess), the dry
run (sample rows and every row problem), then Import in the background with progress and Cancel
(cancel leaves the shop as it was), a summary and "Undo this import".

The preview reads the whole file, so it runs in the worker thread too, as a job that can be cancelled
(it takes seconds on a 500,000-line log). The problems are counted and grouped there as well, and the
dialog lists only the first MAX_LISTED_PROBLEMS of them (a re-import of a 540,000-line log has a problem on
every line): the counts stay exact, a last line says how many more, and "Save the list…" writes every one
to a CSV file (in the background too).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox, QDialog, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPushButton,
    QScrollArea, QSplitter, QVBoxLayout, QWidget,
)

from shopai.io.problems import ProblemSummary, summarise_problems
from shopai.jobs import Progress
from shopai_ui.context import ShopContext
from shopai_ui.widgets.dry_run import ProblemsPanel, SampleTable
from shopai_ui.widgets.message import MessageBar
from shopai_ui.import_undo import CHANGED_TABLES, undo_job, undone_text
from shopai_ui.widgets.progress import ProgressPanel
from shopai_ui.widgets.wording import count
from shopai_ui.worker import JobRunner

KIND_LABELS = {"catalog": "Catalog (products)", "orders": "Orders (sales)"}
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
ENCODINGS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "utf-16": "UTF-16", "utf-16-le": "UTF-16 LE",
             "utf-16-be": "UTF-16 BE", "gbk": "GBK (Chinese)", "cp1252": "Windows-1252", "latin-1": "Latin-1"}
FORMATS = {"generic": "a spreadsheet (columns guessed)", "shopify": "Shopify export",
           "woocommerce": "WooCommerce export", "square": "Square export"}
NOT_MAPPED = "—"
MAX_LISTED_PROBLEMS = 1000
REPREVIEW_MS = 250
DETAIL_LABELS = {"order_lines": "order lines", "orders": "orders", "updated_orders": "orders updated",
                 "customers": "new customers",
                 "products": "new products named by the log", "price_changes": "price changes recorded",
                 "cancelled_orders": "cancelled orders", "returned_orders": "returns",
                 "unchanged": "rows already up to date"}


def _with_summary(job):
    """``job``'s result and the summary of its problems, both made in the worker thread."""
    result = yield from job
    return result, summarise_problems(result.problems, MAX_LISTED_PROBLEMS)


def _preview_job(db_path: str, path: str, kind: str | None, mapping: dict[str, str | None] | None):
    """The dry run as a job: guess the kind if needed, then ``shopai.io.preview`` on this thread's connection.
    Returns the preview and the summary of its problems."""
    return (yield from _with_summary(_checked_job(db_path, path, kind, mapping)))


def _checked_job(db_path: str, path: str, kind: str | None, mapping: dict[str, str | None] | None):
    from shopai import io
    from shopai.io.common import WrongKind
    from shopai.jobs import UserError
    from shopai.store import connect

    name = Path(path).name
    yield Progress(0, None, f"Reading {name}…")
    if kind is None:
        kind = io.guess_kind(path)
        if kind is None:
            raise UserError(f"Can't tell whether {name} holds products or orders: choose the kind above.")
    try:
        if hasattr(io, "preview_job"):  # step by step: progress, and Cancel stops it between steps
            return (yield from io.preview_job(db_path, path, kind, mapping))
    except WrongKind as exc:  # "orders.csv is a Shopify orders export, not a catalog: import it as orders."
        raise UserError(f"{exc.what}: choose “{KIND_LABELS.get(exc.kind, exc.kind)}” as the Kind above (or "
                        "“Guess from the file”).") from None
    db = connect(db_path)
    try:
        yield Progress(0, None, f"Checking every row of {name}…")
        return io.preview(db, path, kind, mapping)
    finally:
        db.conn.close()


def _field_label(field: str) -> str:
    from shopai.io import formats

    return formats.FIELD_LABELS.get(field, field)


class ImportDialog(QDialog):
    """Import a catalog or orders CSV. ``imported(report)`` after a successful import."""

    imported = Signal(object)

    def __init__(self, ctx: ShopContext, kind: str | None = None, path: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(self.tr("Import a CSV file"))
        self.preview = None  # the latest ImportPreview
        self.report = None  # the ImportReport once imported
        self.phase = "idle"  # idle | previewing | ready | importing | done | undoing | undone
        self._mapping_touched = False
        self._combos: dict[str, QComboBox] = {}
        self._combo_columns: tuple[str, tuple[str, ...]] | None = None

        self.runner = JobRunner(self)
        self.runner.finished.connect(self._on_runner_finished)

        # -- file and kind
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText(self.tr("Choose a CSV file, or drop one on the window"))
        self.path_edit.returnPressed.connect(lambda: self.set_path(self.path_edit.text()))
        choose = QPushButton(self.tr("&Choose…"))
        choose.clicked.connect(self._choose_file)
        self.kind_combo = QComboBox()
        self.kind_combo.addItem(self.tr("Guess from the file"), None)
        for key, label in KIND_LABELS.items():
            self.kind_combo.addItem(self.tr(label), key)
        if kind in KIND_LABELS:
            self.kind_combo.setCurrentIndex(self.kind_combo.findData(kind))
        self.kind_combo.currentIndexChanged.connect(self._on_kind_changed)
        self.detected = QLabel()
        self.detected.setWordWrap(True)
        self.detected.setStyleSheet("QLabel { color: #444; }")
        self.choose_button = choose
        top = QFormLayout()
        file_row = QHBoxLayout()
        file_row.addWidget(self.path_edit, 1)
        file_row.addWidget(choose)
        file_label = QLabel(self.tr("&File"))
        file_label.setBuddy(self.path_edit)
        kind_label = QLabel(self.tr("&Kind"))
        kind_label.setBuddy(self.kind_combo)
        top.addRow(file_label, file_row)
        top.addRow(kind_label, self.kind_combo)
        top.addRow(self.tr("Detected"), self.detected)

        self.message = MessageBar(self)

        # -- mapping
        self.mapping_box = QGroupBox(self.tr("Columns: which column of the file holds each field"))
        self.mapping_form = QFormLayout()
        mapping_inner = QWidget()
        mapping_inner.setLayout(self.mapping_form)
        scroll = QScrollArea()
        scroll.setWidget(mapping_inner)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.reset_mapping_button = QPushButton(self.tr("Use the guess again"))
        self.reset_mapping_button.clicked.connect(self.reset_mapping)
        mapping_layout = QVBoxLayout(self.mapping_box)
        mapping_layout.addWidget(scroll, 1)
        mapping_layout.addWidget(self.reset_mapping_button)
        self.mapping_box.setMinimumWidth(420)

        # -- dry run
        self.preview_box = QGroupBox(self.tr("Dry run: nothing is written yet"))
        self.counts = QLabel()
        self.counts.setWordWrap(True)
        self.sample = SampleTable(self.fontMetrics().height() + 6)
        self.problems_panel = ProblemsPanel()
        # its parts, by the names the dialog's callers use
        self.problems_label, self.problems = self.problems_panel.label, self.problems_panel.list
        self.save_problems_button = self.problems_panel.save_button
        self.save_problems_button.clicked.connect(self._choose_problems_file)
        preview_split = QSplitter(Qt.Orientation.Vertical)
        preview_split.addWidget(self.sample)
        preview_split.addWidget(self.problems_panel)
        preview_split.setSizes([380, 160])
        preview_layout = QVBoxLayout(self.preview_box)
        preview_layout.addWidget(self.counts)
        preview_layout.addWidget(preview_split, 1)

        middle = QSplitter(Qt.Orientation.Horizontal)
        middle.addWidget(self.mapping_box)
        middle.addWidget(self.preview_box)
        middle.setStretchFactor(1, 1)
        middle.setChildrenCollapsible(False)

        # -- result
        self.summary_box = QGroupBox(self.tr("Imported"))
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.undo_button = QPushButton(self.tr("&Undo this import"))
        self.undo_button.clicked.connect(self.undo)
        summary_layout = QHBoxLayout(self.summary_box)
        summary_layout.addWidget(self.summary, 1)
        summary_layout.addWidget(self.undo_button, 0, Qt.AlignmentFlag.AlignTop)
        self.summary_box.hide()

        self.progress = ProgressPanel(self.runner, self)

        self.import_button = QPushButton(self.tr("&Import"))
        self.import_button.setDefault(True)
        self.import_button.clicked.connect(self.start_import)
        self.close_button = QPushButton(self.tr("Close"))
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        buttons.addStretch(0)
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addWidget(middle, 1)
        layout.addWidget(self.summary_box)
        layout.addLayout(buttons)

        self._repreview = QTimer(self)
        self._repreview.setSingleShot(True)
        self._repreview.setInterval(REPREVIEW_MS)
        self._repreview.timeout.connect(self.run_preview)

        self.resize(1100, 720)
        self._update_buttons()
        if path:
            self.set_path(path)

    # -- inputs -----------------------------------------------------------------------------------
    @property
    def path(self) -> str:
        return self.path_edit.text().strip()

    @property
    def kind(self) -> str | None:
        if self.preview is not None and self.kind_combo.currentData() is None:
            return self.preview.kind
        return self.kind_combo.currentData()

    def mapping(self) -> dict[str, str | None] | None:
        """The mapping the combos show (None while the guess stands untouched)."""
        if not self._mapping_touched or not self._combos:
            return None
        return {f: (c.currentData() or None) for f, c in self._combos.items()}

    def _choose_file(self) -> None:
        start = str(Path(self.path).parent) if self.path else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Choose a CSV file"), start,
                                              self.tr("Tables (*.csv *.tsv *.txt *.csv.gz);;All files (*)"))
        if path:
            self.set_path(path)

    def set_path(self, path: str) -> None:
        """Use ``path`` and run the dry run (the mapping is guessed afresh)."""
        self.path_edit.setText(str(path))
        self._mapping_touched = False
        self._combo_columns = None
        self.report = None
        self.summary_box.hide()
        self.run_preview()

    def _on_kind_changed(self, _index: int) -> None:
        self._mapping_touched = False
        self._combo_columns = None
        if self.path:
            self.run_preview()

    def reset_mapping(self) -> None:
        self._mapping_touched = False
        self.run_preview()

    def _on_mapping_changed(self) -> None:
        self._mapping_touched = True
        self._repreview.start()

    # -- dry run --------------------------------------------------------------------------------
    def run_preview(self) -> None:
        self._repreview.stop()
        self.message.clear()
        if not self.path:
            return
        path, kind, mapping = self.path, self.kind_combo.currentData(), self.mapping()
        if kind is None and self.preview is not None and self._mapping_touched:
            kind = self.preview.kind
        db_path = self.ctx.db_path
        self.phase = "previewing"
        self.counts.setText(self.tr("Checking the file…"))
        self._update_buttons()
        self.runner.start(lambda: _preview_job(db_path, path, kind, mapping),
                          on_result=lambda checked: self._show_preview(*checked), on_error=self._preview_failed)

    def _preview_failed(self, message: str) -> None:
        self.phase = "idle"
        self.preview = None
        self.message.show_error(message)
        self.detected.clear()
        self.counts.clear()
        self.sample.fill(None)
        self._fill_problems(ProblemSummary(), [])
        self._update_buttons()

    def _show_preview(self, pv, problems: ProblemSummary) -> None:
        self.phase = "ready"
        self.preview_box.setTitle(self.tr("Dry run: nothing is written yet"))
        self.preview = pv
        fmt = FORMATS.get(pv.format, pv.format)
        enc = ENCODINGS.get(pv.encoding, pv.encoding)
        delim = DELIMITERS.get(pv.delimiter, repr(pv.delimiter))
        kind = KIND_LABELS.get(pv.kind, pv.kind)
        self.detected.setText(self.tr("{0} · {1} · {2} encoding · {3}-separated · {4:,} columns").format(
            kind, fmt, enc, delim, len(pv.columns)))
        self._fill_mapping(pv)
        self.sample.fill(pv)
        self._fill_problems(problems, pv.problems)
        missing = pv.missing_required
        skipped = problems.skipped_rows
        text = count(pv.rows_total, self.tr("{0:,} row in the file"), self.tr("{0:,} rows in the file")) + \
            self.tr("; {0:,} ready to import").format(pv.rows_ok)
        if skipped:
            text += self.tr(", {0:,} will be skipped (see below)").format(skipped)
        text += "."
        if pv.would_create or pv.would_update:
            if pv.kind == "catalog":
                new = count(pv.would_create, self.tr("{0:,} new product"), self.tr("{0:,} new products"))
            else:
                new = count(pv.would_create, self.tr("{0:,} new order"), self.tr("{0:,} new orders"))
            text += " " + self.tr("It would add {0}").format(new)
            if pv.would_update:
                text += self.tr(" and change {0:,}").format(pv.would_update)
            text += "."
        if getattr(pv, "day_first", None) is not None:
            text += " " + (self.tr("Dates read as day/month.") if pv.day_first else self.tr("Dates read as month/day."))
        for note in getattr(pv, "notes", [])[:3]:
            text += "\n" + note
        self.counts.setText(text)
        if missing:
            self.message.show_error(self.tr("Choose a column for: {0}. Nothing can be imported without it.").format(
                ", ".join(_field_label(f) for f in missing)))
        elif pv.rows_ok == 0:
            self.message.show_error(self.tr("No row of this file can be imported: see the problems below."))
        self._update_buttons()

    def _fill_mapping(self, pv) -> None:
        key = (pv.kind, tuple(pv.columns))
        if self._combo_columns != key:
            while self.mapping_form.rowCount():
                self.mapping_form.removeRow(0)
            self._combos = {}
            required = set(pv.required_fields)
            if pv.kind == "orders":
                required = {"order_id", "ordered_at", "quantity", "unit_price", "sku"}
            for field in pv.fields:
                combo = QComboBox()
                # wide enough to read the column's name (a long field label must not squeeze it to two letters)
                combo.setMinimumContentsLength(14)
                combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
                combo.addItem(NOT_MAPPED, None)
                for column in pv.columns:
                    combo.addItem(column, column)
                combo.currentIndexChanged.connect(self._on_mapping_changed)
                label = _field_label(field) + (" *" if field in required else "")
                self.mapping_form.addRow(label, combo)
                self._combos[field] = combo
            self._combo_columns = key
        fallback = getattr(pv, "fallback", {}) or {}
        for field, combo in self._combos.items():
            combo.blockSignals(True)
            column = pv.mapping.get(field)
            index = combo.findData(column) if column else 0
            combo.setCurrentIndex(max(0, index))
            combo.setToolTip(self.tr("Where this column is empty, the row's {0} is used.").format(
                self.tr(" or ").join(fallback[field])) if column and fallback.get(field) else "")
            combo.blockSignals(False)
        self.reset_mapping_button.setEnabled(self._mapping_touched)

    def _fill_problems(self, summary: ProblemSummary, problems: list) -> None:
        """The counts and commonest reasons over every problem, and the first MAX_LISTED_PROBLEMS of them;
        ``problems`` (all of them) is what "Save the list…" writes."""
        self.problems_panel.fill(summary, problems, checked=self.preview is not None)

    def _choose_problems_file(self) -> None:
        stem = Path(self.path).stem if self.path else "import"
        start = str((Path(self.path).parent if self.path else Path.home()) / f"{stem} problems.csv")
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Save the list of problems"), start,
                                              self.tr("CSV files (*.csv)"))
        if path:
            self.save_problems(path)

    def save_problems(self, path: str) -> None:
        """Write every problem to ``path`` in the background (the file appears once complete)."""
        from shopai.io.export import write_problems_job

        if self.runner.running or not self.problems_panel.all_problems:
            return
        if not path.lower().endswith(".csv"):
            path += ".csv"
        problems = self.problems_panel.all_problems
        self.message.clear()
        self.save_problems_button.setEnabled(False)
        self.runner.start(lambda: write_problems_job(path, problems),
                          on_result=lambda n: self.message.show_info(
                              self.tr("Saved {0:,} problems to {1}.").format(n, path)),
                          on_error=lambda reason: self.message.show_error(
                              self.tr("Could not write {0}: {1}").format(path, reason)))

    # -- import / undo --------------------------------------------------------------------------
    def can_import(self) -> bool:
        pv = self.preview
        return (self.phase == "ready" and pv is not None and not pv.missing_required and pv.rows_ok > 0)

    def start_import(self) -> None:
        if not self.can_import():
            return
        from shopai import io

        db_path, path, kind = self.ctx.db_path, self.path, self.preview.kind
        mapping = dict(self.preview.mapping) if self._mapping_touched else None
        self.phase = "importing"
        self.message.clear()
        self._update_buttons()
        self.runner.start(lambda: _with_summary(io.import_job(db_path, path, kind, mapping)),
                          on_result=lambda done: self._imported(*done), on_error=self._import_failed)

    def cancel(self) -> None:
        self.runner.cancel()

    def _imported(self, report, problems: ProblemSummary) -> None:
        self.phase = "done"
        self.report = report
        noun = self.tr("products") if report.kind == "catalog" else self.tr("order lines")
        rows = self.tr("1 row") if report.skipped == 1 else self.tr("{0:,} rows").format(report.skipped)
        lines = [self.tr("<b>Import {0} done:</b> {1:,} {4} created, {2:,} updated, {3} skipped.").format(
            report.import_id, report.created, report.updated, rows, noun)]
        details = [f"{self.tr(label)}: {report.details[key]:,}" for key, label in DETAIL_LABELS.items()
                   if (getattr(report, "details", None) or {}).get(key)]
        if details:
            lines.append(" · ".join(details))
        if problems.skipped:
            lines.append(self.tr("The skipped rows and why are listed above."))
            self._fill_problems(problems, report.problems)
        self.preview_box.setTitle(self.tr("The file"))
        for note in getattr(report, "notes", [])[:3]:
            lines.append(note)
        self.summary.setText("<br>".join(lines))
        self.summary_box.setTitle(self.tr("Imported"))
        self.summary_box.show()
        self.undo_button.setEnabled(True)
        self.ctx.notify_changed(CHANGED_TABLES)
        self.ctx.show_status(report.summary() if hasattr(report, "summary") else "")
        self._update_buttons()
        self.imported.emit(report)

    def _import_failed(self, message: str) -> None:
        self.phase = "ready"
        self.message.show_error(message)
        self._update_buttons()

    def undo(self) -> None:
        if self.report is None or self.phase != "done":
            return
        db_path, import_id = self.ctx.db_path, self.report.import_id
        self.phase = "undoing"
        self._update_buttons()
        self.runner.start(lambda: undo_job(db_path, import_id), on_result=self._undone, on_error=self._undo_failed)

    def _undone(self, counts: dict) -> None:
        self.phase = "ready"
        self.undo_button.setEnabled(False)
        self.summary_box.setTitle(self.tr("Undone"))
        self.summary.setText(undone_text(self.report.import_id, counts))
        self.ctx.notify_changed(CHANGED_TABLES)
        self.ctx.show_status(self.tr("Import {0} undone").format(self.report.import_id))
        self.run_preview()  # the dry run again, against the shop as it is now

    def _undo_failed(self, message: str) -> None:
        self.phase = "done"
        self.message.show_error(message)
        self._update_buttons()

    def _on_runner_finished(self) -> None:
        # The runner says "finished" just before it calls on_result/on_error: look once they have run.
        # Only a silent cancel leaves the phase as it was.
        QTimer.singleShot(0, self._after_runner_finished)

    def _after_runner_finished(self) -> None:
        if self.runner.running:
            return
        if self.phase == "importing":
            self.phase = "ready"
            self.message.show_info(self.tr("Import cancelled: nothing was changed."))
        elif self.phase == "previewing":
            self.phase = "idle" if self.preview is None else "ready"
            self.counts.setText(self.tr("Check cancelled."))
        elif self.phase == "undoing":
            self.phase = "done"
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.import_button.setEnabled(self.can_import())
        for widget in (self.path_edit, self.choose_button, self.kind_combo, self.mapping_box):
            widget.setEnabled(self.phase not in ("importing", "done", "undoing"))
        self.undo_button.setEnabled(self.phase == "done")
        self.save_problems_button.setEnabled(self.phase in ("ready", "done") and not self.runner.running)

    # -- closing ----------------------------------------------------------------------------------
    def confirm_stop(self) -> bool:
        """Closing while importing: ask first (tests replace this)."""
        answer = QMessageBox.question(
            self, self.tr("Stop the import?"),
            self.tr("The import is still running. Stop it? Nothing will be changed in the shop."),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _may_close(self) -> bool:
        if self.phase == "importing" and self.runner.committing:
            return False  # saving its last rows: it ends in a moment, and then the dialog says what it did
        if self.phase == "importing" and self.runner.running and not self.confirm_stop():
            return False
        self._repreview.stop()
        self.runner.shutdown()  # cancels: the job's transaction rolls back in its thread
        return True

    def closeEvent(self, event) -> None:
        if not self._may_close():
            event.ignore()
            return
        super().closeEvent(event)

    def reject(self) -> None:
        if self._may_close():
            super().reject()


def open_import_dialog(ctx: ShopContext, parent: QWidget | None = None, path: str | None = None,
                       kind: str | None = None) -> ImportDialog:
    """Open the import dialog (non-modal for the rest of the app: it works in the background)."""
    dialog = ImportDialog(ctx, kind=kind, path=path, parent=parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if path is None:
        QTimer.singleShot(0, dialog._choose_file)
    dialog.show()
    dialog.raise_()
    return dialog

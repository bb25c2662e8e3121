"""The Auto-categorize tab: import product photos, review suggested categories, train.

Keyboard: Enter/A accepts the top suggestion, 1-3 picks that suggestion, F types a fix, S skips,
Ctrl+Z undoes (a batch-accept is one step), Up/Down move. Photos can be dropped onto the tab.
Training and photo import run in the background with progress and cancel; accept/fix/skip are small
writes on the GUI thread and go on while Train runs; learning a correction runs in the worker and refreshes
the queue (corrections made while Train runs are learnt by the new model once Train ends).

Undo while Train runs: a correction still waiting is never learnt; one the model had learnt comes out of it
when Train ends, unless Train replaced the model; a category Train had already read (it reads them all as it
starts) is in its new model, which the tab says, asking for another Train.
"""
from __future__ import annotations

import json
import os

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView, QDoubleSpinBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QMessageBox, QPushButton,
    QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from shopai.jobs import Progress, UserError
from shopai.categorize.train_undo import UndoDuringTrain, stamp_of
from shopai.process_jobs import in_process
from shopai_ui.context import ShopContext
from shopai_ui.tabs import categorize_messages as messages
from shopai_ui.tabs.categorize_detail import SuggestionDetail
from shopai_ui.widgets.message import MessageBar
from shopai_ui.widgets.photo import read_scaled
from shopai_ui.widgets.progress import ProgressPanel
from shopai_ui.widgets.tables import filling
from shopai_ui.widgets.wording import chance, count
from shopai_ui.worker import JobRunner

THUMB = QSize(56, 56)
MAX_ROWS = 500


def _learn_job(db_path: str, items: list[tuple[int, str]]):
    """Learn corrections (product id, category) one after the other; one already undone is left out."""
    from shopai.categorize import review
    from shopai.store import open_store

    yield Progress(0, 1, "Learning from the correction")
    db = open_store(db_path)
    try:
        return sum(review.learn_correction(db, db_path, pid, cat) for pid, cat in items)
    finally:
        db.conn.close()


class CategorizeTab(QWidget):
    """Review queue of suggested categories with thumbnails; import photos; train; per-category accuracy."""

    train_options: dict = {}  # passed to train_job (tests shorten the photo training)

    def __init__(self, ctx: ShopContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = JobRunner(self)
        self.learner = JobRunner(self)
        self.rows: list[dict] = []
        self._pixmaps: dict[tuple[str, int, int], QPixmap] = {}  # (path, mtime, size) -> thumbnail
        self._job = ""  # what the runner is doing: "train", "import", "download"
        self._to_learn: list[tuple[int, str]] = []  # corrections waiting to be learnt (while Train runs)
        self._train_undo = UndoDuringTrain(ctx.db, ctx.db_path)  # what an undo while Train runs means
        self._cats: list[str] = []  # the shop's categories, offered first in the Fix box
        self.setAcceptDrops(True)

        self.import_button = QPushButton(self.tr("Import &photos…"))
        self.import_button.setToolTip(self.tr("Add product photos; a photo named after a SKU goes to that product"))
        self.folder_button = QPushButton(self.tr("Import f&older…"))
        self.train_button = QPushButton(self.tr("&Train"))
        self.train_button.setToolTip(self.tr("Learn the shop's categories from its labelled products and photos"))
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.5, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setValue(0.9)
        self.threshold.setPrefix(self.tr("≥ "))
        self.batch_button = QPushButton(self.tr("Accept all above"))
        self.undo_button = QPushButton(self.tr("&Undo"))
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.backbone_button = QPushButton(self.tr("Pretrained photo model…"))
        self.backbone_button.setToolTip(self.tr(
            "Download a photo model trained on millions of pictures (MobileNetV3, 10 MB): photo suggestions get "
            "better, most of all with few labelled photos"))
        top = QHBoxLayout()
        for w in (self.import_button, self.folder_button, self.train_button, self.batch_button, self.threshold,
                  self.undo_button):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.backbone_button)

        self.message = MessageBar(self)
        self.progress = ProgressPanel(self.runner, self)

        # queue
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels([self.tr("Product"), self.tr("1st"), self.tr("2nd"), self.tr("3rd")])
        self.table.setIconSize(THUMB)
        self.table.verticalHeader().setDefaultSectionSize(THUMB.height() + 6)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in (1, 2, 3):
            self.table.horizontalHeader().setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.queue_label = QLabel()

        # detail: the selected product, its suggestions, the Fix box, the accuracy table
        self.detail = SuggestionDetail(ctx, self)
        self.photo, self.title, self.similar = self.detail.photo, self.detail.title, self.detail.similar
        self.choice_buttons, self.accuracy = self.detail.choice_buttons, self.detail.accuracy
        self.accept_button, self.skip_button = self.detail.accept_button, self.detail.skip_button
        self.fix_box, self.fix_button = self.detail.fix_box, self.detail.fix_button
        self._offer_model, self.offers = self.detail.offer_model, self.detail.offers
        for i, b in enumerate(self.choice_buttons):
            b.clicked.connect(lambda _=False, i=i: self.choose(i))

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.queue_label)
        left_layout.addWidget(self.table)
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        # the model's line under the buttons, the whole width: beside them it was squeezed onto three lines
        layout.addWidget(self.model_label)
        layout.addWidget(self.message)
        layout.addWidget(self.progress)
        layout.addWidget(split, 1)

        self.import_button.clicked.connect(self.pick_files)
        self.folder_button.clicked.connect(self.pick_folder)
        self.train_button.clicked.connect(self.train)
        self.batch_button.clicked.connect(self.batch_accept)
        self.undo_button.clicked.connect(self.undo)
        self.accept_button.clicked.connect(self.accept)
        self.skip_button.clicked.connect(self.skip)
        self.fix_button.clicked.connect(self.fix_typed)
        self.fix_box.lineEdit().returnPressed.connect(self.fix_typed)
        self.threshold.valueChanged.connect(lambda _v: self._colour_queue())
        self.table.itemSelectionChanged.connect(self._show_current)
        self._keys = {
            Qt.Key.Key_Return: self.accept, Qt.Key.Key_Enter: self.accept, Qt.Key.Key_A: self.accept,
            Qt.Key.Key_S: self.skip, Qt.Key.Key_1: lambda: self.choose(0), Qt.Key.Key_2: lambda: self.choose(1),
            Qt.Key.Key_3: lambda: self.choose(2), Qt.Key.Key_F: self.fix_box.setFocus,
        }
        self.table.installEventFilter(self)
        undo_any = QShortcut(QKeySequence(QKeySequence.StandardKey.Undo), self)
        undo_any.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        undo_any.activated.connect(self.undo)
        self.backbone_button.clicked.connect(self.get_backbone)
        self.runner.started.connect(self._busy_changed)
        self.runner.finished.connect(self._busy_changed)
        self.runner.progressed.connect(self._train_progressed)
        ctx.dataChanged.connect(self._on_data_changed)
        self.refresh()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt)
        """Single keys on the queue: Enter/A accept, 1-3 pick, F fix, S skip."""
        from PySide6.QtCore import QEvent

        if obj is self.table and event.type() == QEvent.Type.KeyPress and not (
                event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)):
            action = self._keys.get(Qt.Key(event.key()))
            if action is not None:
                action()
                return True
        return super().eventFilter(obj, event)

    # --- data -------------------------------------------------------------------------------------
    def refresh(self) -> None:
        from shopai.categorize import review

        current = self.current()
        self.rows = review.queue(self.ctx.db, limit=MAX_ROWS)
        total = self.ctx.db.conn.execute(
            "SELECT count(*) FROM categorize_suggestions WHERE status = 'pending'").fetchone()[0]
        with filling(self.table):  # the suggestion columns measured once, not after every cell (18 s for 500 rows)
            self.table.setRowCount(len(self.rows))
            for r, row in enumerate(self.rows):
                self._fill_row(r, row)
        self._colour_queue()
        if total:
            self.queue_label.setText(self.tr("%1 suggestions to review (most confident first)").replace("%1", str(total)))
        else:
            self.queue_label.setText(self.tr("Nothing to review. Import photos or products without a category, then train."))
        ids = [row["product_id"] for row in self.rows]
        if ids:
            pos = ids.index(current["product_id"]) if current and current["product_id"] in ids else 0
            self.table.selectRow(min(pos, len(ids) - 1))
        self._show_current()
        self._load_model_info()
        self.undo_button.setEnabled(review.can_undo(self.ctx.db))
        from shopai.categorize.taxonomy import shop_categories

        self._cats = shop_categories(self.ctx.db)
        self.detail.set_categories(self._cats)

    def _fill_row(self, r: int, row: dict) -> None:
        item = QTableWidgetItem(f"{row['title']}\n{row['sku']}" + (self.tr("  (new draft)") if row["draft"] else ""))
        pix = self._thumb(row)
        if pix is not None:
            item.setIcon(pix)
        self.table.setItem(r, 0, item)
        for c in range(3):
            if c < len(row["suggestions"]):
                s = row["suggestions"][c]
                cell = QTableWidgetItem(f"{s['category']}  {chance(s['confidence'])}")
            elif c == 0:  # no suggestion at all: nothing to go on
                cell = QTableWidgetItem(self.tr("nothing to go on"))
                cell.setToolTip(self.tr("No title and no photo that can be read: type the category (F)"))
            else:  # fewer suggestions than columns
                cell = QTableWidgetItem("")
            self.table.setItem(r, c + 1, cell)

    def _colour_queue(self) -> None:
        """Top suggestions at or above the threshold in green (what Accept all would take)."""
        for r, row in enumerate(self.rows):
            cell = self.table.item(r, 1)
            if cell is None:
                continue
            high = bool(row["suggestions"]) and row["suggestions"][0]["confidence"] >= self.threshold.value()
            if high:
                cell.setForeground(Qt.GlobalColor.darkGreen)
            else:
                cell.setData(Qt.ItemDataRole.ForegroundRole, None)

    def _thumb(self, row: dict):
        from PySide6.QtGui import QIcon

        from shopai.categorize.train import resolve_image

        if not row.get("image_path"):
            return None
        path = str(resolve_image(self.ctx.db_path, row["image_path"]))
        try:  # a photo imported again under the same name, or gone bad, is not the cached one
            st = os.stat(path)
            key = (path, st.st_mtime_ns, st.st_size)
        except OSError:
            return None
        if key not in self._pixmaps:
            self._pixmaps[key] = read_scaled(path, THUMB)
        pix = self._pixmaps[key]
        return QIcon(pix) if not pix.isNull() else None

    def _load_model_info(self) -> None:
        from shopai.categorize.models import META, model_dir

        self._show_backbone_state()
        path = model_dir(self.ctx.db_path) / META
        self.detail.show_accuracy({})
        if not path.exists():
            from shopai.categorize.train import labelled_counts

            self.model_label.setText(messages.no_model_line(*labelled_counts(self.ctx.db.conn)))
            return
        try:
            meta = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            self.model_label.setText(self.tr("The saved model is damaged: train again."))
            return
        known = self._train_undo.still_known(stamp_of(meta))
        self.model_label.setText(messages.model_line(meta) + (". " + messages.still_learnt(known) if known else ""))
        self.detail.show_accuracy(meta.get("per_category", {}))

    def current(self) -> dict | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self.rows):
            return None
        return self.rows[rows[0].row()]

    def _show_current(self) -> None:
        self.detail.show_row(self.current())

    # --- decisions --------------------------------------------------------------------------------
    def _after_write(self) -> None:
        self.ctx.notify_changed({"products", "categorize_suggestions"})  # our handler refreshes

    def accept(self) -> None:
        from shopai.categorize import review

        row = self.current()
        if row is None:
            return
        try:
            cat = review.accept(self.ctx.db, row["product_id"])
        except UserError as exc:
            self.message.show_error(str(exc))
            return
        self.ctx.show_status(self.tr("%1 → %2").replace("%1", row["sku"]).replace("%2", cat))
        self._after_write()

    def choose(self, index: int) -> None:
        row = self.current()
        if row is None or index >= len(row["suggestions"]):
            return
        self.fix(row, row["suggestions"][index]["category"])

    def fix_typed(self) -> None:
        """The typed category; one the shop does not have yet is created only when the owner says so."""
        row = self.current()
        if row is None:
            return
        typed = self.fix_box.currentText().strip()
        known = {c.casefold(): c for c in self._cats + [s["category"] for s in row["suggestions"]]}
        if typed and typed.casefold() in known:
            typed = known[typed.casefold()]  # the shop's own spelling
        elif typed:
            answer = QMessageBox.question(
                self, self.tr("New category"),
                self.tr("No product is in “%1” yet. Create this new category and put %2 in it?").replace(
                    "%1", typed).replace("%2", row["sku"]),
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                self.fix_box.setFocus()
                return
        self.fix(row, typed)

    def fix(self, row: dict, category: str) -> None:
        from shopai.categorize import review
        from shopai.categorize.models import has_model

        try:
            learn = review.record_fix(self.ctx.db, row["product_id"], category)
        except UserError as exc:
            self.message.show_error(str(exc))
            return
        self.fix_box.setEditText("")
        self._after_write()
        self.table.setFocus()
        if learn and has_model(self.ctx.db_path):
            self._to_learn.append((row["product_id"], category.strip()))
            if self._job == "train":
                self.message.show_info(self.tr("%1 is in “%2”; the new model learns the correction when Train has "
                                               "finished.").replace("%1", row["sku"]).replace("%2", category.strip()))
            self._learn_next()

    def _learn_next(self) -> None:
        """Learn the corrections waiting, one job at a time, never while Train is about to replace the model."""
        if not self._to_learn or self.learner.running or self._job == "train":
            return
        items, self._to_learn = self._to_learn, []
        path = self.ctx.db_path

        def done(n) -> None:
            self._after_write()
            self._learn_next()

        def failed(text: str) -> None:
            self.message.show_error(text)
            self._learn_next()

        self.learner.start(lambda: _learn_job(path, items), on_result=done, on_error=failed)

    def skip(self) -> None:
        from shopai.categorize import review

        row = self.current()
        if row is None:
            return
        review.skip(self.ctx.db, row["product_id"])
        self._after_write()

    def batch_accept(self) -> None:
        from shopai.categorize import review

        n = review.batch_accept(self.ctx.db, self.threshold.value())
        if not n:  # nothing recorded: Undo still takes back the decision before
            self.message.show_info(self.tr("No suggestion is at or above %1, so nothing was accepted.").replace(
                "%1", f"{self.threshold.value():.2f}"))
            return
        self.message.show_info(self.tr("Accepted %1 suggestions (Undo takes them all back).").replace("%1", str(n)))
        self._after_write()

    def undo(self) -> None:
        from shopai.categorize import review

        if self.learner.running:  # a correction being learnt: let it finish, so undo can take it back out
            self.learner.wait()
        training = self._job == "train"
        taken = review.next_undo(self.ctx.db)
        try:  # while Train runs the model is left alone (Train is about to replace it): see below
            n = review.undo(self.ctx.db, None if training else self.ctx.db_path)
        except UserError as exc:
            self.message.show_error(str(exc))
            return
        undone = {d["product_id"] for d in taken}
        waiting = [item for item in self._to_learn if item[0] in undone]
        self._to_learn = [item for item in self._to_learn if item[0] not in undone]  # never learnt now
        text = count(n, self.tr("Undone (1 product)."), self.tr("Undone ({0:,} products)."))
        if training:
            read, surely = self._train_undo.undone(taken)
            if read:
                text += " " + messages.read_by_train([d["sku"] for d in read], surely)
            elif waiting:
                text += " " + self.tr("The new model will not learn that correction.")
        self.message.show_info(text)
        self._after_write()

    # --- background work ---------------------------------------------------------------------------
    def train(self) -> None:
        from shopai.categorize.train import train_job

        self.message.clear()
        path, opts = self.ctx.db_path, dict(self.train_options)
        if self.learner.running:  # a correction being saved into the model Train is about to replace
            self.learner.wait()
        self._train_undo.started()
        self.runner.start(lambda: in_process(train_job, path, **opts), on_result=self._trained, on_error=self.message.show_error)
        self._job = "train"  # after start: starting cancels (and forgets) any job before

    def _train_progressed(self, progress: Progress) -> None:
        if self._job == "train":
            self._train_undo.progressed(progress)

    def _trained(self, summary: dict) -> None:
        text, to_fix = messages.trained_message(summary)
        known = self._train_undo.still_known()
        if known:  # categories undone while Train ran, after it had read them
            text, to_fix = text + " " + messages.still_learnt(known), True
        (self.message.show_error if to_fix else self.message.show_info)(text)
        self._after_write()

    def get_backbone(self) -> None:
        """Ask, then download the pretrained photo backbone in the background (progress and cancel below)."""
        from shopai.categorize import pretrained

        text = messages.backbone_question(pretrained.SIZE_MB, pretrained.LICENCE)
        answer = QMessageBox.question(self, self.tr("Pretrained photo model"), text,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.Yes)
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.message.clear()
        self.runner.start(pretrained.download_job, on_result=self._got_backbone, on_error=self.message.show_error)
        self._job = "download"

    def _got_backbone(self, path) -> None:
        self.message.show_info(self.tr("Pretrained photo model saved. Press Train to use it for photo suggestions."))
        self._show_backbone_state()

    def _show_backbone_state(self) -> None:
        from shopai.categorize.pretrained import find_backbone

        self.backbone_button.setVisible(find_backbone() is None)

    def import_paths(self, paths: list[str]) -> bool:
        """Import photos in the background; refused (with a message) while Train or another job runs, as
        starting it would cancel that job. Returns whether the import started."""
        from shopai.categorize.review import import_photos_job

        if self.runner.running:
            what = {"train": self.tr("Train"), "download": self.tr("the download")}.get(self._job, self.tr("the import"))
            self.message.show_error(self.tr("The photos were not imported: %1 is still running. Add them again when "
                                            "it has finished.").replace("%1", what))
            return False
        self.message.clear()
        path = self.ctx.db_path
        self.runner.start(lambda: import_photos_job(path, paths), on_result=self._imported,
                          on_error=self.message.show_error)
        self._job = "import"
        return True

    def _imported(self, result: dict) -> None:
        text, look = messages.imported_message(result)
        (self.message.show_error if look else self.message.show_info)(text)
        self._after_write()

    def pick_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, self.tr("Product photos"), "",
                                                self.tr("Photos (*.jpg *.jpeg *.png *.webp *.gif *.bmp *.tif *.tiff)"))
        if files:
            self.import_paths(files)

    def pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Folder of product photos"))
        if folder:
            self.import_paths([folder])

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt)
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths and self.import_paths(paths):
            event.acceptProposedAction()
        else:
            event.ignore()

    def _busy_changed(self) -> None:
        busy = self.runner.running
        trained = not busy and self._job == "train"
        if not busy:
            self._job = ""
        for w in (self.train_button, self.import_button, self.folder_button, self.backbone_button):
            w.setEnabled(not busy)
        # before the corrections waiting are learnt (they may be given an undone fix's id)
        if trained and self._train_undo.ended():
            self._after_write()
        if not busy:  # corrections made while Train ran go into the model it left (or the old one, if cancelled)
            self._learn_next()

    def _on_data_changed(self, tables) -> None:
        # decisions go on while a job runs: they are small writes beside it (Train and import only write at
        # their end, and keep decisions made meanwhile)
        if {"products", "categorize_suggestions"} & set(tables):
            self.refresh()

    def shutdown(self) -> None:
        self.runner.shutdown()
        self.learner.shutdown()

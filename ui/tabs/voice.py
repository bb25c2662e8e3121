"""The Voice search tab, and the microphone button the Catalog tab puts beside its search box.

Press and hold the microphone button (or hold F9 in the tab; Ctrl+Space anywhere in the window starts
listening until a pause), say a product name, let go. Listening, recognising and matching run in a
worker (:func:`shopai.voice.search.voice_search`); the level meter follows the microphone. What was heard
is shown and can be corrected: editing it searches again. No microphone, denied access or an unplugged
device give a message in the tab; the app goes on.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QProgressBar,
    QPushButton, QTableWidget, QTableWidgetItem, QToolButton, QVBoxLayout, QWidget,
)

from shopai.jobs import Progress
from shopai.voice.capture import LISTENING
from shopai.voice.capture import until_pause as until_pause_rules
from shopai_ui.context import ShopContext
from shopai_ui.icons import mic_icon
from shopai_ui.widgets.message import MessageBar
from shopai_ui.worker import JobRunner

DEVICE_KEY = "voice.device"


def make_source(device: Any):
    """The live audio source (tests replace this with a recorded stream)."""
    from shopai.voice.audio import MicSource

    return MicSource(device)


def load_device(ctx: ShopContext) -> Any:
    row = ctx.db.conn.execute("SELECT value FROM settings WHERE key = ?", (DEVICE_KEY,)).fetchone()
    try:
        return json.loads(row[0]) if row else None
    except ValueError:
        return None


def save_device(ctx: ShopContext, device: Any) -> None:
    ctx.db.conn.execute(
        "INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (DEVICE_KEY, json.dumps(device)),
    )


class VoiceSession(QObject):
    """One query at a time: start on press, ``release`` on let-go; reports level, state and the result."""

    levelChanged = Signal(float)
    stateChanged = Signal(str)  # idle | listening | speech | recognising | searching (typed) | results
    stepChanged = Signal(str)  # what listening or recognising is doing now ("Trying free dictation…"), in words
    resulted = Signal(object)  # VoiceResult
    failed = Signal(str)

    def __init__(self, ctx: ShopContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = JobRunner(self)
        self.runner.progressed.connect(self._on_progress)
        self.source = None
        self.mode = "catalog"
        self.state = "idle"
        self._step = ""  # the last step said (stepChanged)

    def _set_state(self, state: str) -> None:
        self.state = state
        self.stateChanged.emit(state)

    def start(self, source: Any = None, until_pause: bool = False) -> None:
        """Listen (to the chosen microphone unless ``source``); ``until_pause``: nothing but the speech will end
        it (Ctrl+Space), so amid other voices it also ends on the query's own level."""
        from shopai.voice.search import voice_search

        if source is None:
            try:
                source = make_source(load_device(self.ctx))
            except Exception as exc:  # a broken setting or sound system: say so, keep going
                self.fail(str(exc))
                return
        self.source = source
        db_path, mode = self.ctx.db_path, self.mode
        self._set_state("listening")
        vad = until_pause_rules() if until_pause else None
        self.runner.start(lambda: voice_search(db_path, source, mode=mode, vad=vad),
                          on_result=self._on_result, on_error=self._on_error)

    def release(self) -> None:
        """The button was let go: stop listening and recognise what was said."""
        source = self.source
        if source is not None and self.state in ("listening", "speech"):
            source.stop()

    def search_text(self, text: str) -> None:
        from shopai.voice.search import text_search

        db_path = self.ctx.db_path
        self.source = None
        self._set_state("searching")  # typed: nothing to recognise
        self.runner.start(lambda: text_search(db_path, text), on_result=self._on_result, on_error=self._on_error)

    def fail(self, message: str) -> None:
        """A query that could not start (a broken setting, a file that is not sound): reported as one that failed."""
        self._on_error(message)

    def cancel(self) -> None:
        if self.source is not None:
            self.source.stop()
        self.runner.cancel()
        self._set_state("idle")

    def shutdown(self) -> None:
        if self.source is not None:
            self.source.stop()
        self.runner.shutdown()

    def _on_progress(self, p: Progress) -> None:
        level = getattr(p, "level", None)
        if level is not None:
            self.levelChanged.emit(level)
        state = getattr(p, "state", None)
        if state and state != self.state:
            self._set_state(state)
        step = p.message if state in ("speech", "recognising") and p.message != LISTENING else ""
        if step and step != self._step:  # progress comes every 50 ms: say each step once
            self.stepChanged.emit(step)
        self._step = step

    def _on_result(self, result: Any) -> None:
        self.source = None
        self.levelChanged.emit(0.0)
        self._set_state("results")
        self.resulted.emit(result)

    def _on_error(self, message: str) -> None:
        self.source = None
        self.levelChanged.emit(0.0)
        self._set_state("idle")
        self.failed.emit(message)


class HoldButton(QPushButton):
    """A button that reports press and release (press-and-hold to talk)."""

    held = Signal()
    let_go = Signal()

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.pressed.connect(self.held)
        self.released.connect(self.let_go)


class MicButton(QToolButton):
    """A small press-and-hold microphone for a search box: ``on_text`` gets what to search for.

    That is the best product's title when the match is good, else the words heard.
    """

    def __init__(self, ctx: ShopContext, on_text: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.on_text = on_text
        self.session = VoiceSession(ctx, self)
        self.setIcon(mic_icon())
        self.setToolTip(self.tr("Hold and say a product name"))
        self.setAccessibleName(self.tr("Voice search"))
        self.pressed.connect(self.session.start)
        self.released.connect(self.session.release)
        self.session.stateChanged.connect(self._on_state)
        self.session.levelChanged.connect(self._on_level)
        self.session.resulted.connect(self._on_result)
        self.session.failed.connect(self._on_failed)
        from PySide6.QtCore import QCoreApplication

        app = QCoreApplication.instance()
        if app is not None:  # stop a query still running when the app quits, even if nobody calls shutdown()
            app.aboutToQuit.connect(self.session.shutdown)

    def _on_state(self, state: str) -> None:
        busy = state in ("listening", "speech", "recognising")
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly if state == "recognising"
                                else Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.setText("…" if state == "recognising" else "")
        self.setStyleSheet("QToolButton { background: #f8d7da; }" if state in ("listening", "speech") else "")
        self.setToolTip(self.tr("Listening…") if busy else self.tr("Hold and say a product name"))

    def _on_level(self, level: float) -> None:
        if self.session.state in ("listening", "speech"):
            pct = int(level * 100)
            self.setStyleSheet(
                "QToolButton { background: qlineargradient(x1:0, y1:1, x2:0, y2:0, "
                f"stop:0 #e35d6a, stop:{pct / 100:.2f} #e35d6a, stop:{min(1, pct / 100 + 0.01):.2f} #f8d7da); }}"
            )

    def _on_result(self, result: Any) -> None:
        text = result.results[0]["title"] if result.confident else result.heard
        self.session.ctx.show_status(self.tr("Heard: %s") % result.heard)
        self.on_text(text)

    def _on_failed(self, message: str) -> None:
        self.session.ctx.show_status(message)
        self.setToolTip(message)

    def shutdown(self) -> None:
        self.session.shutdown()


class VoiceTab(QWidget):
    """Say a product name, see the products best first; correct what was heard to search again."""

    def __init__(self, ctx: ShopContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.session = VoiceSession(ctx, self)
        self.preparer = JobRunner(self)
        self._prepared_for: str | None = None
        self._typed = False  # the query running (or last run) is the Heard box's text, not sound
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.talk = HoldButton(self.tr("Hold to talk"))
        self.talk.setIcon(mic_icon())
        self.talk.setMinimumHeight(48)
        self.talk.setToolTip(self.tr("Press and hold, say a product name, let go (or hold F9; Ctrl+Space "
                                     "listens until you pause)"))
        self.talk.held.connect(self.start_listening)
        self.talk.let_go.connect(self.session.release)
        self.meter = QProgressBar()
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setMaximumHeight(12)
        self.meter.setToolTip(self.tr("Microphone level"))
        self.state_label = QLabel()
        self.device = QComboBox()
        self.device.setMinimumContentsLength(22)
        self.device.setToolTip(self.tr("Which microphone to use"))
        self.device.activated.connect(self._on_device_picked)
        self.refresh_devices = QToolButton()
        self.refresh_devices.setText("↻")
        self.refresh_devices.setToolTip(self.tr("Look for microphones again"))
        self.refresh_devices.clicked.connect(self.load_devices)
        self.mode = QComboBox()
        self.mode.addItem(self.tr("Catalog words"), "catalog")
        self.mode.addItem(self.tr("Free dictation"), "free")
        self.mode.setToolTip(self.tr("Catalog words: recognise the shop's own product names (best). "
                                     "Free dictation: any English words."))
        self.mode.currentIndexChanged.connect(lambda _: setattr(self.session, "mode", self.mode.currentData()))
        self.open_file = QPushButton(self.tr("From a recording…"))
        self.open_file.setToolTip(self.tr("Search with a WAV recording instead of the microphone"))
        self.open_file.clicked.connect(self._pick_file)

        top = QHBoxLayout()
        top.addWidget(self.talk, 2)
        meter_box = QVBoxLayout()
        meter_box.addWidget(self.state_label)
        meter_box.addWidget(self.meter)
        top.addLayout(meter_box, 3)
        top.addSpacing(12)
        top.addWidget(QLabel(self.tr("Microphone:")))
        top.addWidget(self.device, 2)
        top.addWidget(self.refresh_devices)
        top.addWidget(self.mode)
        top.addWidget(self.open_file)

        self.heard = QLineEdit()
        self.heard.setPlaceholderText(
            self.tr("What was heard appears here; correct it and press Enter to search again"))
        self.heard.returnPressed.connect(self._on_heard_edited)
        heard_row = QHBoxLayout()
        heard_row.addWidget(QLabel(self.tr("Heard:")))
        heard_row.addWidget(self.heard, 1)

        self.message = MessageBar(self)
        self.language_note = QLabel()
        self.language_note.setWordWrap(True)
        self.language_note.setStyleSheet("color: #555;")
        self.language_note.hide()
        self.results = QTableWidget(0, 4)
        self.results.setHorizontalHeaderLabels([self.tr("Match"), self.tr("SKU"), self.tr("Title"), self.tr("Price")])
        self.results.verticalHeader().hide()
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.results.horizontalHeader()
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for col in (0, 1, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        # double-click or Enter: the product in the Catalog (stock, price, editing)
        self.results.itemActivated.connect(
            lambda item: self.ctx.show_product(item.data(Qt.ItemDataRole.UserRole)))

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addLayout(heard_row)
        layout.addWidget(self.language_note)
        layout.addWidget(self.results, 1)

        QShortcut(QKeySequence("Ctrl+Space"), self, activated=self._toggle_listening,
                  context=Qt.ShortcutContext.WindowShortcut)
        self.session.levelChanged.connect(lambda v: self.meter.setValue(int(v * 100)))
        self.session.stateChanged.connect(self._on_state)
        self.session.stepChanged.connect(self._on_step)
        self.session.resulted.connect(self.show_result)
        self.session.failed.connect(self._on_failed)
        ctx.dataChanged.connect(self._on_data_changed)
        self._on_state("idle")
        self.load_devices()

    # -- microphones
    def load_devices(self) -> None:
        from shopai.voice.audio import input_devices

        devices = input_devices()
        saved = load_device(self.ctx)
        self.device.clear()
        if not devices:
            self.device.addItem(self.tr("No microphone found"), None)
            self.device.setEnabled(False)
            self.message.show_info(self.tr(
                "No microphone was found. Plug one in and press ↻ — or search from a recording, or type below."))
            return
        self.device.setEnabled(True)
        self.device.addItem(self.tr("System default"), None)
        for d in devices:
            self.device.addItem(d["name"] + (self.tr(" (default)") if d["default"] else ""), d["name"])
        idx = self.device.findData(saved)
        self.device.setCurrentIndex(max(0, idx))
        if self.message.kind == "info":
            self.message.clear()

    def _on_device_picked(self, _index: int) -> None:
        save_device(self.ctx, self.device.currentData())

    # -- listening
    def start_listening(self, until_pause: bool = False) -> None:
        self.message.clear()
        self._typed = False
        self._prepared_for = "busy"
        self.preparer.cancel()
        self.session.start(until_pause=until_pause)

    def _toggle_listening(self) -> None:
        if self.session.state in ("listening", "speech"):
            self.session.release()
        else:
            self.start_listening(until_pause=True)

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_F9 and not event.isAutoRepeat():
            self.start_listening()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_F9 and not event.isAutoRepeat():
            self.session.release()
            return
        super().keyReleaseEvent(event)

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Search with a recording"), "",
                                              self.tr("WAV sound (*.wav);;All files (*)"))
        if path:
            self.search_file(path)

    def search_file(self, path: str) -> None:
        from shopai.jobs import UserError
        from shopai.voice.audio import WavSource

        self.message.clear()
        self._typed = False
        try:
            source = WavSource(path)
        except UserError as exc:
            self.session.fail(str(exc))
            return
        self.session.start(source)

    def _on_heard_edited(self) -> None:
        self.message.clear()
        self._typed = True
        self.session.search_text(self.heard.text())

    # -- showing
    def _on_state(self, state: str) -> None:
        text = {
            "idle": self.tr("Hold the button and say a product name."),
            "listening": self.tr("Listening…"),
            "speech": self.tr("Listening… (hearing you)"),
            "recognising": self.tr("Recognising…"),
            "searching": self.tr("Searching the catalog…"),
            "results": self.tr("Results"),
        }.get(state, state)
        self.state_label.setText(text)
        listening = state in ("listening", "speech")
        self.talk.setStyleSheet("QPushButton { background: #f8d7da; font-weight: bold; }" if listening else "")

    def _on_step(self, message: str) -> None:
        """Say which step of recognising is running (a second look at noisy sound takes a moment longer), or
        that other voices are around while listening (speak close to the microphone)."""
        if self.session.state in ("speech", "recognising"):
            self.state_label.setText(message)

    def _on_failed(self, message: str) -> None:
        """Show the problem, and no longer the last query's hearing and products as if they were this one's (a
        typed query keeps its text, to be corrected)."""
        self.message.show_error(message)
        self.results.setRowCount(0)
        if not self._typed:
            self.heard.clear()

    def show_result(self, result: Any) -> None:
        from shopai.store import products

        self.heard.setText(result.heard)
        if result.warnings:
            self.message.show_info(" ".join(result.warnings))
        rows = products.fetch_rows(self.ctx.db, [r["id"] for r in result.results])
        self.results.setRowCount(len(result.results))
        for i, r in enumerate(result.results):
            price = rows.get(r["id"], {}).get("price")
            cells = [f"{r['score'] * 100:.0f}%", r["sku"], r["title"], "" if price is None else f"{price:,.2f}"]
            for col, value in enumerate(cells):
                item = QTableWidgetItem(value)
                if col in (0, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setData(Qt.ItemDataRole.UserRole, r["id"])
                self.results.setItem(i, col, item)
        if not result.results and result.heard:
            self.message.show_info(self.tr("Nothing in the catalog sounds like that."))
        if result.results:
            self.results.selectRow(0)
            self.state_label.setText(self.tr("Best match first. Double-click a product to see it in the Catalog."))

    # -- background preparation: build the catalog's speech model before the first query
    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._prepare()

    def _prepare(self) -> None:
        if self._prepared_for is not None or self.session.runner.running:
            return
        from shopai.voice.search import prepare

        db_path = self.ctx.db_path
        self._prepared_for = db_path
        self.preparer.start(lambda: prepare(db_path), on_result=self._on_prepared, on_error=lambda _msg: None)

    def _on_prepared(self, model: Any) -> None:
        """Say plainly when some product names cannot be spoken (the recogniser hears English only)."""
        from shopai.voice.search import unspeakable_titles

        n, total = unspeakable_titles(model), len(model.products)
        self.language_note.setVisible(n > 0)
        if n:
            self.language_note.setText(self.tr(
                "Voice search hears English words only: {0} of {1} products have names in Chinese characters. "
                "Type those names (or part of them) in the Heard box and press Enter.").format(f"{n:,}", f"{total:,}"))

    def _on_data_changed(self, tables: Any) -> None:
        if "products" in tables:
            self._prepared_for = None
            if self.isVisible():
                self._prepare()

    def shutdown(self) -> None:
        self.session.shutdown()
        self.preparer.shutdown()

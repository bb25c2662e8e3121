"""Progress bar with ETA and Cancel for a JobRunner; appears only when a job takes over 0.5 s. Cancel is
greyed out once the job makes its work permanent (its ``commit`` progress): it finishes from there."""
from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from shopai.jobs import Progress
from shopai_ui.worker import JobRunner

SHOW_AFTER_MS = 500


def format_eta(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds))} s left"
    if seconds < 3600:
        return f"{round(seconds / 60)} min left"
    return f"{seconds / 3600:.1f} h left"


class ProgressPanel(QWidget):
    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.bar = QProgressBar()
        self.bar.setMinimumWidth(200)
        self.label = QLabel()
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.clicked.connect(runner.request_cancel)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.label, 2)
        layout.addWidget(self.cancel_button)
        self._started_at = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._reveal)
        runner.started.connect(self._on_started)
        runner.progressed.connect(self._on_progress)
        runner.finished.connect(self._on_finished)
        self.hide()

    def _on_started(self) -> None:
        self._started_at = time.monotonic()
        self.cancel_button.setEnabled(True)
        self.cancel_button.setToolTip("")
        self.bar.setRange(0, 0)
        self.label.setText(self.tr("Working…"))
        self._timer.start(SHOW_AFTER_MS)

    def _reveal(self) -> None:
        if self.runner.running:
            self.show()

    def _on_progress(self, progress: Progress) -> None:
        if progress.commit:
            self.cancel_button.setEnabled(False)
            self.cancel_button.setToolTip(self.tr("Almost done: what was made is being saved, too late to cancel"))
        frac = progress.fraction
        text = progress.message
        if frac is None:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(frac * 1000))
            elapsed = time.monotonic() - self._started_at
            if frac > 0.02 and elapsed > 1.0:
                eta = format_eta(elapsed * (1 - frac) / frac)
                text = f"{text} — {eta}" if text else eta
        self.label.setText(text)

    def _on_finished(self) -> None:
        self._timer.stop()
        self.hide()

"""The one job runner: runs a core job (a generator yielding Progress) in a worker thread.

- ``job_factory`` is called inside the worker thread, so the job opens its own database connection there.
- Newest job wins: starting a job cancels the one still running, whose result is then ignored.
- Cancel closes the generator inside the worker thread (its ``finally`` blocks and rollbacks run there)
  and is silent. A job past its ``commit`` progress (``shopai.jobs``) is not closed: it finishes. The Cancel
  button asks with :meth:`JobRunner.request_cancel`, which then says no and keeps the result coming, so a
  job shown as cancelled has changed nothing; :meth:`JobRunner.cancel` (a new job, another shop, quitting)
  forgets the job's result all the same.
- ``UserError`` goes to ``on_error(str)`` for the tab to show in plain words; anything else goes to the
  application's error dialog (``shopai_ui.errors.report_exception``).
"""
from __future__ import annotations

import logging
import threading
import traceback
import weakref
from itertools import count
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from shopai.jobs import Job, Progress, UserError

log = logging.getLogger(__name__)
_job_ids = count(1)
_runners: "weakref.WeakSet[JobRunner]" = weakref.WeakSet()


def shutdown_all(timeout_ms: int = 10_000) -> None:
    """Cancel every runner's jobs and wait for their threads (called once when the app exits)."""
    for runner in list(_runners):
        runner.shutdown(timeout_ms)


class _JobThread(QThread):
    progressed = Signal(int, object)
    succeeded = Signal(int, object)
    user_failed = Signal(int, str)
    crashed = Signal(int, object, str)

    def __init__(self, job_id: int, factory: Callable[[], Job], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.job_id = job_id
        self.factory = factory
        self.stop_requested = threading.Event()
        self.committing = False  # past the job's commit progress: it runs to its end
        self._lock = threading.Lock()

    def try_stop(self) -> bool:
        """Ask the job to stop at its next step; False when it is past its commit progress (it will finish)."""
        with self._lock:
            if self.committing:
                return False
            self.stop_requested.set()
            return True

    def _stops_here(self, progress: Progress | None) -> bool:
        with self._lock:
            if self.committing:
                return False
            if self.stop_requested.is_set():
                return True
            self.committing = progress is not None and progress.commit
            return False

    def run(self) -> None:  # worker thread
        gen = None
        try:
            gen = self.factory()
            while True:
                if self._stops_here(None):
                    gen.close()
                    return
                progress = next(gen)
                if self._stops_here(progress):
                    gen.close()
                    return
                self.progressed.emit(self.job_id, progress)
        except StopIteration as stop:
            self.succeeded.emit(self.job_id, stop.value)
        except UserError as exc:
            self.user_failed.emit(self.job_id, str(exc))
        except Exception as exc:  # routed to the error dialog, never takes the app down
            if self.stop_requested.is_set():
                log.info("job %s raised after cancel: %r", self.job_id, exc)
                return
            self.crashed.emit(self.job_id, exc, traceback.format_exc())


class JobRunner(QObject):
    """Runs one job at a time for its owner (usually a tab)."""

    started = Signal()
    progressed = Signal(object)
    finished = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threads: dict[int, _JobThread] = {}
        self._current: int | None = None
        self._callbacks: dict[int, tuple[Callable | None, Callable | None]] = {}
        _runners.add(self)

    @property
    def running(self) -> bool:
        return self._current is not None

    @property
    def committing(self) -> bool:
        """The running job is past its commit progress: it will finish, whatever is asked."""
        thread = self._threads.get(self._current) if self._current is not None else None
        return thread is not None and thread.committing

    def start(
        self,
        job_factory: Callable[[], Job],
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> int:
        """Start a job; a job already running is cancelled first. Returns the job's id."""
        self.cancel()
        job_id = next(_job_ids)
        thread = _JobThread(job_id, job_factory)
        thread.progressed.connect(self._on_progress)
        thread.succeeded.connect(self._on_success)
        thread.user_failed.connect(self._on_user_error)
        thread.crashed.connect(self._on_crash)
        thread.finished.connect(self._on_thread_finished)
        self._threads[job_id] = thread
        self._callbacks[job_id] = (on_result, on_error)
        self._current = job_id
        self.started.emit()
        thread.start()
        return job_id

    def cancel(self) -> None:
        """Stop the running job at its next progress step (one past its commit progress finishes, unseen);
        silent, its result is dropped."""
        if self._current is None:
            return
        job_id, self._current = self._current, None
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.try_stop()
        self._callbacks.pop(job_id, None)
        self.finished.emit()

    def request_cancel(self) -> bool:
        """The Cancel button: :meth:`cancel`, unless the job is past its commit progress, which then finishes
        and delivers its result as usual. Returns whether it was cancelled."""
        thread = self._threads.get(self._current) if self._current is not None else None
        if thread is not None and not thread.try_stop():
            return False
        self.cancel()
        return True

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Cancel everything and wait for the threads (called when the window closes)."""
        self.cancel()
        for thread in list(self._threads.values()):
            thread.stop_requested.set()
            thread.wait(timeout_ms)

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until every thread has ended (tests and shutdown only)."""
        ok = True
        for thread in list(self._threads.values()):
            ok = thread.wait(timeout_ms) and ok
        return ok

    # --- slots, on the GUI thread ---
    def _finish(self, job_id: int) -> tuple[Callable | None, Callable | None] | None:
        if job_id != self._current:
            return None
        self._current = None
        callbacks = self._callbacks.pop(job_id, (None, None))
        self.finished.emit()
        return callbacks

    @Slot(int, object)
    def _on_progress(self, job_id: int, progress: Progress) -> None:
        if job_id == self._current:
            self.progressed.emit(progress)

    @Slot(int, object)
    def _on_success(self, job_id: int, result: object) -> None:
        callbacks = self._finish(job_id)
        if callbacks and callbacks[0] is not None:
            callbacks[0](result)

    @Slot(int, str)
    def _on_user_error(self, job_id: int, message: str) -> None:
        callbacks = self._finish(job_id)
        if callbacks is None:
            return
        if callbacks[1] is not None:
            callbacks[1](message)
        else:
            from shopai_ui.errors import show_user_message

            show_user_message(message)

    @Slot(int, object, str)
    def _on_crash(self, job_id: int, exc: BaseException, details: str) -> None:
        if self._finish(job_id) is None:
            log.error("ignored failure of a superseded job:\n%s", details)
            return
        from shopai_ui.errors import report_exception

        report_exception(exc, details)

    @Slot()
    def _on_thread_finished(self) -> None:
        for job_id, thread in list(self._threads.items()):
            if thread.isFinished():
                thread.deleteLater()
                del self._threads[job_id]

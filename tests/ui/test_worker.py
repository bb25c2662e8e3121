"""The one job runner: results, plain-words errors, silent cancel that closes the job, newest wins."""
from __future__ import annotations

import threading
import time

from shopai.jobs import Progress, UserError
from shopai_ui.widgets.progress import ProgressPanel, format_eta
from shopai_ui.worker import JobRunner


def _wait_idle(qtbot, runner):
    qtbot.waitUntil(lambda: not runner.running, timeout=5000)
    assert runner.wait(5000)


def test_result_and_progress_reach_the_gui_thread(qtbot):
    runner = JobRunner()
    seen, results = [], []
    runner.progressed.connect(seen.append)

    def job():
        for i in range(3):
            yield Progress(i + 1, 3, f"step {i}")
        return "done"

    runner.start(job, on_result=results.append)
    _wait_idle(qtbot, runner)
    qtbot.waitUntil(lambda: results == ["done"], timeout=2000)
    assert [p.done for p in seen] == [1, 2, 3]


def test_user_error_goes_to_the_tab_in_plain_words(qtbot):
    runner = JobRunner()
    errors = []

    def job():
        yield Progress(0, 1)
        raise UserError("There are no orders yet.")

    runner.start(job, on_error=errors.append)
    qtbot.waitUntil(lambda: errors == ["There are no orders yet."], timeout=5000)


def test_cancel_closes_the_generator_in_the_worker_thread_and_is_silent(qtbot):
    runner = JobRunner()
    closed_in, results, errors = [], [], []
    gate = threading.Event()

    def job():
        try:
            while True:
                gate.wait(0.01)
                yield Progress(0, None)
        finally:
            closed_in.append(threading.current_thread())

    runner.start(job, on_result=results.append, on_error=errors.append)
    qtbot.wait(50)
    runner.cancel()
    assert not runner.running
    assert runner.wait(5000)
    assert closed_in and closed_in[0] is not threading.main_thread()
    assert results == [] and errors == []


def test_newest_job_wins(qtbot):
    runner = JobRunner()
    results = []

    def slow():
        for _ in range(100):
            time.sleep(0.01)
            yield Progress(0, None)
        return "slow"

    def fast():
        yield Progress(1, 1)
        return "fast"

    runner.start(slow, on_result=results.append)
    runner.start(fast, on_result=results.append)
    qtbot.waitUntil(lambda: results == ["fast"], timeout=5000)
    assert runner.wait(5000)
    qtbot.wait(50)
    assert results == ["fast"]


def test_unexpected_errors_go_to_the_error_dialog(qtbot, monkeypatch):
    import shopai_ui.errors as errors

    reported = []
    monkeypatch.setattr(errors, "report_exception", lambda exc, details=None: reported.append((exc, details)))
    runner = JobRunner()

    def job():
        yield Progress(0, 1)
        raise ZeroDivisionError("boom")

    runner.start(job)
    qtbot.waitUntil(lambda: len(reported) == 1, timeout=5000)
    assert isinstance(reported[0][0], ZeroDivisionError)
    assert "ZeroDivisionError" in reported[0][1]


def test_progress_panel_appears_only_for_slow_jobs(qtbot):
    runner = JobRunner()
    panel = ProgressPanel(runner)
    qtbot.addWidget(panel)
    panel.show()
    panel.hide()

    def quick():
        yield Progress(1, 1)

    runner.start(quick)
    _wait_idle(qtbot, runner)
    qtbot.wait(600)
    assert not panel.isVisible()

    def slow():
        for i in range(100):
            time.sleep(0.02)
            yield Progress(i, 100, "working")

    runner.start(slow)
    qtbot.waitUntil(panel.isVisible, timeout=3000)
    panel.cancel_button.click()
    assert not panel.isVisible()
    assert runner.wait(5000)


def test_eta_reads_naturally():
    assert format_eta(5) == "5 s left"
    assert format_eta(150) == "2 min left"


def test_shutdown_all_waits_for_every_runner(qtbot):
    from shopai_ui.worker import shutdown_all

    closed = []

    def endless():
        try:
            while True:
                time.sleep(0.005)
                yield Progress(0, None)
        finally:
            closed.append(True)

    runners = [JobRunner(), JobRunner()]
    for runner in runners:
        runner.start(endless)
    qtbot.wait(30)
    shutdown_all(5000)
    assert closed == [True, True]
    assert all(not r.running for r in runners)


def test_a_long_job_with_many_progress_steps_does_not_crash(qtbot):
    """A 10-minute training sends thousands of progress steps across threads. PySide6 6.12.0 dropped a reference
    to True or False with each signal sent from a worker thread, and the process aborted ("bool_dealloc") after
    a few thousand (pyproject keeps pyside6 below 6.12)."""
    import gc
    import sys

    runner = JobRunner()
    steps, results = [], []
    runner.progressed.connect(lambda p: steps.append(p.done))
    gc.collect()  # references to True held by garbage of earlier tests (argparse cycles) must not count
    start = sys.getrefcount(True)

    def job():
        for i in range(20_000):
            yield Progress(i, 20_000)
        return "done"

    runner.start(job, on_result=results.append)
    qtbot.waitUntil(lambda: results == ["done"], timeout=60_000)
    runner.wait()
    assert len(steps) == 20_000
    assert sys.getrefcount(True) >= start - 100  # not one reference lost per step


def one_long_step(seconds: float):
    """A job whose one step outlasts the app's wait at quit (run in a child process: module level)."""
    yield Progress(0, 1, "training")
    time.sleep(seconds)
    yield Progress(1, 1)


def test_quitting_while_a_training_process_is_in_a_long_step_ends_it_in_time(qtbot):
    # The worker sees a cancel only between two steps; the child's last progress is handed on again while it
    # is silent, so shutdown reaches it at once and ends it after the grace time, well within its 10 s wait.
    from shopai.process_jobs import GRACE_S, in_process

    runner = JobRunner()
    seen = []
    runner.progressed.connect(seen.append)
    runner.start(lambda: in_process(one_long_step, 120))
    qtbot.waitUntil(lambda: any(p.message == "training" for p in seen), timeout=30_000)
    t0 = time.monotonic()
    runner.shutdown(10_000)
    assert runner.wait(1) and time.monotonic() - t0 < GRACE_S + 3


def test_past_its_commit_progress_a_job_finishes_and_cancel_says_no(qtbot, tmp_path):
    # A job shown as cancelled must have changed nothing: once it is making its work permanent, the Cancel
    # button is greyed, a click that still comes is refused, and the result is shown as usual.
    runner = JobRunner()
    panel = ProgressPanel(runner)
    qtbot.addWidget(panel)
    gate, results, out = threading.Event(), [], tmp_path / "model"

    def job():
        yield Progress(0, 1, "working")
        yield Progress(1, 1, "saving", commit=True)
        gate.wait(5)
        out.write_text("saved")
        return "saved"

    runner.start(job, on_result=results.append)
    qtbot.waitUntil(lambda: not panel.cancel_button.isEnabled(), timeout=5000)
    assert runner.request_cancel() is False and runner.running
    gate.set()
    qtbot.waitUntil(lambda: results == ["saved"], timeout=5000)
    assert out.read_text() == "saved"

    runner.start(job, on_result=results.append)  # a new job: Cancel is offered again
    assert panel.cancel_button.isEnabled()
    runner.wait(5000)
    qtbot.waitUntil(lambda: results == ["saved", "saved"], timeout=5000)


def test_cancel_before_the_commit_progress_stops_the_job_before_its_last_step(qtbot, tmp_path):
    runner = JobRunner()
    gate, results, out = threading.Event(), [], tmp_path / "model"

    def job():
        yield Progress(0, 1, "working")
        gate.wait(5)
        yield Progress(1, 1, "saving", commit=True)
        out.write_text("saved")
        return "saved"

    runner.start(job, on_result=results.append)
    qtbot.wait(50)
    assert runner.request_cancel() is True and not runner.running
    gate.set()
    assert runner.wait(5000)
    qtbot.wait(50)
    assert results == [] and not out.exists()

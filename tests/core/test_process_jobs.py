"""``in_process``: a job run in a child process keeps the job protocol (progress, result, UserError, cancel)."""
from __future__ import annotations

import os
import sqlite3
import time

import pytest

from shopai import process_jobs
from shopai.jobs import Cancelled, Progress, UserError, run_job
from shopai.process_jobs import JobProcessError, in_process


# --- jobs the child runs (module level: the child imports them by name) ---------------------------------------
def counting_job(n: int, marker: str | None = None):
    for i in range(n):
        yield Progress(i, n, f"step {i}")
    return {"pid": os.getpid(), "n": n, "marker": marker}


def refusing_job():
    yield Progress(0, 1)
    raise UserError("Too few orders to learn from: import your order history first.")


def crashing_job():
    yield Progress(0, 1)
    return {"x": 1} / 2


def dying_job():
    yield Progress(0, 1)
    os._exit(3)


def endless_writer(db: str, closed_flag: str):
    """Writes inside one transaction and never ends; closing it rolls back and leaves a flag file."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t VALUES (1)")
        while True:
            yield Progress(0, None, "working")
            time.sleep(0.02)
    finally:
        conn.rollback()
        conn.close()
        with open(closed_flag, "w") as f:
            f.write("closed")


def stuck_job(seconds: float):
    yield Progress(0, 1)
    time.sleep(seconds)  # one long step: a stop request is seen only after it
    yield Progress(1, 1)


def committing_writer(path: str):
    """Works, then makes its work permanent after its commit progress (a file put in place)."""
    yield Progress(0, 1, "working")
    yield Progress(1, 1, "saving", commit=True)
    with open(path, "w") as f:
        f.write("saved")
    return "saved"


# --- tests --------------------------------------------------------------------------------------------------
def test_progress_and_result_come_from_the_child():
    seen = []
    result = run_job(in_process(counting_job, 3, marker="m"), on_progress=seen.append)
    assert result["n"] == 3 and result["marker"] == "m" and result["pid"] != os.getpid()
    assert [p.message for p in seen] == ["Starting…", "step 0", "step 1", "step 2"]


def test_a_user_error_in_the_child_is_a_user_error_here():
    with pytest.raises(UserError, match="Too few orders"):
        run_job(in_process(refusing_job))


def test_a_crash_in_the_child_carries_its_traceback():
    with pytest.raises(JobProcessError) as info:
        run_job(in_process(crashing_job))
    assert "TypeError" in str(info.value) and "crashing_job" in str(info.value)


def test_a_child_that_dies_is_reported_not_waited_for():
    with pytest.raises(JobProcessError, match="exit code 3"):
        run_job(in_process(dying_job))


def test_cancel_closes_the_job_in_the_child_so_its_rollback_runs(tmp_path):
    db, flag = tmp_path / "shop.sqlite", tmp_path / "closed"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    job = in_process(endless_writer, str(db), str(flag))
    for _ in range(5):
        next(job)
    job.close()  # what the worker thread does on Cancel
    assert flag.read_text() == "closed"
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    conn.close()


def test_a_child_stuck_in_one_step_is_ended_after_the_grace_time(monkeypatch):
    monkeypatch.setattr(process_jobs, "GRACE_S", 0.5)
    job = in_process(stuck_job, 60)
    next(job)  # "Starting…"
    first = next(job)  # the child's first step: it now sleeps for a minute
    t0 = time.monotonic()
    assert next(job) == first  # handed on again meanwhile: the worker can see a Cancel between steps
    assert time.monotonic() - t0 < 5
    t0 = time.monotonic()
    job.close()
    assert time.monotonic() - t0 < 10


def test_a_job_the_child_cannot_find_by_name_is_a_clear_error():
    def local_job():  # not importable: a child process cannot run it
        yield Progress(0, 1)

    with pytest.raises(Exception, match="(?i)pickle|local"):
        run_job(in_process(local_job))


def test_cancel_before_the_child_starts_starts_none():
    import multiprocessing

    job = in_process(counting_job, 3)
    assert next(job).message == "Starting…"
    job.close()
    assert multiprocessing.active_children() == []


def test_a_cancel_at_the_commit_progress_stops_the_child_before_its_last_step(tmp_path):
    import multiprocessing

    out = tmp_path / "model"
    job = in_process(committing_writer, str(out))
    while not next(job).commit:
        pass
    time.sleep(0.3)  # the child waits to be let on: its work is not permanent yet
    assert not out.exists()
    job.close()  # the worker's Cancel, which came before the commit progress was handed on
    assert not out.exists() and multiprocessing.active_children() == []


def test_a_job_asked_for_more_after_its_commit_progress_finishes_whatever_is_asked_after(tmp_path):
    out = tmp_path / "model"
    seen = []
    assert run_job(in_process(committing_writer, str(out)), on_progress=seen.append,
                   should_stop=lambda: seen[-1].commit) == "saved"  # "stop" once past the commit: too late
    assert out.read_text() == "saved"
    with pytest.raises(Cancelled):  # before it, a stop still stops it, and nothing lands
        run_job(in_process(committing_writer, str(out) + "2"), on_progress=seen.append,
                should_stop=lambda: seen[-1].message == "working")
    assert not os.path.exists(str(out) + "2")

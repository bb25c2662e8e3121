"""UI fixtures: a ShopContext over a fresh shop; Qt runs offscreen."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session", autouse=True)
def _isolated_qsettings(tmp_path_factory):
    """Window geometry and other QSettings go to a temporary folder, never the user's config."""
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                      str(tmp_path_factory.mktemp("qsettings")))


@pytest.fixture
def ctx(qapp, db_path):
    from shopai_ui.context import ShopContext

    context = ShopContext(db_path)
    yield context
    context.close()


@pytest.fixture
def child_jobs(monkeypatch):
    """What the tabs' Train buttons run in a child process: each entry is the job function's name and how many
    child processes were alive at its first progress step. The jobs still run for real, in their process."""
    import multiprocessing

    from shopai import process_jobs

    seen: list[tuple[str, int]] = []

    def recording(func, *args, **kwargs):
        job = process_jobs.in_process(func, *args, **kwargs)
        first = next(job)  # "Starting…", before the child starts
        yield first
        progress = next(job)  # the child's own first step
        seen.append((f"{func.__module__}.{func.__name__}", len(multiprocessing.active_children())))
        yield progress
        return (yield from job)

    for tab in ("categorize", "customers", "forecast", "recommend"):
        monkeypatch.setattr(f"shopai_ui.tabs.{tab}.in_process", recording)
    return seen

"""Fixtures shared by core and UI tests: a fresh shop database and the shared real data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory, monkeypatch):
    """Never touch the real user data folder from a test, nor use a pretrained backbone torch has cached."""
    monkeypatch.setenv("SHOPAI_DATA_DIR", str(tmp_path_factory.mktemp("shopai-data")))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path_factory.mktemp("torch-home")))


@pytest.fixture
def db_path(tmp_path) -> str:
    """A fresh, migrated, empty shop database."""
    from shopai.store import open_store

    path = tmp_path / "shop.sqlite"
    open_store(path).conn.close()
    return str(path)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the checkout; tests that need it skip where it is missing."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture
def read_only():
    """``with read_only(path):`` makes ``path`` read-only, for root too (``chattr +i``), and puts it back;
    the test is skipped where that can't be done."""
    import subprocess
    from contextlib import contextmanager

    @contextmanager
    def make(path: Path):
        if os.name == "nt":
            pytest.skip("no read-only folders on Windows")
        if os.geteuid() == 0:
            if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
                pytest.skip("chattr +i is not available here")
            undo = lambda: subprocess.run(["chattr", "-i", str(path)], check=True)  # noqa: E731
        else:
            mode = path.stat().st_mode
            path.chmod(mode & ~0o222)
            undo = lambda: path.chmod(mode)  # noqa: E731
        try:
            yield path
        finally:
            undo()

    return make

"""The sample shop: a slice of the real UCI Online Retail log (see resources/sample_shop/README.md),
imported through the normal import path so a new user can try every tab at once.

``build_sample_shop_job(db_path)`` builds it (a job: progress, cancel leaves nothing behind);
``ensure_sample_shop()`` returns the path of the one in ``data_dir()/sample-shop/shop.sqlite``, built once.
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from shopai.jobs import Job, Progress, UserError, run_job

SAMPLE_DIRNAME = "sample-shop"


class SampleShop(dict):
    """The build's result: counts (products, customers, orders, order_lines) and ``path``.
    ``str()`` / ``os.fspath()`` of it give the database path, so callers may open it directly."""

    def __str__(self) -> str:
        return self["path"]

    def __fspath__(self) -> str:
        return self["path"]


def sample_files() -> tuple[Path, Path]:
    """(catalog.csv, orders.csv.gz) shipped under resources/sample_shop."""
    base = Path(__file__).resolve().parents[1] / "resources" / "sample_shop"
    try:
        packaged = resources.files("shopai_resources") / "sample_shop"
        if (packaged / "catalog.csv").is_file():
            base = Path(str(packaged))
    except (ModuleNotFoundError, TypeError):
        pass
    catalog, orders = base / "catalog.csv", base / "orders.csv.gz"
    if not catalog.is_file() or not orders.is_file():
        raise UserError(f"The sample shop's files are missing from {base}.")
    return catalog, orders


def sample_shop_path() -> Path:
    """Where the sample shop lives: ``data_dir()/sample-shop/shop.sqlite``."""
    from shopai.paths import DB_FILENAME, data_dir

    return data_dir() / SAMPLE_DIRNAME / DB_FILENAME


sample_db_path = sample_shop_path


def is_built(path: str | os.PathLike | None = None) -> bool:
    """Whether a complete sample shop is at ``path`` (default: :func:`sample_shop_path`)."""
    path = Path(path or sample_shop_path())
    if not path.is_file():
        return False
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT count(*) FROM orders").fetchone()[0] > 0
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def build_sample_shop_job(db_path: str | os.PathLike) -> Job[SampleShop]:
    """Import the sample catalog, then its orders, into a new shop at ``db_path`` (replacing what is there).

    Built beside the target and moved into place at the end, so closing the job early leaves nothing behind.
    """
    from shopai.io import import_job
    from shopai.store import open_store
    from shopai.store.orders import stats

    catalog, orders = sample_files()
    target = Path(db_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".building")
    _remove_db(tmp)
    try:
        open_store(tmp).conn.close()
        yield Progress(0, 2, "Importing the sample catalog")
        for p in import_job(str(tmp), catalog, "catalog"):
            yield Progress(p.fraction or 0, 2, p.message)
        for p in import_job(str(tmp), orders, "orders"):
            yield Progress(1 + (p.fraction or 0), 2, p.message)
        yield Progress(2, 2, "Opening the sample shop", commit=True)  # it is put in place next
        db = open_store(tmp)
        try:
            counts = stats(db)
            db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.conn.close()
        _remove_db(target)
        os.replace(tmp, target)
    finally:
        _remove_db(tmp)
    return SampleShop(path=str(target), **counts)


def ensure_sample_shop() -> str:
    """Path of the sample shop's database, built on first use (a few seconds) and reused afterwards."""
    path = sample_shop_path()
    if not is_built(path):
        run_job(build_sample_shop_job(path))
    return str(path)

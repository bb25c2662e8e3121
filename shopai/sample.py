"""The sample shop: a slice of the real UCI Online Retail log (see resources/sample_shop/README.md),
imported through the normal import path so a new user can try every tab at once."""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from shopai.jobs import Job, Progress, UserError, run_job

SAMPLE_DIRNAME = "sample-shop"


def sample_files() -> tuple[Path, Path]:
    """(catalog.csv, orders.csv.gz) shipped under resources/sample_shop."""
    base = Path(str(resources.files("shopai_resources") / "sample_shop")) if _has_package() else \
        Path(__file__).resolve().parents[1] / "resources" / "sample_shop"
    catalog, orders = base / "catalog.csv", base / "orders.csv.gz"
    if not catalog.is_file() or not orders.is_file():
        raise UserError(f"The sample shop's files are missing from {base}.")
    return catalog, orders


def _has_package() -> bool:
    try:
        return (resources.files("shopai_resources") / "sample_shop" / "catalog.csv").is_file()
    except (ModuleNotFoundError, TypeError):
        return False


def build_sample_shop_job(db_path: str) -> Job[dict]:
    """Import the sample catalog, then its orders, into the shop at ``db_path``. Returns counts."""
    from shopai.io import import_job
    from shopai.store import open_store
    from shopai.store.orders import stats

    catalog, orders = sample_files()
    yield Progress(0, 2, "Importing the sample catalog")
    for p in import_job(db_path, catalog, "catalog"):
        yield Progress(p.fraction or 0, 2, p.message)
    for p in import_job(db_path, orders, "orders"):
        yield Progress(1 + (p.fraction or 0), 2, p.message)
    db = open_store(db_path)
    try:
        return stats(db)
    finally:
        db.conn.close()


def sample_db_path() -> Path:
    from shopai.paths import DB_FILENAME, data_dir

    return data_dir() / SAMPLE_DIRNAME / DB_FILENAME


def ensure_sample_shop() -> str:
    """Path of the sample shop's database, built on first use (a few seconds) and reused afterwards."""
    path = sample_db_path()
    if path.is_file():
        from shopai.store import open_store

        db = open_store(path)
        try:
            if db.conn.execute("SELECT count(*) FROM orders").fetchone()[0] > 0:
                return str(path)
        finally:
            db.conn.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".building")
    for suffix in ("", "-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
        Path(str(path) + suffix).unlink(missing_ok=True)
    run_job(build_sample_shop_job(str(tmp)))
    from shopai.store import open_store

    db = open_store(tmp)
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    for suffix in ("-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    os.replace(tmp, path)
    return str(path)

"""Where the shop's database, models, backups and logs live.

The platform's user data dir (platformdirs) unless ``SHOPAI_DATA_DIR`` or an explicit path says otherwise.
"""
from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "ShopAI"
DB_FILENAME = "shop.sqlite"


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """The folder holding the shop; created if missing."""
    if override:
        path = Path(override)
    elif os.environ.get("SHOPAI_DATA_DIR"):
        path = Path(os.environ["SHOPAI_DATA_DIR"])
    else:
        from platformdirs import user_data_dir

        path = Path(user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_path() -> Path:
    return data_dir() / DB_FILENAME


def shop_dir(db_path: str | os.PathLike) -> Path:
    """The folder that belongs to a given database: models, images, backups and logs sit beside it."""
    return Path(db_path).resolve().parent


def subdir(db_path: str | os.PathLike, name: str) -> Path:
    """A named sub-folder of the shop folder (``models``, ``images``, ``backups``, ``logs``), created."""
    path = shop_dir(db_path) / name
    path.mkdir(parents=True, exist_ok=True)
    return path

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


def log_dir(db_path: str | os.PathLike) -> Path:
    """The shop's ``logs`` folder; the user data folder's ``logs`` when the shop's folder can't be written."""
    try:
        return subdir(db_path, "logs")
    except OSError:
        path = data_dir() / "logs"
        path.mkdir(parents=True, exist_ok=True)
        return path


def read_only_reason(db_path: str | os.PathLike) -> str | None:
    """Why ShopAI could not save to this shop (its folder or file is read-only), or None when it can.

    The folder matters too: SQLite writes its ``-wal``/``-shm`` files, and ShopAI its backups, beside the file.
    """
    path = Path(db_path)
    folder = path.resolve().parent
    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        return "its folder is read-only"
    if path.is_file() and not os.access(path, os.W_OK):
        return "the file is read-only"
    return None


def new_file_name(stem: str, suffix: str) -> str:
    """A file name no save has used yet (``stem-1a2b3c4d.suffix``): a model written under it replaces nothing
    until the description naming it does, so a save cut off half-way leaves the model before whole."""
    import secrets

    return f"{stem}-{secrets.token_hex(4)}{suffix}"


def remove_files_except(folder: Path, patterns: tuple[str, ...], keep: set[str]) -> None:
    """Delete the files of ``folder`` matching ``patterns`` (globs) whose names are not in ``keep``: the model
    files no description names any more."""
    for pattern in patterns:
        for old in folder.glob(pattern):
            if old.name not in keep:
                old.unlink(missing_ok=True)

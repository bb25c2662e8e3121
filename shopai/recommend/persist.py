"""Saving and loading the trained recommender: one ``.npz`` of arrays (no pickle) + one JSON.

The JSON is written last and names the npz it belongs to, so a cancelled or crashed save leaves
the previous model in use. The JSON carries ``format_version``; an older or damaged model gives a
:class:`UserError` asking to train again, never a crash.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from shopai.jobs import UserError
from shopai.paths import subdir

FORMAT_VERSION = 1
META_NAME = "recommend.json"


def model_dir(db_path: str) -> Path:
    return subdir(db_path, "models")


def save(db_path: str, meta: dict, arrays: dict[str, np.ndarray]) -> Path:
    """Write arrays then the JSON pointing at them (atomic replace); remove the model this one replaces."""
    folder = model_dir(db_path)
    old = _current_npz(folder)
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    npz = folder / f"recommend-{stamp}.npz"
    tmp = npz.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    os.replace(tmp, npz)
    meta = dict(meta, format_version=FORMAT_VERSION, arrays_file=npz.name)
    meta_tmp = folder / (META_NAME + ".tmp")
    meta_tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(meta_tmp, folder / META_NAME)
    if old is not None and old != npz:
        try:
            old.unlink()
        except OSError:
            pass
    return folder / META_NAME


def _current_npz(folder: Path) -> Path | None:
    try:
        meta = json.loads((folder / META_NAME).read_text(encoding="utf-8"))
        return folder / str(meta["arrays_file"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def exists(db_path: str) -> bool:
    return (model_dir(db_path) / META_NAME).is_file()


def load(db_path: str) -> tuple[dict, dict[str, np.ndarray]] | None:
    """The saved model's metadata and arrays, None if none was trained; UserError if unusable."""
    folder = model_dir(db_path)
    path = folder / META_NAME
    if not path.is_file():
        return None
    retrain = "Press Train on the Recommendations tab (or run `shopai-cli train recommend`) to make a new one."
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            raise ValueError("not an object")
    except (OSError, ValueError, UnicodeDecodeError):
        raise UserError(f"The saved recommendation model is damaged. {retrain}") from None
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise UserError(f"The saved recommendation model was made by another version of ShopAI "
                        f"(format {version}, this one reads {FORMAT_VERSION}). {retrain}")
    try:
        with np.load(folder / str(meta["arrays_file"]), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError, EOFError) as exc:
        raise UserError(f"The saved recommendation model is damaged ({type(exc).__name__}). {retrain}") from None
    except Exception as exc:  # zipfile.BadZipFile and friends
        raise UserError(f"The saved recommendation model is damaged ({type(exc).__name__}). {retrain}") from None
    return meta, arrays

"""ShopAI core: storage, import/export, models and voice. Never imports Qt."""

import sys as _sys

__version__ = "0.1.0"


def _import_sqlite_utils_without_pandas() -> None:
    """Import sqlite-utils without the pandas import it does eagerly (about 0.5 s of start-up).

    sqlite-utils only uses pandas to recognise DataFrame values handed to its write helpers, and ShopAI
    never hands it any (all writes go through the raw connection). Where pandas is already loaded,
    nothing changes.
    """
    if "sqlite_utils" in _sys.modules or "pandas" in _sys.modules:
        return
    _sys.modules["pandas"] = None  # type: ignore[assignment]  # makes `import pandas` raise ImportError
    try:
        import sqlite_utils  # noqa: F401
    finally:
        del _sys.modules["pandas"]


_import_sqlite_utils_without_pandas()

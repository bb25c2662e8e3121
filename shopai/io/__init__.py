"""Import and export of catalog and order CSV files (Shopify, WooCommerce, Square, any spreadsheet).

The UI and CLI use these four calls; ``kind`` is "catalog" or "orders":

- :func:`preview` — a dry run (writes nothing): mapping, counts, per-row problems, sample rows
  (:func:`preview_job` is the same as a job, for a worker thread: large files take seconds);
- :func:`import_job` — the import as a job (a generator yielding Progress), all in one transaction;
- :func:`undo_import`, :func:`list_imports`.
"""
from __future__ import annotations

import os

import sqlite_utils

from shopai.io.common import ImportPreview, ImportReport, list_imports, undo_import
from shopai.io.sniff import RowProblem
from shopai.jobs import Job, UserError

KINDS = ("catalog", "orders")

__all__ = ["ImportPreview", "ImportReport", "RowProblem", "preview", "preview_job", "import_job", "undo_import",
           "list_imports", "KINDS", "guess_kind"]


def _module(kind: str):
    if kind == "catalog":
        from shopai.io import catalog_import as mod
    elif kind == "orders":
        from shopai.io import orders_import as mod
    else:
        raise UserError(f"Unknown import kind {kind!r}: use 'catalog' or 'orders'.")
    return mod


def preview(db: sqlite_utils.Database, path: str | os.PathLike, kind: str,
            mapping: dict[str, str | None] | None = None) -> ImportPreview:
    """Dry run of importing ``path`` as ``kind``: nothing is written."""
    return _module(kind).preview(db, path, mapping)


def import_job(db_path: str, path: str | os.PathLike, kind: str,
               mapping: dict[str, str | None] | None = None) -> Job[ImportReport]:
    """Import ``path`` as ``kind`` into the shop at ``db_path`` (a job: yields Progress, returns the report)."""
    return _module(kind).import_job(db_path, path, mapping)


def preview_job(db_path: str, path: str | os.PathLike, kind: str,
                mapping: dict[str, str | None] | None = None) -> Job[ImportPreview]:
    """:func:`preview` as a job for a worker thread: opens its own connection, yields Progress, writes nothing."""
    from shopai.store import open_store

    db = open_store(db_path)
    try:
        return (yield from _module(kind).preview_steps(db, path, mapping))
    finally:
        db.conn.close()


def guess_kind(path: str | os.PathLike) -> str | None:
    """'catalog' or 'orders' when the file's header says which (for drag-and-drop), else None."""
    from shopai.io.formats import detect_kind
    from shopai.io.sniff import read_table

    return detect_kind(read_table(path).header)

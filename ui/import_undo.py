"""Undoing an import, from the import dialog right after it or from File ▸ Past imports… later: the job, the
tables it changes, and what to tell the owner."""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from shopai.jobs import Job, Progress

CHANGED_TABLES = {"products", "categories", "customers", "orders", "order_lines", "price_history", "imports"}


def undo_job(db_path: str, import_id: int) -> Job[dict]:
    """``shopai.io.undo_import`` as a job on its own connection; one transaction, so past its start it finishes."""
    from shopai import io
    from shopai.store import connect

    yield Progress(0, None, "Undoing the import…", commit=True)
    db = connect(db_path)
    try:
        return io.undo_import(db, import_id)
    finally:
        db.conn.close()


def undone_text(import_id: int, counts: dict) -> str:
    """What an undo did, in a sentence (products that later orders name stay)."""
    def tr(text: str) -> str:
        return QCoreApplication.translate("ImportDialog", text)

    kept = counts.get("products_kept") or 0
    if kept == 1:
        return tr("Import {0} was undone, except for 1 product that orders imported since refer to: it stays in "
                  "the catalog, in its category.").format(import_id)
    if kept:
        return tr("Import {0} was undone, except for {1:,} products that orders imported since refer to: they "
                  "stay in the catalog, in their categories.").format(import_id, kept)
    return tr("Import {0} was undone: the shop is back as it was before it.").format(import_id)

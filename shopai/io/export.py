"""CSV export of the catalog and the orders, safe to open in a spreadsheet.

Files are UTF-8 with a BOM (so Excel reads Chinese and accented titles right). Every text cell goes through
:func:`safe_cell`: a cell that a spreadsheet would run as a formula (starting with = + - @, a tab or a
carriage return) gets a leading apostrophe; plain numbers, negative ones included, stay numbers.

Each export is a job (``export_catalog_job``, ``export_orders_job``, ``write_csv_job``: generators yielding
:class:`~shopai.jobs.Progress`, returning the row count) that the app runs in a worker thread; the plain
functions run the same job here. A file appears complete or not at all: the rows go to a temporary file next to
the target, renamed over it at the end.
"""
from __future__ import annotations

import csv
import os
import re
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import sqlite_utils

from shopai.jobs import Job, Progress, UserError, run_job

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

CATALOG_HEADER = ["sku", "title", "description", "category", "vendor", "price", "cost", "stock", "image_path",
                  "status", "created_at", "updated_at"]
ORDERS_HEADER = ["order_id", "ordered_at", "status", "customer_id", "customer_name", "email", "country", "sku",
                 "title", "quantity", "unit_price", "line_total"]
_QUANTITY = ORDERS_HEADER.index("quantity")
PROGRESS_EVERY = 5_000  # rows between two Progress steps of an export job (a few ms of writing)


def safe_cell(value: Any) -> Any:
    """A value safe to put in a spreadsheet cell: formulas neutralised with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value)
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


class CannotWrite(UserError, OSError):
    """An export that could not be written: a UserError (shown in plain words), and an OSError still."""


def write_csv(path: str | os.PathLike, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write a CSV (UTF-8 with BOM, every cell through :func:`safe_cell`) atomically; returns the row count."""
    return run_job(write_csv_job(path, header, rows))


def write_csv_job(path: str | os.PathLike, header: Sequence[str], rows: Iterable[Sequence[Any]],
                  total: int | None = None, what: str = "rows") -> Job[int]:
    """Job form of :func:`write_csv`: yields Progress every :data:`PROGRESS_EVERY` rows, returns the row count.

    The rows go to a temporary file next to ``path`` (a hidden ``.NAME.XXXXXXXX.part``) that is renamed over
    ``path`` only once it is complete: closed early (cancel) or failed, the job removes it, leaves an existing
    file at ``path`` as it was, and takes away the folders it had to create for it. A file that can't be written
    (no such folder, no permission, disk full) raises :class:`CannotWrite` with the reason in plain words.
    """
    path = Path(path)
    missing = _missing_folders(path.parent)
    tmp: Path | None = None
    done = False
    n = 0
    try:
        if missing:
            missing[-1].mkdir(parents=True, exist_ok=True)
        tmp, f = _open_temp(path)
        with f:
            writer = csv.writer(f, lineterminator="\r\n")
            writer.writerow([safe_cell(h) for h in header])
            yield Progress(0, total, _writing(what, 0, total))
            for row in rows:
                writer.writerow([safe_cell(v) for v in row])
                n += 1
                if n % PROGRESS_EVERY == 0:
                    yield Progress(n, total, _writing(what, n, total))
        # one last step between the complete file and the rename: a cancel up to here changes nothing
        yield Progress(n, total or n, _writing(what, n, total), commit=True)
        os.replace(tmp, path)
        done = True
    except OSError as exc:  # the reason, not the temporary file's name or an errno
        raise CannotWrite(exc.strerror or str(exc)) from None
    finally:
        if not done:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
            for folder in reversed(missing):  # deepest first; a folder someone else filled meanwhile stays
                try:
                    folder.rmdir()
                except FileNotFoundError:
                    continue
                except OSError:
                    break
    return n


def write_problems_job(path: str | os.PathLike, problems: Sequence[Any]) -> Job[int]:
    """Every problem of a dry run or an import (``RowProblem``s) as a CSV the owner can open and sort: the row
    of the file (empty for the whole file), whether the row was skipped or imported with a note, and why."""
    rows = ((p.row or "", "skipped" if p.skipped else "imported with a note", p.message) for p in problems)
    return (yield from write_csv_job(path, ["Row", "Outcome", "Reason"], rows, total=len(problems), what="problems"))


def _writing(what: str, n: int, total: int | None) -> str:
    return f"Exporting {what} ({n:,} of {total:,})" if total else f"Exporting {what} ({n:,})"


def _missing_folders(folder: Path) -> list[Path]:
    """The folders from the first missing one down to ``folder`` (none when it exists), outermost first."""
    missing = []
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    return missing[::-1]


def _open_temp(path: Path):
    """A new, uniquely named file next to ``path`` (so two exports to one name never share it), open for
    writing; made with the usual permissions (not mkstemp's owner-only ones) as it becomes the export."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        try:
            return tmp, open(tmp, "x", encoding="utf-8-sig", newline="")
        except FileExistsError:
            continue


@contextmanager
def reading(db: sqlite_utils.Database | str | os.PathLike) -> Iterator[sqlite_utils.Database]:
    """``db`` itself, or for a path a connection of this thread's own, reading one snapshot, closed after."""
    if isinstance(db, sqlite_utils.Database):
        yield db
        return
    from shopai.store import connect

    own = connect(db)
    try:
        own.conn.execute("BEGIN")  # one snapshot for every query of the export
        yield own
    finally:
        own.conn.close()


def export_catalog(db: sqlite_utils.Database, path: str | os.PathLike) -> int:
    """Every product, sorted by SKU; a category in the shop's tree is written as its path ("Home > Kitchen >
    Mugs"), which the importer reads back into the same tree. Returns how many rows were written."""
    return run_job(export_catalog_job(db, path))


def export_catalog_job(db: sqlite_utils.Database | str | os.PathLike, path: str | os.PathLike) -> Job[int]:
    """Job form of :func:`export_catalog`. ``db`` may be the shop's path: the job then opens (and closes) its
    own connection in the thread that runs it, as a job in the app's worker thread must."""
    with reading(db) as db:
        paths = category_paths(db)
        total = db.conn.execute("SELECT count(*) FROM products").fetchone()[0]
        i = CATALOG_HEADER.index("category")
        cur = db.conn.execute(f"SELECT {', '.join(CATALOG_HEADER)} FROM products ORDER BY sku")
        rows = ([*r[:i], paths.get(r[i], r[i]), *r[i + 1:]] for r in cur)
        return (yield from write_csv_job(path, CATALOG_HEADER, rows, total, "products"))


def category_paths(db: sqlite_utils.Database) -> dict[str, str]:
    """Each category that has a parent, as "Root > … > Name" (a loop in the tree is cut where it closes)."""
    parent = {name: pid for name, pid in db.conn.execute(
        "SELECT c.name, p.name FROM categories c LEFT JOIN categories p ON p.id = c.parent_id")}
    out = {}
    for name, up in parent.items():
        if up is None:
            continue
        chain, seen = [name], {name}
        while up is not None and up not in seen:
            chain.append(up)
            seen.add(up)
            up = parent.get(up)
        out[name] = " > ".join(reversed(chain))
    return out


def export_orders(db: sqlite_utils.Database, path: str | os.PathLike) -> int:
    """One row per order line, oldest order first; re-imports as an orders file. Returns the row count."""
    return run_job(export_orders_job(db, path))


def export_orders_job(db: sqlite_utils.Database | str | os.PathLike, path: str | os.PathLike) -> Job[int]:
    """Job form of :func:`export_orders` (``db`` as for :func:`export_catalog_job`)."""
    with reading(db) as db:
        total = db.conn.execute("SELECT count(*) FROM order_lines l JOIN orders o ON o.id = l.order_id").fetchone()[0]
        yield Progress(0, total, "Reading the orders")
        cur = db.conn.execute(
            "SELECT o.external_id, l.ordered_at, o.status, c.external_id, c.name, c.email, o.country, "
            "coalesce(p.sku, l.deleted_sku), coalesce(p.title, l.deleted_title), "
            "l.quantity, "
            "l.unit_price, round(l.quantity * l.unit_price, 2) FROM order_lines l JOIN orders o ON o.id = l.order_id "
            "LEFT JOIN customers c ON c.id = o.customer_id LEFT JOIN products p ON p.id = l.product_id "
            "ORDER BY o.ordered_at, o.id, l.id")
        return (yield from write_csv_job(path, ORDERS_HEADER, (_whole(row) for row in cur), total, "order lines"))


def _whole(row: tuple) -> list:
    """Quantities like 6.0 written as 6."""
    return [int(v) if isinstance(v, float) and v.is_integer() and i == _QUANTITY else v for i, v in enumerate(row)]

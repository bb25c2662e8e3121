"""``shopai-cli import catalog|orders FILE`` (``--dry-run``, ``--map field=column``), ``import list``,
``import undo ID``."""
from __future__ import annotations

import argparse
import dataclasses
import sys

from shopai.cli.common import add_command, db_path, drive, open_db, print_json
from shopai.jobs import UserError

SHOWN_PROBLEMS = 15
SHOWN_NOTES = 10  # rows kept with a note (a stock left empty, a cancelled line)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import a catalog or orders CSV (Shopify, WooCommerce, Square, any sheet)",
                       description="Import a CSV file into the shop. All valid rows go in one transaction; "
                                   "a failed import writes nothing; `import undo ID` takes one back.")
    what = p.add_subparsers(dest="what", metavar="WHAT")
    what.required = True
    for kind in ("catalog", "orders"):
        q = add_command(what, kind, "import a catalog CSV file" if kind == "catalog" else "import an orders CSV file")
        q.add_argument("file", help="the CSV file (.csv, .txt or .csv.gz)")
        q.add_argument("--dry-run", action="store_true", help="check the file and show what would happen")
        q.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                       help="use COLUMN for FIELD (repeatable); FIELD= leaves a field out")
        q.set_defaults(func=run_import, kind=kind)
    q = add_command(what, "list", "list past imports")
    q.set_defaults(func=run_list)
    q = add_command(what, "undo", "undo an import (rows it created are removed, rows it changed restored)")
    q.add_argument("import_id", type=int)
    q.set_defaults(func=run_undo)


def parse_map(items: list[str]) -> dict[str, str | None] | None:
    if not items:
        return None
    out: dict[str, str | None] = {}
    for item in items:
        if "=" not in item:
            raise UserError(f"--map {item!r}: write it as FIELD=COLUMN, e.g. --map title=\"Product Name\".")
        field, column = item.split("=", 1)
        out[field.strip()] = column.strip() or None
    return out


def _as_dict(obj) -> dict:
    d = dataclasses.asdict(obj)
    d["problems"] = [{"row": p.row, "message": p.message, "skipped": p.skipped} for p in obj.problems]
    return d


def _show_problems(problems, out=None) -> None:
    """The skipped rows with their reasons, then the rows kept with a note ("stock '40件' is not a number; left
    empty", a cancelled line): the first few of each and how many more."""
    out = out or sys.stdout  # looked up now: a default bound at import keeps a stdout that may be gone
    skipped = [p for p in problems if p.skipped]
    noted = [p for p in problems if not p.skipped]
    for rows, heading, shown in ((skipped, "skipped", SHOWN_PROBLEMS), (noted, "kept with a note", SHOWN_NOTES)):
        if not rows:
            continue
        print(f"{len(rows):,} {'row' if len(rows) == 1 else 'rows'} {heading}:", file=out)
        for p in rows[:shown]:
            where = f"row {p.row}" if p.row else "file"
            print(f"  {where}: {p.message}", file=out)
        if len(rows) > shown:
            print(f"  … and {len(rows) - shown:,} more", file=out)


def run_import(args: argparse.Namespace) -> int:
    from shopai.io import import_job, preview

    mapping = parse_map(args.map)
    if args.dry_run:
        pv = preview(open_db(args), args.file, args.kind, mapping)
        if pv.missing_required:
            raise UserError(pv.problems[0].message + "; choose with --map FIELD=COLUMN (columns: "
                            + ", ".join(pv.columns[:12]) + ")")
        if args.json:
            d = _as_dict(pv)
            d["missing_required"] = pv.missing_required
            print_json(d)
            return 0
        print(f"{args.file}: {pv.format} {pv.kind} file, {pv.encoding}, delimiter {pv.delimiter!r}")
        fallback = getattr(pv, "fallback", {}) or {}
        print("Columns used: " + ", ".join(
            f"{f} ← {c}" + "".join(f" (else {alt})" for alt in fallback.get(f, [])) for f, c in pv.mapping.items() if c))
        print(f"{pv.rows_ok:,} of {pv.rows_total:,} rows can be imported"
              + (f" ({pv.would_create:,} new, {pv.would_update:,} changed)" if pv.kind == "catalog"
                 else f" ({pv.would_create:,} new {'order' if pv.would_create == 1 else 'orders'}, "
                      f"{pv.would_update:,} already in the shop changed)") + ". Nothing was written (dry run).")
        for note in pv.notes:
            print(note)
        _show_problems(pv.problems)
        return 0
    report = drive(import_job(db_path(args), args.file, args.kind, mapping), args)
    if args.json:
        print_json(_as_dict(report))
        return 0
    print(report.summary())
    for note in report.notes:
        print(note)
    _show_problems(report.problems)
    print(f"Undo it with: shopai-cli import undo {report.import_id}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from shopai.io import list_imports

    rows = list_imports(open_db(args))
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        undone = f"  undone {r['undone_at']}" if r["undone_at"] else ""
        print(f"{r['id']:>4}  {r['started_at']}  {r['kind']:<8} {r['format'] or '':<12} "
              f"{r['rows_ok']:>8,} ok {r['rows_skipped']:>6,} skipped  {r['file']}{undone}")
    return 0


def run_undo(args: argparse.Namespace) -> int:
    from shopai.io import undo_import

    counts = undo_import(open_db(args), args.import_id)
    if args.json:
        print_json(counts)
    else:
        print(f"Import {args.import_id} undone: " + ", ".join(f"{k.replace('_', ' ')} {v:,}"
                                                              for k, v in counts.items()))
    return 0

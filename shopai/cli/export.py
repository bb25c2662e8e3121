"""``shopai-cli export catalog|orders FILE``: CSV for a spreadsheet (UTF-8 with BOM, formulas neutralised)."""
from __future__ import annotations

import argparse

from shopai.cli.common import add_command, open_db, print_json
from shopai.jobs import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export the catalog or the orders to CSV",
                       description="Export to a CSV file that spreadsheets open safely.")
    what = p.add_subparsers(dest="what", metavar="WHAT")
    what.required = True
    for kind in ("catalog", "orders"):
        q = add_command(what, kind, f"export the {kind} to a CSV file")
        q.add_argument("file", help="where to write the CSV")
        q.set_defaults(func=run, kind=kind)


def run(args: argparse.Namespace) -> int:
    from shopai.io.export import export_catalog, export_orders

    db = open_db(args)
    try:
        n = (export_catalog if args.kind == "catalog" else export_orders)(db, args.file)
    except OSError as exc:
        raise UserError(f"cannot write {args.file}: {exc.strerror or exc}") from None
    if args.json:
        print_json({"file": str(args.file), "rows": n})
    else:
        print(f"Wrote {n:,} {'row' if n == 1 else 'rows'} to {args.file}")
    return 0

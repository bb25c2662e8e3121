"""Entry point of ``shopai-cli``. Exit 0 on success, 2 on bad input with a one-line reason on stderr."""
from __future__ import annotations

import argparse
import importlib
import sqlite3
import sys

from shopai.jobs import Cancelled, UserError
from shopai.store.schema import SchemaTooNew

# Command modules, each with ``register(subparsers)`` adding parsers whose default ``func(args) -> int``.
COMMAND_MODULES = [
    "shopai.cli.stats",
    "shopai.cli.train",
    "shopai.cli.safety",
    "shopai.cli.recommend",
    "shopai.cli.imports",
    "shopai.cli.export",
    "shopai.cli.search",
    "shopai.cli.customers",
    "shopai.cli.voice",
    "shopai.cli.forecast",
    "shopai.cli.categorize",
    # -- new command modules go above this line --
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shopai-cli", description="ShopAI from the command line.")
    # --db is taken before the command too (``shopai-cli --db PATH stats``); after it, it wins.
    parser.add_argument("--db", metavar="PATH", dest="db_before", help="shop database (also after COMMAND)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "db", None) is None:
        args.db = args.db_before
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"shopai-cli: {exc}", file=sys.stderr)
        return 2
    except SchemaTooNew as exc:
        print(f"shopai-cli: {exc} Install the newer ShopAI, or restore an older backup.", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:  # the file given is no (sound) database: bad input, not a bug
        if "malformed" in str(exc):
            what = "is damaged"
        elif "not a database" in str(exc) or "file is encrypted" in str(exc):
            what = "is not a ShopAI shop (not a database)"
        else:
            raise
        from shopai.cli.common import db_path

        print(f"shopai-cli: {db_path(args)} {what}; `shopai-cli check` says more", file=sys.stderr)
        return 2
    except (Cancelled, KeyboardInterrupt):
        print("shopai-cli: cancelled", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())

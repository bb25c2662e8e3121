"""Helpers every CLI command module uses: adding a subcommand, opening the db, printing, progress."""
from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from typing import Any

import sqlite_utils

from shopai.jobs import Job, Progress, UserError, run_job

COMMON = argparse.ArgumentParser(add_help=False)
COMMON.add_argument("--db", metavar="PATH", help="shop database (default: the user data folder, or $SHOPAI_DATA_DIR)")
COMMON.add_argument("--json", action="store_true", help="machine-readable output")
COMMON.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")


def add_command(sub: argparse._SubParsersAction, name: str, help: str, **kwargs: Any) -> argparse.ArgumentParser:
    """Add a subcommand that takes the common options (--db, --json, --quiet) too."""
    # argparse %-formats help strings (not descriptions): "80% range" must reach it as "80%% range".
    return sub.add_parser(name, help=help.replace("%", "%%"), description=help, parents=[COMMON], **kwargs)


def db_path(args: argparse.Namespace) -> str:
    from shopai.paths import default_db_path

    return str(getattr(args, "db", None) or default_db_path())


def open_db(args: argparse.Namespace) -> sqlite_utils.Database:
    from shopai.store import open_store

    path = db_path(args)
    refuse_foreign_database(path)
    return open_store(path)


def refuse_foreign_database(path: str) -> None:
    """UserError for another program's SQLite file: opening it as a shop would write the shop's tables into it."""
    import sqlite3
    from pathlib import Path

    p = Path(path)
    try:
        with open(p, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                return  # missing, empty (a new shop) or no database: open_store says what is wrong
        conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except (OSError, sqlite3.DatabaseError):
        return  # unreadable or damaged: open_store (and main's handler) report it
    if tables and version == 0 and "products" not in tables:
        raise UserError(f"{p.name} is an SQLite database, but not a ShopAI shop; nothing was changed. "
                        "Give --db the shop's file (shop.sqlite).")


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def drive(job: Job, args: argparse.Namespace) -> Any:
    """Run a job to its end, drawing its progress on stderr unless --quiet."""
    quiet = getattr(args, "quiet", False) or not sys.stderr.isatty()

    def show(p: Progress) -> None:
        if quiet:
            return
        frac = p.fraction
        pct = f"{frac * 100:5.1f}% " if frac is not None else ""
        sys.stderr.write(f"\r{pct}{p.message[:70]:<70}")
        sys.stderr.flush()

    try:
        return run_job(job, on_progress=show)
    finally:
        if not quiet:
            sys.stderr.write("\n")


def cell(text: Any, width: int) -> str:
    """``text`` cut and padded to ``width`` terminal columns: a Chinese character takes two, so a table of
    Chinese titles lines up as an English one does."""
    out, used = [], 0
    for ch in str(text):
        w = 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        if used + w > width:
            break
        out.append(ch)
        used += w
    return "".join(out) + " " * (width - used)

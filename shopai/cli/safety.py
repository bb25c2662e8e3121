"""``shopai-cli backup FILE``, ``shopai-cli restore FILE``, ``shopai-cli check``."""
from __future__ import annotations

import argparse
import sys

from shopai.cli.common import add_command, db_path, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "backup", "copy the shop database to FILE (verified; FILE may be a folder)")
    p.add_argument("file", metavar="FILE", help="where to write the backup")
    p.set_defaults(func=run_backup)

    p = add_command(sub, "restore", "replace the shop with the backup FILE (the current file is kept aside)")
    p.add_argument("file", metavar="FILE", help="a backup made by ShopAI (an older version's is migrated)")
    p.set_defaults(func=run_restore)

    p = add_command(sub, "check", "check the shop database; exit 0 when sound, 1 with the reason when not")
    p.add_argument("--full", action="store_true", help="PRAGMA integrity_check instead of quick_check")
    p.set_defaults(func=run_check)


def run_backup(args: argparse.Namespace) -> int:
    from shopai.safety import backup_to

    target = backup_to(db_path(args), args.file)
    size = target.stat().st_size
    if args.json:
        print_json({"backup": str(target), "bytes": size, "verified": True})
    elif not args.quiet:
        print(f"backup written and verified: {target} ({size / 1e6:.1f} MB)")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from shopai.safety import restore

    result = restore(db_path(args), args.file)
    if args.json:
        print_json({
            "restored_from": str(result.restored_from),
            "set_aside": str(result.set_aside) if result.set_aside else None,
            "from_version": result.from_version,
            "to_version": result.to_version,
        })
    elif not args.quiet:
        print(f"restored from {result.restored_from}")
        if result.migrated:
            print(f"upgraded from schema {result.from_version} to {result.to_version}")
        if result.set_aside:
            print(f"the previous shop file was kept at {result.set_aside}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    from shopai.safety import examine, newest_good_backup
    from shopai.safety.check import NEW

    path = db_path(args)
    result = examine(path, quick=not args.full, live=True)
    if not result.ok:
        result.backup = newest_good_backup(path)
    if args.json:
        print_json({
            "path": str(result.path), "status": result.status, "ok": result.ok, "message": result.message,
            "details": result.details, "schema_version": result.schema_version,
            "backup": str(result.backup.path) if result.backup else None,
        })
    if result.status == NEW:
        if not args.json:
            print(f"shopai-cli: there is no shop database at {path}", file=sys.stderr)
        return 1
    if not result.ok:
        if not args.json:
            print(f"shopai-cli: {result.reason}", file=sys.stderr)
        return 1
    if not args.json and not args.quiet:
        print(f"ok: {path} (schema {result.schema_version})")
    return 0

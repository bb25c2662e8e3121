"""``shopai-cli stats``: how much the shop holds."""
from __future__ import annotations

import argparse

from shopai.cli.common import add_command, open_db, print_json
from shopai.store import orders


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "stats", "count products, customers, orders and order lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    counts = orders.stats(open_db(args))
    if args.json:
        print_json(counts)
    else:
        for key, value in counts.items():
            print(f"{key.replace('_', ' '):<12} {value:>10,}")
    return 0

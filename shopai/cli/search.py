"""``shopai-cli search TEXT``: the best catalog matches (FTS5)."""
from __future__ import annotations

import argparse

from shopai.cli.common import add_command, open_db, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "search", "search the catalog by words in the title, description, SKU or category")
    p.add_argument("text", nargs="+", help="what to look for")
    p.add_argument("--limit", type=int, default=10, help="how many matches (default 10)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from shopai.store.products import search

    hits = search(open_db(args), " ".join(args.text), limit=max(1, args.limit))
    rows = [{"sku": h["sku"], "title": h["title"], "price": h["price"], "category": h["category"],
             "status": h.get("status", "active")} for h in hits]
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("No matches.")
    for r in rows:
        price = f"{r['price']:>9.2f}" if r["price"] is not None else " " * 9
        print(f"{r['sku']:<14} {price}  {r['title']}" + (f"  [{r['category']}]" if r["category"] else "")
              + ("" if r["status"] == "active" else f"  ({r['status']})"))
    return 0

"""``shopai-cli recommend`` and ``shopai-cli similar``: ask the trained recommender."""
from __future__ import annotations

import argparse

from shopai.cli.common import add_command, cell, db_path, open_db, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "recommend", "products to offer a customer next (train first: shopai-cli train recommend)")
    p.add_argument("--customer", required=True, metavar="ID", help="the customer's id as in the imported orders")
    p.add_argument("-k", type=int, default=10, help="how many suggestions (default 10)")
    p.add_argument("--in-stock", action="store_true", help="leave out products with no stock")
    p.add_argument("--new-only", action="store_true", help="leave out what the customer already bought")
    p.set_defaults(func=run_recommend)
    p = add_command(sub, "similar", "products bought with a product, then products with a similar description")
    p.add_argument("--product", required=True, metavar="SKU")
    p.add_argument("-k", type=int, default=10, help="how many of each kind (default 10)")
    p.add_argument("--by", choices=("both", "bought-with", "description"), default="both")
    p.add_argument("--in-stock", action="store_true", help="leave out products with no stock")
    p.set_defaults(func=run_similar)


def _print(rows: list[dict], args: argparse.Namespace) -> None:
    if args.json:
        print_json([{k: r[k] for k in ("sku", "title", "score", "reason", "stock") if k in r}
                    | ({"kind": r["kind"]} if "kind" in r else {}) for r in rows])
        return
    if not rows:
        print("(no suggestions)")
    for n, r in enumerate(rows, 1):
        print(f"{n:>3}. {cell(r['sku'], 12)} {cell(r['title'], 40)} {r['score']:>7.3f}  {r['reason']}")


def run_recommend(args: argparse.Namespace) -> int:
    from shopai.recommend.query import load_or_explain

    db = open_db(args)
    rec = load_or_explain(db_path(args))
    _print(rec.for_customer(db, args.customer, args.k, hide_out_of_stock=args.in_stock,
                                    new_only=args.new_only), args)
    return 0


def run_similar(args: argparse.Namespace) -> int:
    from shopai.recommend import query

    db = open_db(args)
    rows: list[dict] = []
    if args.by in ("both", "bought-with"):
        rec = query.Recommender.load(db_path(args)) if args.by == "both" else query.load_or_explain(db_path(args))
        if rec is not None:
            rows += [dict(r, kind="bought_with") for r in rec.bought_with(db, args.product, args.k, args.in_stock)]
    if args.by in ("both", "description"):
        seen = {r["sku"] for r in rows}
        rows += [dict(r, kind="similar") for r in query.similar(db, args.product, args.k, args.in_stock)
                 if r["sku"] not in seen]
    _print(rows, args)
    return 0

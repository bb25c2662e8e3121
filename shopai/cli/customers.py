"""``shopai-cli customers``: who will buy again, how much, and who is drifting away (from the last training)."""
from __future__ import annotations

import argparse
import sys

from shopai.cli.common import add_command, cell, open_db, print_json
from shopai.customers import scores
from shopai.wording import chance

JSON_KEYS = ("customer_id", "name", "last_order", "orders", "spend", "p_return_30d", "p_return_90d",
             "expected_spend_90d", "at_risk", "regular", "rfm")


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "customers", "list customers with P(buys again), expected spend and the at-risk flag")
    p.add_argument("--at-risk", action="store_true", help="only regulars who are drifting away")
    p.add_argument("--sort", default="p_return_30d", choices=sorted(scores.SORTABLE), help="sort column")
    p.add_argument("--ascending", action="store_true", help="smallest first")
    p.add_argument("--limit", type=int, default=0, help="at most this many rows (0 = all)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    db = open_db(args)
    info = scores.model_info(db)
    if info is None:
        rows = scores.unscored_rows(db)
        if args.at_risk:
            rows = []
        print("shopai-cli: no customer model yet: run 'shopai-cli train customers' for predictions.",
              file=sys.stderr)
    else:
        rows = scores.all_rows(db, args.sort, not args.ascending, args.at_risk)
    if args.limit > 0:
        rows = rows[:args.limit]
    if args.json:
        print_json([{k: r.get(k) for k in JSON_KEYS} for r in rows])
        return 0
    if info is not None:
        print(f"As of {info['as_of']} (last order in the shop); model: {info['chosen_label']}.")
        print(info["sentence"])
    print(f"{'customer':<12} {'last order':<10} {'orders':>6} {'spend':>10} {'P(30d)':>7} {'P(90d)':>7} "
          f"{'exp. 90d':>9}  at risk")

    def num(v, fmt):
        return format(v, fmt) if v is not None else "-"

    for r in rows:
        print(f"{cell(r['customer_id'], 12)} {r['last_order'] or '-':<10} {r['orders']:>6} "
              f"{num(r['spend'], '10.2f'):>10} {chance(r['p_return_30d']) or '-':>7} {chance(r['p_return_90d']) or '-':>7} "
              f"{num(r['expected_spend_90d'], '9.2f'):>9}  {'yes' if r['at_risk'] else ''}")
    return 0

"""``shopai-cli forecast``: price or sales forecast for one product (or every product) with 80% ranges."""
from __future__ import annotations

import argparse

from shopai.cli.common import add_command, db_path, drive, open_db, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "forecast", "forecast a product's weekly price or sales with an 80% range")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--product", metavar="SKU", help="the product's SKU")
    which.add_argument("--category", metavar="NAME", help="a whole category")
    which.add_argument("--all", action="store_true", help="fit every product in the background and store the results")
    p.add_argument("--horizon", type=int, default=8, help="weeks ahead (default 8)")
    p.add_argument("--what", choices=["price", "sales"], default=None,
                   help="what to forecast (default sales; with --all both)")
    p.add_argument("--lead-time", type=int, default=14, metavar="DAYS", help="reorder lead time in days, 1 to 182 (sales)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from shopai.forecast.api import check_horizon, check_lead_time, forecast, public_json

    check_horizon(args.horizon)
    if args.all:
        from shopai.forecast.train import train_job

        summary = drive(train_job(db_path(args), what=args.what or "both"), args)
        if args.json:
            print_json(summary)
        else:
            for key, value in summary.items():
                print(f"{key}: {value}")
        return 0
    check_lead_time(args.lead_time)
    db = open_db(args)
    result = forecast(db, sku=args.product, category=args.category, what=args.what or "sales",
                      horizon=args.horizon, lead_time_days=args.lead_time)
    if args.json:
        print_json(public_json(result))
        return 0
    print(f"{result['sku']}  {result['title']}  ({result['what']}, weekly)")
    print(f"method: {result['method_label']}  [{result['source']}]")
    print(f"{'week of':<12} {'forecast':>10} {'80% range':>22}")
    for row in result["forecast"]:
        print(f"{row['period_start']:<12} {row['value']:>10} {row['lo80']:>10} – {row['hi80']:<10}")
    print(result["sentence"][0].upper() + result["sentence"][1:] + ".")
    if "reorder" in result:
        print(result["reorder"]["text"])
    for note in result["notes"]:
        print(f"note: {note}")
    return 0

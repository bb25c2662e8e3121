"""``shopai-cli train <what>``: train one capability's models on the shop's data."""
from __future__ import annotations

import argparse
import importlib

from shopai.cli.common import add_command, db_path, drive, print_json

# what -> "module:function"; the function is train_job(db_path: str, **opts) -> Job[dict summary].
TRAINERS: dict[str, str] = {
    "recommend": "shopai.recommend.train:train_job",
    "customers": "shopai.customers.train:train_job",
    "forecast": "shopai.forecast.train:train_job",
    "categorize": "shopai.categorize.train:train_job",
    # -- new trainers go above this line --
}


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "train", "train models on the shop's data")
    p.add_argument("what", choices=sorted(TRAINERS) or ["(none yet)"], help="what to train")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    module, _, func = TRAINERS[args.what].partition(":")
    train_job = getattr(importlib.import_module(module), func)
    summary = drive(train_job(db_path(args)), args)
    if args.json:
        print_json(summary)
    else:
        for key, value in (summary or {}).items():
            print(f"{key}: {value}")
    return 0

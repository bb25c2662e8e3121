"""Entry point of ``shopai-cli``. Exit 0 on success, 2 on bad input with a one-line reason on stderr."""
from __future__ import annotations

import argparse
import importlib
import sys

from shopai.jobs import Cancelled, UserError

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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"shopai-cli: {exc}", file=sys.stderr)
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

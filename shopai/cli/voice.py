"""``shopai-cli voice-search``: find products from a spoken WAV file or the microphone."""
from __future__ import annotations

import argparse
import sys

from shopai.cli.common import add_command, db_path, drive, open_db, print_json
from shopai.jobs import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "voice-search", "find products by voice, from a WAV file or the microphone")
    p.add_argument("file", nargs="?", metavar="FILE.wav", help="a recording of a product name (8-48 kHz WAV)")
    p.add_argument("--listen", action="store_true", help="listen to the microphone instead (stops on a pause)")
    p.add_argument("--device", help="microphone: index or name (see --list-devices)")
    p.add_argument("--list-devices", action="store_true", help="list the microphones and exit")
    p.add_argument("--free", action="store_true", help="plain dictation instead of the catalog's vocabulary")
    p.add_argument("--limit", type=int, default=10, help="how many products to show (default 10)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from shopai.voice.audio import MicSource, WavSource, input_devices
    from shopai.voice.search import voice_search

    if args.list_devices:
        devices = input_devices()
        if args.json:
            print_json(devices)
            return 0
        if not devices:
            print("No microphone found.")
        for d in devices:
            print(f"{d['index']:>3}  {d['name']}{'  (default)' if d['default'] else ''}")
        return 0
    if bool(args.file) == bool(args.listen):
        raise UserError("Give a WAV file or --listen (one of the two).")
    open_db(args).conn.close()  # creates/migrates the shop as every command does
    if args.listen:
        device = int(args.device) if args.device and args.device.isdigit() else args.device
        source = MicSource(device)
        if not args.quiet:
            print("Listening… say a product name.", file=sys.stderr)
    else:
        source = WavSource(args.file)
    result = drive(voice_search(db_path(args), source, mode="free" if args.free else "catalog",
                                limit=max(1, args.limit)), args)
    if args.json:
        print_json(result.to_json())
        return 0
    for w in result.warnings:
        print(f"note: {w}", file=sys.stderr)
    print(f"heard: {result.heard}")
    for i, r in enumerate(result.results, 1):
        print(f"{i:>2}. {r['score']:.2f}  {r['sku']:<10} {r['title']}")
    return 0

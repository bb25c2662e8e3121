"""Development set for voice-search settings: real product names that are not the bench's, other noise.

The bench (``voice_bench.py``) reports; this chooses. Its catalog is the next 400 stock codes of the UCI
Online Retail log by number of invoices, leaving out the sample shop's 400 (same title case and category
rules as the sample shop). Every 4th of them is spoken once clean and once over each of the three noises at
10 dB SNR, each time by another of the bench's voice set-ups (round robin with other offsets than the
bench's). The noise beds are made afresh (other pink and brown noise samples, a babble of the dev titles with
another seed) and the mixing takes other segments, so nothing here is a bench utterance.

    nice -n 10 .venv/bin/python bench/voice_dev.py [--limit N] [--front-end raw|rnnoise|...] [--no-trim]
        [--voices-front-end raw|deepfilter] [--noise babble|pink|hum] [--save out.json]

Prints hit@1 / hit@5 per condition and noise, RTF and latency (the same columns as the bench).
"""
from __future__ import annotations

import argparse
import csv
import gzip
import importlib.util
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import voice_bench as vb  # noqa: E402

ROOT = HERE.parent
SOURCE = ROOT.parent / "shared" / "data" / "retail" / "transactions.csv.gz"
N_PRODUCTS = 400
SPOKEN_EVERY = 4


def _sample_rules():
    spec = importlib.util.spec_from_file_location("make_sample", ROOT / "resources" / "sample_shop" / "make_sample.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def dev_catalog(source: Path = SOURCE) -> list[dict]:
    """400 real products that are not in the sample shop: sku, title, category, price."""
    ms = _sample_rules()
    bench_skus = {r["sku"] for r in csv.DictReader(open(vb.CATALOG, encoding="utf-8"))}
    bench_titles = {r["title"].lower() for r in csv.DictReader(open(vb.CATALOG, encoding="utf-8"))}
    invoices: dict[str, set] = defaultdict(set)
    descriptions: dict[str, Counter] = defaultdict(Counter)
    prices: dict[str, Counter] = defaultdict(Counter)
    with gzip.open(source, "rt", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for inv, code, desc, qty, date, price, cust, _country in reader:
            if (not cust or inv[:1] in ("C", "A") or ms.PRODUCT_CODE.match(code) is None or float(qty) <= 0
                    or float(price) <= 0 or code in bench_skus or not desc.strip()):
                continue
            invoices[code].add(inv)
            descriptions[code][desc.strip()] += 1
            prices[code][price] += 1
    rows, seen = [], set()
    for code in sorted(invoices, key=lambda c: (-len(invoices[c]), c)):
        title = ms.title_case(descriptions[code].most_common(1)[0][0])
        if title.lower() in bench_titles or title.lower() in seen:
            continue
        seen.add(title.lower())
        best = max(prices[code].items(), key=lambda kv: (kv[1], -float(kv[0])))[0]
        rows.append({"sku": code, "title": title, "category": ms.category_for(title), "price": f"{float(best):.2f}"})
        if len(rows) == N_PRODUCTS:
            break
    return rows


def dev_corpus(cache: Path, rows: list[dict], voices) -> list[dict]:
    cache.mkdir(parents=True, exist_ok=True)
    beds = vb.noise_beds(cache, voices, [r["title"] for r in rows], seed=8)  # new noise, a babble of dev titles
    rng = np.random.default_rng(23)
    nv = len(voices)
    items = []
    for i, r in enumerate(rows[::SPOKEN_EVERY]):
        for k, cond in enumerate(("clean",) + vb.NOISES):
            v = (3 * i + 5 * k + 1) % nv
            name, cmd = voices[v]
            path = cache / f"{r['sku']}_{v}.wav"
            if not path.exists():
                vb.speak(cmd, r["title"], path)
            item = {"path": path, "sku": r["sku"], "title": r["title"], "voice": name, "condition": "clean"}
            if cond != "clean":
                noisy = cache / f"{r['sku']}_{v}_{cond}10.wav"
                if not noisy.exists():
                    vb.mix(path, beds[cond], noisy, rng)
                item = dict(item, path=noisy, condition="10 dB SNR", noise=cond)
            items.append(item)
    return items


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=0, help="only the first N spoken products")
    ap.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "shopai_voice_dev"))
    ap.add_argument("--front-end", default=None, help="shopai.voice front end to use (default: the app's)")
    ap.add_argument("--no-trim", action="store_true", help="decode the VAD's span only (no second look)")
    ap.add_argument("--voices-front-end", default=None,
                    help="what the second look hears after other voices: raw, or a denoiser (default: the app's)")
    ap.add_argument("--noise", choices=vb.NOISES, help="only the utterances over this noise")
    ap.add_argument("--save", default=None, help="write per-utterance results (JSON) here")
    args = ap.parse_args(argv)

    from shopai.jobs import run_job
    from shopai.voice import search
    from shopai.voice.search import prepare

    if args.front_end is not None:
        search.FRONT_END = args.front_end
    search.TRIM = not args.no_trim
    if args.voices_front_end is not None:
        search.VOICES_FRONT_END = None if args.voices_front_end == "raw" else args.voices_front_end
    voices = vb.available_voices()
    rows = dev_catalog()
    db = vb.make_shop(rows, "voice_dev_")
    t = time.perf_counter()
    items = dev_corpus(Path(args.cache), rows, voices)
    if args.limit:
        items = items[: 4 * args.limit]
    if args.noise:
        items = [it for it in items if it.get("noise") == args.noise]
    print(f"dev corpus: {len(items)} utterances in {time.perf_counter() - t:.0f} s", flush=True)
    run_job(prepare(db))
    groups, saved = defaultdict(list), []
    for k, item in enumerate(items):
        r = vb.run_one(db, item, "catalog")
        groups[item["condition"]].append(r)
        if item.get("noise"):
            groups["noise: " + item["noise"]].append(r)
        saved.append({"path": str(item["path"]), "condition": item["condition"], "noise": item.get("noise"),
                      "voice": item["voice"], "hit1": r["hit1"], "hit5": r["hit5"], "heard": r["heard"],
                      "denoised": r["denoised"], "trimmed": r["trimmed"]})
        if k % 40 == 0:
            print(f"  … {k}/{len(items)}", file=sys.stderr, flush=True)
    for key in (k for k in ("clean", "10 dB SNR", "noise: babble", "noise: pink", "noise: hum") if groups[k]):
        print(vb.line(key, vb.summarize(groups[key])), f" denoised {np.mean([r['denoised'] for r in groups[key]]):.0%}",
              f"trimmed {np.mean([r['trimmed'] for r in groups[key]]):.0%}")
    if args.save:
        Path(args.save).write_text(json.dumps(saved, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

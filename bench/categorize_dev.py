"""How much fusion adds on test-like data that is not the test set: dev shops drawn from fashion TRAINING rows.

For each seed, 20% of each category of the fashion training split is set aside first as a dev test (the
natural category mix, as in the real test: 5-136 products per category); a small shop of up to 100 labelled
products per category is drawn from the rest and split 80/20 by the app's ``split_holdout``, as in the bench.
Text, photo CNN and fusion are trained and calibrated exactly as in ``categorize_bench.py``. The real test
rows are never read. Use it to judge fusion or photo changes before the bench reports them.

    nice -n 10 .venv/bin/python bench/categorize_dev.py [--seeds 1 2 3]      # ~6 min per seed at load 1

Prints, per dev shop, macro-F1 of text, photo and fused, and how many of text's mistakes fusion fixed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from categorize_bench import DATA, load_arrays, macro_f1, small_shop  # noqa: E402

from shopai.categorize.calibrate import fit_fusion, fit_temperature, fuse_logits  # noqa: E402
from shopai.categorize.photo import DEFAULT_SIZE, train_photo  # noqa: E402
from shopai.categorize.text import train_text  # noqa: E402
from shopai.categorize.train import HOLDOUT, split_holdout  # noqa: E402
from shopai.jobs import run_job  # noqa: E402


def dev_shop(seed: int) -> dict:
    """Train and fuse on dev shop ``seed``; returns its figures."""
    fa = pd.read_csv(DATA / "products" / "labels.csv")
    classes = sorted(fa.category.unique())
    cidx = {c: i for i, c in enumerate(classes)}
    train = fa[fa.split == "train"].reset_index(drop=True)
    held = split_holdout(train.category.map(cidx).to_numpy(), 0.2, 100 + seed)
    dev, pool = train[held].reset_index(drop=True), train[~held].reset_index(drop=True)
    shop = small_shop(pool.assign(label=pool.category), 100, seed).reset_index(drop=True)
    ys, yd = shop.category.map(cidx).to_numpy(), dev.category.map(cidx).to_numpy()
    cal = split_holdout(ys, HOLDOUT, 0)
    text = run_job(train_text(shop.title[~cal].tolist(), ys[~cal], classes))
    text.temperature = fit_temperature(text.logits(shop.title[cal].tolist()), ys[cal])
    xs = load_arrays([DATA / "products" / p for p in shop.image], DEFAULT_SIZE)
    xd = load_arrays([DATA / "products" / p for p in dev.image], DEFAULT_SIZE)
    photo = run_job(train_photo(xs[~cal], ys[~cal], classes, threads=1))
    photo.temperature = fit_temperature(photo.head_logits(photo.embed(xs[cal])), ys[cal])
    w = fit_fusion(text.logits(shop.title[cal].tolist()), photo.logits(xs[cal]), ys[cal])
    td, pd_ = text.logits(dev.title.tolist()), photo.logits(xd)
    t, p, f = td.argmax(1), pd_.argmax(1), fuse_logits(td, pd_, w).argmax(1)
    return {"seed": seed, "n_dev": len(yd), "text": macro_f1(yd, t, None), "photo": macro_f1(yd, p, None),
            "fused": macro_f1(yd, f, None), "photo_acc": float((p == yd).mean()), "w": w,
            "text_wrong": int((t != yd).sum()), "photo_right_there": int(((t != yd) & (p == yd)).sum()),
            "fixed": int(((t != yd) & (f == yd)).sum()), "broken": int(((t == yd) & (f != yd)).sum())}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    print("| dev shop | dev test | text F1 | photo F1 (acc) | fused F1 (w) | fused - text | text wrong: photo right"
          " / fixed / broken |")
    print("|---|---:|---:|---:|---:|---:|---|")
    gains = []
    for seed in args.seeds:
        r = dev_shop(seed)
        gains.append(r["fused"] - r["text"])
        print(f"| {seed} | {r['n_dev']} | {r['text']:.4f} | {r['photo']:.4f} ({r['photo_acc']:.1%}) | {r['fused']:.4f} "
              f"({r['w'][0]:.1f},{r['w'][1]:.1f}) | {gains[-1] * 100:+.1f} pt | {r['text_wrong']}: "
              f"{r['photo_right_there']} / {r['fixed']} / {r['broken']} |", flush=True)
    print(f"mean fused - text: {np.mean(gains) * 100:+.2f} pt over {len(gains)} dev shops")
    return 0


if __name__ == "__main__":
    sys.exit(main())

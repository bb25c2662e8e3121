"""Categorize benchmark: our text, photo and fused models beside scikit-learn peers, same splits, one run.

Data (../shared/data, read the PROVENANCE.md files): products/ (fashion photos + titles, 34 categories),
product_text/ (58k marketplace titles, 96 leaves), grocery/ (phone photos, authors' train/val/test split,
43 coarse classes). Peers: TF-IDF word 1-2-grams + LinearSVC (text); colour histogram + HOG +
logistic regression (photos). Every model gets the same training rows; our calibration slice (10% of the
training rows; in the small-shop runs 20% of each category, split by the app's own ``split_holdout``, so a
category with 14 labelled products trains on 11 as it would in the app; or grocery's own val split) is
withheld from both ours and the peers' training. Photo training is single-threaded (the 2 cores are shared) with a
600 s wall budget; wall and CPU seconds are both printed. Where the optional pretrained backbone is on the
machine (shopai.categorize.pretrained: torch's hub cache or ShopAI's own folder), extra rows give the
pretrained photo model and its fusion with text; the verdict stays on the models trained from scratch.
Fashion is run twice: as a small shop (<=100 labelled products per category, the photo target's 80/cat) and on
the whole training split (photo and fused rows too). Each fused row prints its gain over the best single model
with a 95% paired bootstrap interval over the test products.

    nice -n 10 .venv/bin/python bench/categorize_bench.py            # full run (~32 min at load 1-2, longer when shared)
    .venv/bin/python bench/categorize_bench.py --quick               # smoke run on small slices
Last line: ``verdict: met`` or ``verdict: missed: <targets>``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from shopai.categorize.calibrate import ece, fit_fusion, fit_temperature, fuse_logits, softmax  # noqa: E402
from shopai.categorize.images import letterbox, load_image  # noqa: E402
from shopai.categorize.photo import DEFAULT_EPOCHS, DEFAULT_SIZE, train_photo  # noqa: E402
from shopai.categorize.text import train_text  # noqa: E402
from shopai.categorize.train import HOLDOUT as SHOP_HOLDOUT  # noqa: E402  (the app's calibration split)
from shopai.categorize.train import split_holdout  # noqa: E402
from shopai.jobs import run_job  # noqa: E402

ROWS: list[dict] = []


def macro_f1(y, p, n_classes):
    from sklearn.metrics import f1_score

    return f1_score(y, p, average="macro", labels=np.unique(y))


def f1_gain_interval(y, base_pred, new_pred, reps=2000, seed=0):
    """95% paired bootstrap interval (over test products) of macro-F1(new) - macro-F1(base), and the share of
    resamples where the gain reaches +1 pt: how far one test split can move the fused target."""
    from shopai.categorize.text import _macro_f1  # macro_f1's figure, without sklearn's cost per resample

    y, a, b = (np.asarray(v) for v in (y, base_pred, new_pred))
    rng = np.random.default_rng(seed)
    gains = np.empty(reps)
    for r in range(reps):
        i = rng.integers(0, len(y), len(y))
        gains[r] = _macro_f1(y[i], b[i]) - _macro_f1(y[i], a[i])
    lo, hi = np.percentile(gains, [2.5, 97.5])
    return float(lo), float(hi), float(np.mean(gains >= 0.01))


def record(task, model, y, pred, probs=None, seconds=None, cpu=None, note=""):
    row = {"task": task, "model": model, "acc": float((pred == y).mean()), "f1": float(macro_f1(y, pred, None)),
           "ece": ece(probs, y) if probs is not None else None, "seconds": seconds, "cpu": cpu, "note": note}
    ROWS.append(row)
    e = "  -  " if row["ece"] is None else f"{row['ece']:.3f}"
    c = "" if cpu is None else f" (cpu {cpu:.0f})"
    print(f"  {task:<34} {model:<30} acc {row['acc']:.4f}  F1 {row['f1']:.4f}  ECE {e}  {seconds:7.1f}s{c} {note}",
          flush=True)
    return row


def cal_split(y, frac, seed=0):
    """Boolean mask of a stratified calibration slice of the training rows."""
    rng = np.random.default_rng(seed)
    m = np.zeros(len(y), bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        k = int(round(frac * len(idx)))
        k = min(k, len(idx) - 1) if len(idx) > 1 else 0
        if k > 0:
            m[rng.choice(idx, k, replace=False)] = True
    return m


def small_shop(df, per_class, seed=0):
    return df.sample(frac=1, random_state=seed).groupby("label").head(per_class)


# --- text ------------------------------------------------------------------------------------------------

def text_task(name, train, test, cal_mask, classes, quick):
    cidx = {c: i for i, c in enumerate(classes)}
    ytr_all = train.label.map(cidx).to_numpy()
    yte = test.label.map(cidx).to_numpy()
    fit_rows, cal_rows = ~cal_mask, cal_mask
    texts = train.title.tolist()
    # peer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    t = time.perf_counter()
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    svc = LinearSVC(C=1.0).fit(vec.fit_transform([texts[i] for i in np.flatnonzero(fit_rows)]), ytr_all[fit_rows])
    pred = svc.predict(vec.transform(test.title.tolist()))
    base = record(name, "TF-IDF + LinearSVC (sklearn)", yte, pred, seconds=time.perf_counter() - t)
    # ours
    t = time.perf_counter()
    model = run_job(train_text([texts[i] for i in np.flatnonzero(fit_rows)], ytr_all[fit_rows], classes,
                               **({"epochs": 2} if quick else {})))
    cal_logits = model.logits([texts[i] for i in np.flatnonzero(cal_rows)])
    model.temperature = fit_temperature(cal_logits, ytr_all[cal_rows])
    train_s = time.perf_counter() - t
    t = time.perf_counter()
    logits = model.logits(test.title.tolist())
    pred_s = time.perf_counter() - t
    probs = softmax(logits)
    ours = record(name, "ours: n-gram L2-SVM (calibrated)", yte, probs.argmax(1), probs, seconds=train_s + pred_s,
                  note=f"(predict {len(test)} in {pred_s:.2f}s; C={model.info.get('C')})")
    return model, base, ours


# --- photos ----------------------------------------------------------------------------------------------

def load_arrays(paths, size):
    return np.stack([letterbox(load_image(p), size) for p in paths])


def hog_colour(arr64: np.ndarray) -> np.ndarray:
    """Peer features: 8x8-cell, 9-bin HOG on 64x64 grey + 4x4x4 RGB colour histogram."""
    feats = []
    for a in arr64:
        g = a.astype(np.float32).mean(2)
        gx = np.zeros_like(g)
        gy = np.zeros_like(g)
        gx[:, 1:-1] = g[:, 2:] - g[:, :-2]
        gy[1:-1] = g[2:] - g[:-2]
        mag = np.hypot(gx, gy)
        ang = (np.degrees(np.arctan2(gy, gx)) % 180) // 20
        ang = np.clip(ang, 0, 8).astype(int)
        cells = np.zeros((8, 8, 9), np.float32)
        for b in range(9):
            m = (mag * (ang == b)).reshape(8, 8, 8, 8).sum(axis=(1, 3))
            cells[:, :, b] = m
        cells /= np.linalg.norm(cells, axis=2, keepdims=True) + 1e-6
        q = (a // 64).reshape(-1, 3)
        hist = np.bincount(q[:, 0] * 16 + q[:, 1] * 4 + q[:, 2], minlength=64).astype(np.float32)
        hist = np.sqrt(hist / hist.sum())
        feats.append(np.concatenate([cells.ravel(), hist * 3]))
    return np.stack(feats)


def photo_peer(name, x_tr64, y_tr, x_te64, y_te):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    t = time.perf_counter()
    sc = StandardScaler().fit(hog_colour(x_tr64))
    lr = LogisticRegression(C=0.05, max_iter=300).fit(sc.transform(hog_colour(x_tr64)), y_tr)
    probs = lr.predict_proba(sc.transform(hog_colour(x_te64)))
    full = np.zeros((len(y_te), int(max(y_tr.max(), y_te.max())) + 1))
    full[:, lr.classes_] = probs
    return record(name, "colour hist + HOG + LogReg", y_te, full.argmax(1), full, seconds=time.perf_counter() - t)


def photo_ours(name, x_tr, y_tr, x_cal, y_cal, x_te, y_te, classes, budget, epochs):
    t, c = time.perf_counter(), time.process_time()
    model = run_job(train_photo(x_tr, y_tr, classes, epochs=epochs, max_seconds=budget, threads=1))
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    model.temperature = fit_temperature(model.head_logits(model.embed(x_cal)), y_cal)
    logits = model.logits(x_te)
    probs = softmax(logits)
    row = record(name, "ours: CNN from scratch", y_te, probs.argmax(1), probs, seconds=wall, cpu=cpu,
                 note=f"({model.info.get('epochs')} passes)")
    return model, row


def fused_row(task, label, tl_cal, pl_cal, y_cal, tl_te, pl_te, yte, predict_s=0.0):
    """Fuse text and photo logits with weights fitted on the calibration rows; records the row (its seconds:
    ``predict_s`` for the test logits, plus the fusion), returns it and the fused predictions."""
    w = fit_fusion(tl_cal, pl_cal, y_cal)
    t = time.perf_counter()
    fused = softmax(fuse_logits(tl_te, pl_te, w))
    row = record(task, f"ours: text x {label} (w={w[0]:.1f},{w[1]:.1f})", yte, fused.argmax(1), fused,
                 seconds=predict_s + time.perf_counter() - t)
    return row, fused.argmax(1)


def fused_target_missed(task, text_model, tl_cal, photo_model, x_cal, y_cal, titles_te, x_te, yte, text_row,
                        photo_row) -> bool:
    """The fused row of text and our CNN, and its gain over the best single model (with its bootstrap
    interval); True when the gain is under the target's +1 pt."""
    pl_cal = photo_model.head_logits(photo_model.embed(x_cal))
    t = time.perf_counter()
    text_te, photo_te = text_model.logits(titles_te), photo_model.logits(x_te)
    row, fused = fused_row(task, "photo", tl_cal, pl_cal, y_cal, text_te, photo_te, yte, time.perf_counter() - t)
    best_row, best_te = (text_row, text_te) if text_row["f1"] >= photo_row["f1"] else (photo_row, photo_te)
    lo, hi, share = f1_gain_interval(yte, best_te.argmax(1), fused)
    print(f"  fused - best single: {(row['f1'] - best_row['f1']) * 100:+.2f} pt macro-F1 (target +1 pt); 95% paired "
          f"bootstrap over the {len(yte)} test products [{lo * 100:+.2f}, {hi * 100:+.2f}] pt, "
          f"+1 pt or more in {share:.0%} of resamples")
    return row["f1"] < best_row["f1"] + 0.01


def photo_pretrained(name, paths_tr, y_tr, paths_cal, y_cal, paths_te, y_te, classes):
    """The optional pretrained backbone + head, as Train uses it: (calibrated logits on the calibration and the
    test photos), or None (and a line saying so) without the file."""
    from shopai.categorize.pretrained import BackboneUnavailable, find_backbone, fit_head, load_backbone

    path = find_backbone()
    try:
        load_backbone(path)
    except BackboneUnavailable as exc:
        print(f"  {name}: pretrained backbone row skipped ({exc})")
        return None
    t = time.perf_counter()
    model = run_job(fit_head(_backbone_features(paths_tr), y_tr, classes))
    f_cal, f_te = _backbone_features(paths_cal), _backbone_features(paths_te)
    model.temperature = fit_temperature(model.head_logits(f_cal), y_cal)
    logits_cal, logits_te = model.head_logits(f_cal), model.head_logits(f_te)
    probs = softmax(logits_te)
    record(name, "ours: pretrained MobileNetV3-s + head", y_te, probs.argmax(1), probs,
           seconds=time.perf_counter() - t, note=f"({path.name}; not a from-scratch target)")
    return logits_cal, logits_te


def _backbone_features(paths, batch=256):
    """The backbone's features of photo files, read ``batch`` at a time (224x224 photos are big in memory)."""
    from shopai.categorize.pretrained import SIZE, features

    return np.concatenate([features(load_arrays(paths[s:s + batch], SIZE)) for s in range(0, len(paths), batch)])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small slices, short budgets (smoke test)")
    ap.add_argument("--photo-seconds", type=float, default=600.0)
    ap.add_argument("--photo-epochs", type=int, default=DEFAULT_EPOCHS)
    ap.add_argument("--only", choices=("text",), help="run only the text tasks (skips photos and fusion)")
    args = ap.parse_args()
    quick = args.quick
    budget = 40.0 if quick else args.photo_seconds
    epochs = 3 if quick else args.photo_epochs
    import torch

    torch.set_num_threads(1)
    print(f"categorize bench  (load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          "times are wall seconds on a shared machine)")
    misses: list[str] = []

    # ---------- text: marketplace titles (product_text/) ----------
    pt = pd.read_csv(DATA / "product_text" / "products.csv.gz")
    pt["label"] = pt.category_path
    if quick:
        pt = pt.groupby("label").head(40)
    classes = sorted(pt.label.unique())
    tr, te = pt[pt.split == "train"].reset_index(drop=True), pt[pt.split == "test"].reset_index(drop=True)
    print(f"\n[text] product_text: {len(tr)} train / {len(te)} test, {len(classes)} leaves")
    y = tr.label.map({c: i for i, c in enumerate(classes)}).to_numpy()
    model_pt, base, ours = text_task("titles: product_text (full)", tr, te, cal_split(y, 0.1), classes, quick)
    if ours["f1"] < base["f1"] + 0.01:
        misses.append("text F1 on product_text")
    titles = (te.title.tolist() * 2)[:10_000]
    runs = []
    for _ in range(3):
        t, c = time.perf_counter(), time.process_time()
        model_pt.logits(titles)
        runs.append((time.perf_counter() - t, time.process_time() - c))
    tenk, tenk_cpu = min(runs)
    print(f"  10,000 titles classified in {tenk:.3f} s wall, {tenk_cpu:.3f} s CPU (features + scores, best of 3)")
    if tenk >= 1.0:
        misses.append(f"10k titles in {tenk:.2f}s")
    small = small_shop(tr, 100)
    ys = small.label.map({c: i for i, c in enumerate(classes)}).to_numpy()
    text_task("titles: product_text 80/cat", small.reset_index(drop=True), te,
              split_holdout(ys, SHOP_HOLDOUT, 0), classes, quick)

    # ---------- fashion (products/): titles, photos, fused ----------
    fa = pd.read_csv(DATA / "products" / "labels.csv")
    fa["label"] = fa.category
    if quick:
        fa = fa.groupby(["label", "split"]).head(30)
    fclasses = sorted(fa.label.unique())
    fidx = {c: i for i, c in enumerate(fclasses)}
    ftr, fte = fa[fa.split == "train"].reset_index(drop=True), fa[fa.split == "test"].reset_index(drop=True)
    print(f"\n[text] fashion titles: {len(ftr)} train / {len(fte)} test, {len(fclasses)} categories")
    yf = ftr.label.map(fidx).to_numpy()
    fcal = cal_split(yf, 0.1)
    full_text, base, full_text_row = text_task("titles: fashion (full)", ftr, fte, fcal, fclasses, quick)
    if full_text_row["f1"] < base["f1"] + 0.01:
        misses.append("text F1 on fashion titles")

    shop = small_shop(ftr, 100).reset_index(drop=True)  # a small shop: up to 100 labelled per category
    ys = shop.label.map(fidx).to_numpy()
    cal = split_holdout(ys, SHOP_HOLDOUT, 0)  # as the app splits: 20% of each category (20 of 100) held out
    print(f"\n[fashion small shop] {int((~cal).sum())} train (<=80/cat) + {int(cal.sum())} calibration (20%/cat), "
          f"{len(fte)} test")
    text_model, _, text_row = text_task("titles: fashion 80/cat", shop, fte, cal, fclasses, quick)
    if args.only == "text":
        return finish(misses + ["text tasks only"], tenk, quick)
    t = time.perf_counter()
    x_shop = load_arrays([DATA / "products" / p for p in shop.image], DEFAULT_SIZE)
    x_te = load_arrays([DATA / "products" / p for p in fte.image], DEFAULT_SIZE)
    same = DEFAULT_SIZE == 64  # the peer's 64x64 photos are ours
    x_shop64 = x_shop[~cal] if same else load_arrays([DATA / "products" / p for p in shop.image[~cal]], 64)
    x_te64 = x_te if same else load_arrays([DATA / "products" / p for p in fte.image], 64)
    yte = fte.label.map(fidx).to_numpy()
    print(f"  photos read in {time.perf_counter() - t:.1f}s")
    photo_peer("photos: fashion 80/cat", x_shop64, ys[~cal], x_te64, yte)
    photo_model, photo_row = photo_ours("photos: fashion 80/cat", x_shop[~cal], ys[~cal], x_shop[cal], ys[cal],
                                        x_te, yte, fclasses, budget, epochs)
    if photo_row["acc"] < 0.85:
        misses.append(f"photo fashion {photo_row['acc']:.1%} < 85%")
    tl_cal = text_model.logits(shop.title[cal].tolist())
    if fused_target_missed("fused: fashion 80/cat", text_model, tl_cal, photo_model, x_shop[cal], ys[cal],
                           fte.title.tolist(), x_te, yte, text_row, photo_row):
        misses.append("fused F1 < best single + 1pt (80/cat)")
    img = [DATA / "products" / p for p in shop.image]
    pre = photo_pretrained("photos: fashion 80/cat", [img[i] for i in np.flatnonzero(~cal)], ys[~cal],
                           [img[i] for i in np.flatnonzero(cal)], ys[cal],
                           [DATA / "products" / p for p in fte.image], yte, fclasses)
    if pre is not None:  # the same fusion with the pretrained photo model (reported; the verdict is the CNN's)
        fused_row("fused: fashion 80/cat", "pretrained", tl_cal, pre[0], ys[cal], text_model.logits(fte.title.tolist()),
                  pre[1], yte)

    # ---------- fashion, the whole training split: photo and fused (the 80/cat photo target is above) ----------
    print(f"\n[fashion full] {int((~fcal).sum())} train + {int(fcal.sum())} calibration (10%), {len(fte)} test")
    x_full = load_arrays([DATA / "products" / p for p in ftr.image], DEFAULT_SIZE)
    photo_peer("photos: fashion (full)", x_full[~fcal] if same else load_arrays(
        [DATA / "products" / p for p in ftr.image[~fcal]], 64), yf[~fcal], x_te64, yte)
    full_photo, full_photo_row = photo_ours("photos: fashion (full)", x_full[~fcal], yf[~fcal], x_full[fcal], yf[fcal],
                                            x_te, yte, fclasses, budget, epochs)
    if fused_target_missed("fused: fashion (full)", full_text, full_text.logits(ftr.title[fcal].tolist()), full_photo,
                           x_full[fcal], yf[fcal], fte.title.tolist(), x_te, yte, full_text_row, full_photo_row):
        misses.append("fused F1 < best single + 1pt (full)")
    del x_full

    # ---------- grocery: authors' split, coarse classes ----------
    gr = pd.read_csv(DATA / "grocery" / "labels.csv")
    gr["label"] = gr.coarse_class
    if quick:
        gr = gr.groupby(["label", "split"]).head(8)
    gclasses = sorted(gr.label.unique())
    gidx = {c: i for i, c in enumerate(gclasses)}
    top_of = pd.read_csv(DATA / "grocery" / "classes.csv").drop_duplicates("coarse_class").set_index("coarse_class")["top_category"]
    parts = {s: gr[gr.split == s].reset_index(drop=True) for s in ("train", "val", "test")}
    print(f"\n[photos] grocery (authors' split): {len(parts['train'])} train / {len(parts['val'])} val "
          f"(calibration) / {len(parts['test'])} test, {len(gclasses)} coarse classes")
    xs = {s: load_arrays([DATA / "grocery" / p for p in d.image], DEFAULT_SIZE) for s, d in parts.items()}
    ys_g = {s: d.label.map(gidx).to_numpy() for s, d in parts.items()}
    x64 = xs if DEFAULT_SIZE == 64 else {s: load_arrays([DATA / "grocery" / p for p in parts[s].image], 64)
                                         for s in ("train", "test")}
    photo_peer("photos: grocery coarse (43)", x64["train"], ys_g["train"], x64["test"], ys_g["test"])
    gm, grow = photo_ours("photos: grocery coarse (43)", xs["train"], ys_g["train"], xs["val"], ys_g["val"],
                          xs["test"], ys_g["test"], gclasses, budget, epochs)
    photo_pretrained("photos: grocery coarse (43)", [DATA / "grocery" / p for p in parts["train"].image],
                     ys_g["train"], [DATA / "grocery" / p for p in parts["val"].image], ys_g["val"],
                     [DATA / "grocery" / p for p in parts["test"].image], ys_g["test"], gclasses)
    pred = gm.logits(xs["test"]).argmax(1)
    top_acc = np.mean([top_of[gclasses[p]] == top_of[gclasses[t]] for p, t in zip(pred, ys_g["test"])])
    print(f"  grocery top category (Fruit/Vegetables/Packages) from our coarse predictions: {top_acc:.4f}")
    if grow["acc"] < 0.62:
        misses.append(f"photo grocery {grow['acc']:.1%} < 62%")

    return finish(misses, tenk, quick)


def finish(misses: list[str], tenk: float, quick: bool) -> int:
    print("\n| task | model | accuracy | macro-F1 | ECE | seconds |")
    print("|---|---|---:|---:|---:|---:|")
    for r in ROWS:
        e = "-" if r["ece"] is None else f"{r['ece']:.3f}"
        s = f"{r['seconds']:.1f}" + (f" (cpu {r['cpu']:.0f})" if r["cpu"] is not None else "")
        print(f"| {r['task']} | {r['model']} | {r['acc']:.4f} | {r['f1']:.4f} | {e} | {s} |")
    print(f"\n10,000 titles: {tenk:.3f} s.  Load average at end {os.getloadavg()[0]:.1f}.")
    if quick:
        misses.insert(0, "quick run (slices only)")
    print("verdict: met" if not misses else "verdict: missed: " + "; ".join(misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())

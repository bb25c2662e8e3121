"""Forecast bench: our chosen method vs seasonal naive and statsforecast on the real retail log.

Reads ../shared/data/retail/transactions.csv.gz with pandas (not through the app), keeps "clean
sales" (not C/A invoices, quantity > 0, price > 0, product codes only), builds weekly (Monday)
series of units sold and of the typical unit price for every product with at least --min-weeks
weeks with sales, holds out the last --horizon weeks and scores every method on them:
MASE (scaled by the training part's mean week-to-week change), sMAPE, 80%-interval coverage, and
seconds to fit and forecast every series. statsforecast models run on the same numpy arrays after a
warm-up call (its compile/first-call cost is excluded).

    nice -n 10 .venv/bin/python bench/forecast_bench.py            # full run
    .venv/bin/python bench/forecast_bench.py --limit 200 --what sales   # quick dev run

Last line: ``verdict: met`` or ``verdict: missed: <targets>``. Targets: sales MASE <= 0.95 x the best
statsforecast model's; our 80% coverage within 5 points of 80% (sales and price); our fitting time
for all series below statsforecast's time for its three models on the same series.
"""
from __future__ import annotations

import os

# One BLAS/OpenMP thread for every library: on a shared machine multi-threaded BLAS inside small
# optimisers (scipy's L-BFGS-B used by statsforecast, torch) spins and runs ~10x slower.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "retail" / "transactions.csv.gz"
NON_PRODUCT = re.compile(r"^(POST|DOT|M|D|C2|CRUK|PADS|B|S|BANK CHARGES|AMAZONFEE|GIFT_\d+_.*|DCGS.*)$",
                         re.IGNORECASE)


def load(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"invoice": str, "stock_code": str, "customer_id": str})
    inv = df["invoice"].astype(str)
    keep = (~inv.str.startswith(("C", "A"))) & (df["quantity"] > 0) & (df["unit_price"] > 0)
    df = df[keep & ~df["stock_code"].astype(str).str.match(NON_PRODUCT)].copy()
    d = pd.to_datetime(df["invoice_date"])
    df["week"] = (d - pd.to_timedelta(d.dt.dayofweek, unit="D")).dt.normalize()
    df["has_cust"] = df["customer_id"].notna()
    return df


def build_series(df: pd.DataFrame, min_weeks: int, limit: int | None):
    """{sku: (first Monday, sales array, price array)} on a common last week."""
    weeks_all = pd.date_range(df["week"].min(), df["week"].max(), freq="7D")
    nweeks = df.groupby("stock_code")["week"].nunique()
    skus = sorted(nweeks[nweeks >= min_weeks].index)
    if limit:
        skus = list(np.random.default_rng(0).choice(skus, size=min(limit, len(skus)), replace=False))
    sub = df[df["stock_code"].isin(skus)]
    qty = sub.groupby(["stock_code", "week"])["quantity"].sum().unstack().reindex(columns=weeks_all)
    # price list: registered customers' prices when they buy in at least half the sale weeks
    cw = sub[sub["has_cust"]].groupby("stock_code")["week"].nunique().reindex(skus).fillna(0)
    use_cust = cw >= 0.5 * nweeks.reindex(skus)
    pick = sub[~sub["stock_code"].map(use_cust) | sub["has_cust"]]
    price = pick.groupby(["stock_code", "week"])["unit_price"].median().unstack().reindex(columns=weeks_all)
    out = {}
    for sku in skus:
        q = qty.loc[sku].to_numpy(float)
        first = int(np.argmax(np.isfinite(q)))
        sales = np.nan_to_num(q[first:], nan=0.0)
        p = price.loc[sku].to_numpy(float)[first:]
        p = pd.Series(p).ffill().bfill().to_numpy()
        out[sku] = (weeks_all[first].date(), sales, p)
    return out, weeks_all


def score(actual, pred, lo, hi, scale):
    err = np.abs(actual - pred)
    mase = err.mean() / scale if scale > 1e-9 else np.nan
    den = np.abs(actual) + np.abs(pred)
    smape = np.mean(np.where(den > 0, 2 * err / np.where(den > 0, den, 1), 0.0)) * 100
    cov = np.mean((actual >= lo) & (actual <= hi)) if lo is not None else np.nan
    return mase, smape, cov


def run_ours(train: dict, what: str, h: int):
    from shopai.forecast.backtest import fit_panel
    from shopai.forecast.series import WeeklySeries, cap_outliers
    from shopai.jobs import run_job

    series = []
    for sku, (start, y) in train.items():
        if what == "sales":
            v, out = cap_outliers(y)
        else:
            v, out = y.copy(), np.zeros(len(y), bool)
        series.append(WeeklySeries(sku, what, start, v, y, np.ones(len(y), bool), out))
    t0 = time.perf_counter()
    fits = run_job(fit_panel(series, what, horizon=h))
    secs = time.perf_counter() - t0
    res = {f.key: (f.forecast, f.lo, f.hi) for f in fits}
    chosen = pd.Series([f.method for f in fits]).value_counts().to_dict()
    return res, secs, chosen


def run_snaive(train: dict, h: int):
    t0 = time.perf_counter()
    res = {}
    for sku, (_, y) in train.items():
        f = np.array([y[len(y) - 52 + (k % 52)] for k in range(h)]) if len(y) >= 52 else np.full(h, y[-1])
        d = np.diff(y) if len(y) > 1 else np.zeros(1)
        q = np.quantile(np.abs(d), 0.8) if len(d) else 0.0
        band = q * np.sqrt(np.arange(1, h + 1))
        res[sku] = (f, np.maximum(f - band, 0), f + band)
    return res, time.perf_counter() - t0


def run_statsforecast(train: dict, h: int, model_name: str):
    from statsforecast.models import AutoARIMA, AutoETS, CrostonOptimized

    make = {"AutoETS": lambda: AutoETS(season_length=1), "AutoARIMA": lambda: AutoARIMA(season_length=1),
            "CrostonOptimized": lambda: CrostonOptimized()}[model_name]
    warm = np.abs(np.sin(np.arange(40.0))) + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make().forecast(y=warm, h=h) if model_name == "CrostonOptimized" else make().forecast(y=warm, h=h, level=[80])
        t0 = time.perf_counter()
        res = {}
        for sku, (_, y) in train.items():
            try:
                if model_name == "CrostonOptimized":
                    r = make().forecast(y=y, h=h)
                    res[sku] = (r["mean"], None, None)
                else:
                    r = make().forecast(y=y, h=h, level=[80])
                    res[sku] = (r["mean"], r["lo-80"], r["hi-80"])
            except Exception:  # a failed fit counts as the last value, no band
                res[sku] = (np.full(h, y[-1]), None, None)
        return res, time.perf_counter() - t0


def evaluate(res: dict, train: dict, test: dict):
    rows = []
    for sku, (_, y) in train.items():
        f, lo, hi = res[sku]
        scale = np.mean(np.abs(np.diff(y))) if len(y) > 1 else 0.0
        rows.append(score(test[sku], np.asarray(f, float), None if lo is None else np.asarray(lo, float),
                          None if hi is None else np.asarray(hi, float), scale))
    a = np.array(rows, float)
    return np.nanmean(a[:, 0]), np.nanmean(a[:, 1]), np.nanmean(a[:, 2]) if np.isfinite(a[:, 2]).any() else np.nan


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--min-weeks", type=int, default=20)
    ap.add_argument("--horizon", type=int, default=8)
    ap.add_argument("--limit", type=int, default=None, help="random subset of products (dev runs)")
    ap.add_argument("--what", choices=["sales", "price", "both"], default="both")
    ap.add_argument("--peers", default="AutoETS,AutoARIMA,CrostonOptimized")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    df = load(DATA)
    data, weeks = build_series(df, args.min_weeks, args.limit)
    h = args.horizon
    print(f"data: {len(df):,} clean product lines, {len(weeks)} weeks "
          f"({weeks[0].date()} .. {weeks[-1].date()}), {len(data)} products with >= {args.min_weeks} sale weeks; "
          f"holdout = last {h} weeks from {(weeks[-h]).date()}; load {time.perf_counter() - t0:.1f}s")
    whats = ["sales", "price"] if args.what == "both" else [args.what]
    peers = [p for p in args.peers.split(",") if p]
    table = {}
    for what in whats:
        k = 1 if what == "sales" else 2
        train = {s: (v[0], v[k][:-h]) for s, v in data.items() if len(v[k]) > h + 2}
        test = {s: data[s][k][-h:] for s in train}
        res, secs, chosen = run_ours(train, what, h)
        table[(what, "ours")] = (*evaluate(res, train, test), secs)
        print(f"[{what}] ours chose: {chosen}")
        res, secs = run_snaive(train, h)
        table[(what, "seasonal naive")] = (*evaluate(res, train, test), secs)
        for p in peers:
            if what == "price" and p == "CrostonOptimized":
                continue
            res, secs = run_statsforecast(train, h, p)
            table[(what, p)] = (*evaluate(res, train, test), secs)
        n_scaled = sum(1 for _, y in train.values() if len(y) > 1 and np.mean(np.abs(np.diff(y))) > 1e-9)
        print(f"[{what}] {len(train)} series ({n_scaled} with a non-zero MASE scale)")

    print()
    print(f"{'series':<7} {'method':<18} {'MASE':>7} {'sMAPE':>7} {'cov80':>6} {'seconds':>8} "
          f"{'MASE/ours':>9} {'s/ours':>7}")
    for (what, name), (m, s, c, t) in table.items():
        om, _, _, ot = table[(what, "ours")]
        cov = f"{c * 100:5.1f}%" if np.isfinite(c) else "   n/a"
        print(f"{what:<7} {name:<18} {m:7.3f} {s:7.2f} {cov:>6} {t:8.1f} {m / om:9.3f} {t / ot:7.2f}")

    missed = []
    sf_sales = {p: table[("sales", p)] for p in peers if ("sales", p) in table}
    if "sales" in whats and sf_sales:
        best = min(sf_sales, key=lambda p: sf_sales[p][0])
        om = table[("sales", "ours")][0]
        ratio = om / sf_sales[best][0]
        print(f"\nsales MASE: ours {om:.3f} vs best statsforecast ({best}) {sf_sales[best][0]:.3f}: "
              f"ratio {ratio:.3f} (target <= 0.95)")
        if ratio > 0.95:
            missed.append(f"sales MASE ratio {ratio:.3f} > 0.95")
    for what in whats:
        c = table[(what, "ours")][2]
        print(f"{what} coverage of our 80% band: {c * 100:.1f}% (target 75-85%)")
        if not abs(c - 0.80) <= 0.05:
            missed.append(f"{what} coverage {c * 100:.1f}%")
    ours_t = sum(table[(w, "ours")][3] for w in whats)
    sf_t = sum(v[3] for (w, n), v in table.items() if n in peers)
    if peers:
        print(f"fit time, all series: ours {ours_t:.1f}s vs statsforecast {sf_t:.1f}s "
              f"({', '.join(peers)}): ratio {ours_t / sf_t:.2f} (target < 1)")
        if ours_t >= sf_t:
            missed.append(f"time {ours_t:.0f}s >= statsforecast {sf_t:.0f}s")
    print("verdict: met" if not missed else "verdict: missed: " + "; ".join(missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())

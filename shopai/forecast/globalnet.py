"""One global neural forecaster (a small MLP over lagged windows) trained across all products.

Every product's recent weeks are scaled by their own level, so a product selling 3 a week and one
selling 300 teach the same shapes. The shop's total (or average price index) over the same weeks is
a second input, which carries the shared trend and season. The net predicts ``H`` weeks at once
(direct, L1 loss: the median, which is what MASE rewards); longer horizons roll it forward.

It trains only on columns before ``cutoff`` of the panel: the backtest calls it once per origin.
torch is imported inside the functions so the app starts fast.
"""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np

LAGS = 16
H = 8


def _scale(win: np.ndarray) -> np.ndarray:
    """Per-row level: mean absolute value of the finite entries (1 where there is nothing)."""
    cnt = np.isfinite(win).sum(axis=1)
    s = np.where(cnt > 0, np.nansum(np.abs(win), axis=1) / np.maximum(cnt, 1), np.nan)
    s = np.where(np.isfinite(s) & (s > 1e-9), s, 1.0)
    return s


def aggregate(Y: np.ndarray, what: str) -> np.ndarray:
    """The shop-level series the net sees beside each product: total units, or mean relative price."""
    if what == "sales":
        return np.nansum(Y, axis=0)
    fin = np.isfinite(Y)
    row_mean = np.where(fin, Y, 0.0).sum(axis=1, keepdims=True) / np.maximum(fin.sum(axis=1, keepdims=True), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(fin & (row_mean > 0), Y / np.where(row_mean > 0, row_mean, 1.0), np.nan)
    ok = np.isfinite(rel)
    out = np.where(ok, rel, 0.0).sum(axis=0) / np.maximum(ok.sum(axis=0), 1)
    return np.where(ok.any(axis=0), out, 1.0)


def _features(Y: np.ndarray, agg: np.ndarray, rows: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inputs for windows ending (exclusive) at ``ends`` of the given rows; returns (X, scale)."""
    idx = ends[:, None] - LAGS + np.arange(LAGS)[None, :]
    valid_idx = idx >= 0
    safe = np.where(valid_idx, idx, 0)
    win = Y[rows[:, None], safe]
    win = np.where(valid_idx, win, np.nan)
    s = _scale(win)
    mask = np.isfinite(win)
    xw = np.where(mask, win / s[:, None], 0.0)
    aw = agg[safe]
    aw = np.where(valid_idx, aw, np.nan)
    sa = _scale(aw)
    xa = np.where(np.isfinite(aw), aw / sa[:, None], 0.0)
    lvl = np.log1p(s)[:, None] / 5.0
    X = np.concatenate([xw, mask.astype(float), xa, lvl], axis=1).astype(np.float32)
    return X, s


def _training_windows(Y: np.ndarray, cutoff: int, min_valid: int = 4, max_samples: int = 40000,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    n, _ = Y.shape
    starts = np.argmax(np.isfinite(Y), axis=1)
    rows, ends = [], []
    for i in range(n):
        lo = starts[i] + min_valid
        hi = cutoff - H  # targets Y[e:e+H] must lie before the cutoff
        if hi >= lo:
            e = np.arange(lo, hi + 1)
            rows.append(np.full(len(e), i))
            ends.append(e)
    if not rows:
        return np.zeros(0, int), np.zeros(0, int)
    rows_a, ends_a = np.concatenate(rows), np.concatenate(ends)
    if len(rows_a) > max_samples:
        pick = np.random.default_rng(seed).choice(len(rows_a), max_samples, replace=False)
        rows_a, ends_a = rows_a[pick], ends_a[pick]
    return rows_a, ends_a


class GlobalNet:
    """Train with :meth:`fit_steps` (a generator, for progress and cancel), then :meth:`predict`."""

    def __init__(self, what: str, seed: int = 0, steps: int = 300, batch: int = 256):
        self.what = what
        self.seed = seed
        self.steps = steps
        self.batch = batch
        self.net = None

    def fit_steps(self, Y: np.ndarray, cutoff: int) -> Iterator[int]:
        """Train on ``Y[:, :cutoff]`` only. Yields the step count every 50 steps."""
        import torch

        torch.set_num_threads(1)  # tiny net: more threads only spin on a busy machine
        Yc = np.array(Y[:, :cutoff], dtype=float)
        if self.what == "sales":
            Yc = np.where(np.isfinite(Yc), np.maximum(Yc, 0), np.nan)
        self.agg = aggregate(Yc, self.what)
        rows, ends = _training_windows(Yc, cutoff, seed=self.seed)
        torch.manual_seed(self.seed)
        n_in = 3 * LAGS + 1
        self.net = torch.nn.Sequential(
            torch.nn.Linear(n_in, 64), torch.nn.ReLU(),
            torch.nn.Linear(64, 64), torch.nn.ReLU(),
            torch.nn.Linear(64, H),
        )
        if len(rows) < 32:
            self.net = None  # too little to learn from: predict() falls back to the last level
            return
        X, s = _features(Yc, self.agg, rows, ends)
        tidx = ends[:, None] + np.arange(H)[None, :]
        T = Yc[rows[:, None], tidx] / s[:, None]
        T = np.where(np.isfinite(T), T, 0.0).astype(np.float32)
        Xt, Tt = torch.from_numpy(X), torch.from_numpy(T)
        # A hand-rolled Adam with cosine decay: torch.optim's first step imports the compiler stack
        # (seconds of start-up), which a small net trained in the background does not need.
        params = list(self.net.parameters())
        m1 = [torch.zeros_like(p) for p in params]
        m2 = [torch.zeros_like(p) for p in params]
        b1, b2, eps, lr0 = 0.9, 0.999, 1e-8, 2e-3
        gen = torch.Generator().manual_seed(self.seed)
        for step in range(self.steps):
            b = torch.randint(0, len(Xt), (min(self.batch, len(Xt)),), generator=gen)
            loss = (self.net(Xt[b]) - Tt[b]).abs().mean()
            for p in params:
                p.grad = None
            loss.backward()
            lr = lr0 * 0.5 * (1 + math.cos(math.pi * step / self.steps))
            with torch.no_grad():
                for p, a, v in zip(params, m1, m2):
                    a.mul_(b1).add_(p.grad, alpha=1 - b1)
                    v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                    ahat = a / (1 - b1 ** (step + 1))
                    vhat = v / (1 - b2 ** (step + 1))
                    p.sub_(lr * ahat / (vhat.sqrt() + eps))
            if step % 50 == 49:
                yield step + 1

    def predict(self, Y: np.ndarray, cutoff: int, rows: np.ndarray, h: int) -> np.ndarray:
        """Forecast ``h`` weeks after ``cutoff`` for ``rows`` using only ``Y[:, :cutoff]``."""
        import torch

        Yc = np.array(Y[rows][:, :cutoff], dtype=float)
        if self.what == "sales":
            Yc = np.where(np.isfinite(Yc), np.maximum(Yc, 0), np.nan)
        agg = self.agg[:cutoff] if len(self.agg) >= cutoff else aggregate(Yc, self.what)
        out = np.zeros((len(rows), h))
        done = 0
        local_rows = np.arange(len(rows))
        while done < h:
            ends = np.full(len(rows), Yc.shape[1])
            if self.net is None:
                win = Yc[:, -4:]
                fin = np.isfinite(win)
                level = np.where(fin, win, 0.0).sum(axis=1) / np.maximum(fin.sum(axis=1), 1)
                pred = level[:, None].repeat(H, 1)
            else:
                X, s = _features(Yc, agg, local_rows, ends)
                with torch.no_grad():
                    pred = self.net(torch.from_numpy(X)).numpy().astype(float) * s[:, None]
            take = min(H, h - done)
            out[:, done:done + take] = pred[:, :take]
            done += take
            if done < h:  # roll forward on our own forecasts
                Yc = np.concatenate([Yc, pred[:, :take]], axis=1)
                agg = np.concatenate([agg, np.full(take, agg[-1])])
        out = np.where(np.isfinite(out), out, 0.0)
        if self.what == "sales":
            out = np.maximum(out, 0.0)
        return out

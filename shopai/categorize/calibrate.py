"""Calibration and fusion: temperature scaling, expected calibration error, log-linear fusion weights.

All numpy; fitted on held-out products the models did not train on.
"""
from __future__ import annotations

import numpy as np


def softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def nll(logits: np.ndarray, y: np.ndarray) -> float:
    lp = log_softmax(logits)
    return float(-lp[np.arange(len(y)), y].mean())


def fit_temperature(logits: np.ndarray, y: np.ndarray, small: int = 100) -> float:
    """The temperature T minimising the NLL of softmax(logits / T) on held-out data.

    With fewer than ``small`` held-out items (a new shop), T is never below 1: a handful of lucky
    right answers must not make the model claim 100% certainty.
    """
    if len(y) == 0:
        return 1.0
    low = 1.0 if len(y) < small else 0.05
    grid = np.exp(np.linspace(np.log(low), np.log(20.0), 80))
    losses = [nll(logits / t, y) for t in grid]
    best = int(np.argmin(losses))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    for _ in range(30):  # golden-section refine
        a = hi - (hi - lo) * 0.618
        b = lo + (hi - lo) * 0.618
        if nll(logits / a, y) < nll(logits / b, y):
            hi = b
        else:
            lo = a
    return float((lo + hi) / 2)


def fit_sigmoid(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt-style scaling of one-vs-rest margins: (a, b) minimising the held-out NLL of the normalised
    sigmoids p_k ∝ sigmoid(a·s_k + b), i.e. of softmax(log_sigmoid(a·s + b)).

    The same a > 0 and b for every class, so each row's ranking (argmax) is unchanged.
    """
    from scipy.optimize import minimize
    from scipy.special import log_expit

    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if len(y) == 0:
        return 1.0, 0.0

    def loss(p):
        return nll(log_expit(np.exp(p[0]) * s + p[1]), y)

    best = min(([np.log(a0), 0.0] for a0 in (1.0, 3.0, 10.0)), key=loss)
    r = minimize(loss, best, method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-7, "maxiter": 400})
    p = r.x if r.fun <= loss(best) else best
    return float(np.exp(p[0])), float(p[1])


def ece(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of the top-1 confidence (equal-width bins)."""
    if len(y) == 0:
        return 0.0
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            total += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(total)


def fuse_logits(text_logits: np.ndarray | None, photo_logits: np.ndarray | None, weights: tuple[float, float]) -> np.ndarray:
    """Log-linear fusion of two calibrated models: w_t·log p_text + w_p·log p_photo."""
    parts = []
    if text_logits is not None:
        parts.append(weights[0] * log_softmax(text_logits))
    if photo_logits is not None:
        parts.append(weights[1] * log_softmax(photo_logits))
    if not parts:
        raise ValueError("nothing to fuse")
    return sum(parts)


def fit_fusion(text_logits: np.ndarray, photo_logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Weights (w_text, w_photo) minimising held-out NLL; the pair also absorbs the temperature."""
    if len(y) == 0:
        return (1.0, 1.0)
    lt, lp = log_softmax(text_logits), log_softmax(photo_logits)
    best, best_w = np.inf, (1.0, 1.0)
    top = 2.0 if len(y) >= 100 else 1.0  # few held-out items: no sharpening beyond the calibrated models
    for wt in np.linspace(0.0, top, 21):
        for wp in np.linspace(0.0, top, 21):
            if wt == 0 and wp == 0:
                continue
            loss = nll(wt * lt + wp * lp, y)
            if loss < best:
                best, best_w = loss, (float(wt), float(wp))
    return best_w

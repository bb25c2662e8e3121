"""Exponential smoothing (ETS with additive errors) fitted by least squares with scipy.

Two forms: simple (level only, ETS(A,N,N)) and damped trend (ETS(A,Ad,N)); the one with the lower
AICc wins. The recursions are short pure-Python loops (weekly series have tens of points), which is
faster than numpy for this size and keeps the fit cheap enough to refit at every backtest origin.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize


def _sse_ses(params, y):
    alpha, level = params
    sse = 0.0
    for v in y:
        e = v - level
        sse += e * e
        level += alpha * e
    return sse


def _sse_damped(params, y):
    alpha, beta, phi, level, trend = params
    sse = 0.0
    for v in y:
        f = level + phi * trend
        e = v - f
        sse += e * e
        level = f + alpha * e
        trend = phi * trend + beta * e
    return sse


def _final_state_ses(params, y):
    alpha, level = params
    for v in y:
        level += alpha * (v - level)
    return level


def _final_state_damped(params, y):
    alpha, beta, phi, level, trend = params
    for v in y:
        f = level + phi * trend
        e = v - f
        level = f + alpha * e
        trend = phi * trend + beta * e
    return level, trend


def _aicc(sse: float, n: int, k: int) -> float:
    if n - k - 1 <= 0:
        return math.inf
    return n * math.log(max(sse, 1e-12) / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)


def fit_ets(y: np.ndarray) -> dict:
    """Fit both forms to ``y`` and return the chosen one's parameters (a small dict)."""
    y = [float(v) for v in np.asarray(y, dtype=float)]
    n = len(y)
    if n == 0:
        raise ValueError("empty series")
    scale = max(float(np.mean(np.abs(y))), 1e-9)
    ys = [v / scale for v in y]  # fit on a unit scale so tolerances mean the same for every series
    best = None
    # simple exponential smoothing: start from the best grid point, then SLSQP (bounded)
    _, g = ets_batch(np.asarray(ys)[None, :], 1)
    a0 = float(_GRID[g[0], 0])
    x0 = [a0, ys[0]]
    res = minimize(_sse_ses, x0, args=(ys,), method="SLSQP",
                   bounds=[(0.01, 0.99), (None, None)], options={"maxiter": 40})
    best = {"form": "ses", "params": [float(p) for p in res.x], "aicc": _aicc(res.fun, n, 3)}
    if n >= 8:
        t0 = (ys[min(n, 4) - 1] - ys[0]) / max(min(n, 4) - 1, 1)
        b0, p0 = (float(_GRID[g[0], 1]), float(_GRID[g[0], 2])) if _GRID[g[0], 3] else (0.05, 0.9)
        x0 = [a0, min(max(b0, 0.001), 0.5), min(max(p0, 0.8), 0.98), ys[0], t0]
        res = minimize(_sse_damped, x0, args=(ys,), method="SLSQP",
                       bounds=[(0.01, 0.99), (0.001, 0.5), (0.8, 0.98), (None, None), (None, None)],
                       options={"maxiter": 40})
        if res.x[1] > res.x[0]:  # beta must not exceed alpha
            res.x[1] = res.x[0]
        aicc = _aicc(_sse_damped(res.x, ys), n, 6)
        if aicc < best["aicc"]:
            best = {"form": "damped", "params": [float(p) for p in res.x], "aicc": aicc}
    best["scale"] = scale
    return best


def ets_forecast(y: np.ndarray, h: int, model: dict | None = None) -> np.ndarray:
    """Point forecasts ``h`` steps ahead from an ETS fit on ``y`` (fitted here unless given)."""
    model = model or fit_ets(y)
    scale = model["scale"]
    ys = [float(v) / scale for v in np.asarray(y, dtype=float)]
    if model["form"] == "ses":
        level = _final_state_ses(model["params"], ys)
        return np.full(h, level * scale)
    alpha, beta, phi = model["params"][:3]
    level, trend = _final_state_damped(model["params"], ys)
    damp = np.cumsum(phi ** np.arange(1, h + 1))
    return (level + damp * trend) * scale


# The parameter grid the batch fit searches (and the single-series fit starts from).
_ALPHAS = np.array([0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 0.95])
_GRID = np.array(
    [(a, 0.0, 1.0, 0) for a in _ALPHAS]
    + [(a, b * a, p, 1) for a in _ALPHAS for b in (0.05, 0.2, 0.5) for p in (0.8, 0.9, 0.98)]
)


def ets_batch(Y: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Fit ETS to every row of ``Y`` at once (rows left-padded with NaN) and forecast ``h`` steps.

    Searches the same forms as :func:`fit_ets` over a fixed parameter grid, vectorised over rows and
    grid points, and picks per row the form and parameters with the lowest AICc. Returns
    (forecasts ``(n, h)``, chosen grid row per series). Used when thousands of series are refitted at
    every backtest origin, where a per-series optimiser would dominate the run time.
    """
    Y = np.asarray(Y, dtype=float)
    n, T = Y.shape
    fin = np.isfinite(Y)
    scale = np.where(fin, np.abs(Y), 0.0).sum(axis=1) / np.maximum(fin.sum(axis=1), 1)
    scale = np.where(np.isfinite(scale) & (scale > 1e-9), scale, 1.0)
    Ys = Y / scale[:, None]
    alpha, beta, phi, damped = (_GRID[:, k][None, :] for k in range(4))
    g = len(_GRID)
    level = np.full((n, g), np.nan)
    trend = np.zeros((n, g))
    sse = np.zeros((n, g))
    count = np.zeros(n)
    for t in range(T):
        v = Ys[:, t][:, None]
        ok = np.isfinite(v)
        first = ok & ~np.isfinite(level)
        level = np.where(first, v, level)
        upd = ok & ~first
        f = level + phi * trend
        e = np.where(upd, v - f, 0.0)
        sse += e * e
        level = np.where(upd, f + alpha * e, level)
        trend = np.where(upd, phi * trend + beta * e, trend)
        count += ok[:, 0]
    k = np.where(damped > 0, 6, 3)
    nn = np.maximum(count, 1)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        aicc = nn * np.log(np.maximum(sse, 1e-12) / nn) + 2 * k + 2 * k * (k + 1) / np.maximum(nn - k - 1, 1e-9)
    aicc = np.where(nn - k - 1 > 0, aicc, np.inf)
    aicc[:, 0] = np.where(np.isfinite(aicc[:, 0]), aicc[:, 0], 0.0)  # SES is always allowed
    best = np.argmin(aicc, axis=1)
    rows = np.arange(n)
    lv, tr = level[rows, best], trend[rows, best]
    ph = _GRID[best, 2]
    damp = np.cumsum(ph[:, None] ** np.arange(1, h + 1)[None, :], axis=1)
    fc = (lv[:, None] + damp * tr[:, None]) * scale[:, None]
    fc = np.where(np.isfinite(fc), fc, 0.0)
    return fc, best

"""Local forecasting methods: each takes a history ``y`` and a horizon ``h`` and returns ``h`` values.

They only ever see the history they are given; the backtest relies on that to never peek.
``SEASON`` is the yearly season of weekly data; with less than a year and a bit of history the
seasonal methods step aside rather than invent a season, and "same as last year" is not a candidate
at all (``candidates``): it would only be "same as last week" under another name.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from shopai.forecast.ets import ets_forecast

SEASON = 52


def naive(y: np.ndarray, h: int, m: int = SEASON) -> np.ndarray:
    return np.full(h, float(y[-1]))


def moving_average(y: np.ndarray, h: int, m: int = SEASON, window: int = 4) -> np.ndarray:
    return np.full(h, float(np.mean(y[-window:])))


def seasonal_naive(y: np.ndarray, h: int, m: int = SEASON) -> np.ndarray:
    """Same week last season; falls back to the last value while there is not a full season."""
    if len(y) < m:
        return naive(y, h)
    last = np.asarray(y[-m:], dtype=float)
    return np.array([last[i % m] for i in range(h)])


def drift(y: np.ndarray, h: int, m: int = SEASON) -> np.ndarray:
    """Differencing: last value plus the average week-on-week change, times the steps ahead."""
    if len(y) < 2:
        return naive(y, h)
    slope = (float(y[-1]) - float(y[0])) / (len(y) - 1)
    return float(y[-1]) + slope * np.arange(1, h + 1)


def decomposition(y: np.ndarray, h: int, m: int = SEASON) -> np.ndarray:
    """Classical additive decomposition: centred moving-average trend, seasonal indices, linear trend ahead.

    Needs two full seasons; with less it is plain damped drift on a smoothed level.
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    if n < 2 * m:
        return ets_like_trend(y, h)
    if m % 2 == 0:
        kernel = np.r_[0.5, np.ones(m - 1), 0.5] / m
    else:
        kernel = np.ones(m) / m
    trend = np.convolve(y, kernel, mode="same")
    half = len(kernel) // 2
    trend[:half] = np.nan
    trend[n - half:] = np.nan
    detr = y - trend
    idx = np.arange(n) % m
    seas = np.array([np.nanmean(detr[idx == k]) if np.isfinite(detr[idx == k]).any() else 0.0 for k in range(m)])
    seas -= seas.mean()
    deseason = y - seas[idx]
    # linear trend over the last two seasons of the deseasonalised series
    tail = deseason[-2 * m:]
    slope, intercept = np.polyfit(np.arange(len(tail)), tail, 1)
    future_t = len(tail) - 1 + np.arange(1, h + 1)
    future_idx = (n + np.arange(h)) % m
    return intercept + slope * future_t + seas[future_idx]


def ets_like_trend(y: np.ndarray, h: int) -> np.ndarray:
    if len(y) < 4:
        return naive(y, h)
    tail = np.asarray(y[-8:], dtype=float)
    slope, intercept = np.polyfit(np.arange(len(tail)), tail, 1)
    damp = np.cumsum(0.9 ** np.arange(1, h + 1))
    return intercept + slope * (len(tail) - 1) + slope * damp


def ets(y: np.ndarray, h: int, m: int = SEASON) -> np.ndarray:
    return ets_forecast(y, h)


def croston(y: np.ndarray, h: int, m: int = SEASON, alpha: float = 0.1) -> np.ndarray:
    """Croston's method (SBA-corrected): demand size over interval between sales, smoothed separately."""
    y = np.asarray(y, dtype=float)
    nz = np.flatnonzero(y > 0)
    if len(nz) == 0:
        return np.zeros(h)
    size = y[nz[0]]
    interval = float(nz[0] + 1)
    last = nz[0]
    for i in nz[1:]:
        size += alpha * (y[i] - size)
        interval += alpha * ((i - last) - interval)
        last = i
    return np.full(h, (1 - alpha / 2) * size / max(interval, 1.0))


def tsb(y: np.ndarray, h: int, m: int = SEASON, alpha: float = 0.1, beta: float = 0.1) -> np.ndarray:
    """Teunter-Syntetos-Babai: smooths the chance of a sale each week, so dying items decay to zero."""
    y = np.asarray(y, dtype=float)
    nz = y[y > 0]
    if len(nz) == 0:
        return np.zeros(h)
    prob = float((y > 0).mean())
    size = float(nz[0])
    for v in y:
        if v > 0:
            prob += beta * (1 - prob)
            size += alpha * (v - size)
        else:
            prob += beta * (0 - prob)
    return np.full(h, prob * size)


@dataclass(frozen=True)
class Method:
    name: str
    label: str
    func: Callable[..., np.ndarray]
    min_points: int = 1
    sales_only: bool = False


LOCAL_METHODS: dict[str, Method] = {m.name: m for m in [
    Method("naive", "same as last week", naive),
    Method("seasonal_naive", "same as last year", seasonal_naive, SEASON),
    Method("moving_average", "4-week average", moving_average, 2),
    Method("drift", "trend of changes (drift)", drift, 3),
    Method("decomposition", "seasonal decomposition", decomposition, 6),
    Method("ets", "exponential smoothing (ETS)", ets, 4),
    Method("croston", "Croston (intermittent)", croston, 4, sales_only=True),
    Method("tsb", "TSB (intermittent)", tsb, 4, sales_only=True),
]}

GLOBAL_LABEL = "global neural net (all products)"


def label(name: str) -> str:
    if name == "global":
        return GLOBAL_LABEL
    if name == "combo":
        return "blend: ETS + 4-week average + neural net"
    m = LOCAL_METHODS.get(name)
    return m.label if m else name


def candidates(what: str, n: int) -> list[str]:
    """Local methods that make sense for a ``what`` series of ``n`` points."""
    out = []
    for m in LOCAL_METHODS.values():
        if m.sales_only and what != "sales":
            continue
        if n >= m.min_points:
            out.append(m.name)
    return out


def run_local(name: str, y: np.ndarray, h: int, what: str, m: int = SEASON) -> np.ndarray:
    f = np.asarray(LOCAL_METHODS[name].func(np.asarray(y, dtype=float), h, m), dtype=float)
    f = np.where(np.isfinite(f), f, float(y[-1]))
    if what == "sales":
        f = np.maximum(f, 0.0)
    else:
        f = np.maximum(f, 0.01 * max(float(np.min(y)), 1e-9))
    return f


def clip_forecast(F: np.ndarray, what: str, Y: np.ndarray) -> np.ndarray:
    """Row-wise version of run_local's guard: no negative sales, no price collapsing to zero."""
    F = np.where(np.isfinite(F), F, 0.0)
    if what == "sales":
        return np.maximum(F, 0.0)
    with np.errstate(invalid="ignore"):
        floor = 0.01 * np.nanmin(np.where(np.isfinite(Y), Y, np.inf), axis=1)
    floor = np.where(np.isfinite(floor), floor, 0.0)
    return np.maximum(F, floor[:, None])

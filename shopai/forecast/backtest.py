"""Rolling-origin backtest, method choice and calibrated 80% intervals.

At each origin ``c`` every method sees only the weeks before ``c`` (``Y[:, :c]``) and forecasts the
next ``H`` weeks, which are then compared with what happened: MASE (error relative to the series'
own week-to-week change) and sMAPE. The global net is retrained per origin on the same truncated
panel, so no method ever sees the future it is scored on.

The chosen method is the best of its group (demand class for sales, all series for prices), unless a
series' own backtest clearly prefers another. Intervals are conformal: quantiles of the backtest's
signed, scaled errors per group, method and step ahead, applied to the final forecast.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterator

import numpy as np

from shopai.forecast import methods as M
from shopai.forecast.series import WeeklySeries, demand_class
from shopai.jobs import Job, Progress

H = 8               # weeks each backtest window scores
MIN_TRAIN = 6       # weeks a method needs before an origin to be scored there
LEVEL = 0.80
# A series leaves its group's method only if its own best is this much better. 1.0 = never: with three
# backtest windows a single series' ranking is mostly noise (validation: per-group 1.672 vs 1.680 MASE).
OVERRIDE_MARGIN = 1.0


def naive_scale(y: np.ndarray) -> float:
    """Mean absolute week-to-week change of ``y`` (the MASE denominator), never zero."""
    y = np.asarray(y, dtype=float)
    if len(y) >= 2:
        s = float(np.mean(np.abs(np.diff(y))))
        if s > 1e-9:
            return s
    m = float(np.mean(np.abs(y))) if len(y) else 0.0
    return max(0.01 * m, 1e-6) if m > 0 else 1.0


RECENT = 13  # weeks whose week-to-week change sizes the 80% band (recent volatility, not the year's)


def band_scale(y: np.ndarray) -> float:
    """How big errors are likely to be now: mean absolute change over the recent weeks, never zero."""
    y = np.asarray(y, dtype=float)
    recent = naive_scale(y[-(RECENT + 1):])
    return max(recent, 0.5 * naive_scale(y)) if len(y) > RECENT + 1 else naive_scale(y)


def mase(actual: np.ndarray, pred: np.ndarray, scale: float) -> float:
    return float(np.mean(np.abs(np.asarray(actual) - np.asarray(pred)))) / scale


def smape(actual: np.ndarray, pred: np.ndarray) -> float:
    """Symmetric MAPE in %; NaN when nothing happened in the window (every actual zero), where any
    forecast above zero, however tiny, would score the maximum 200%."""
    a, p = np.abs(np.asarray(actual, float)), np.abs(np.asarray(pred, float))
    if not (a > 0).any():
        return float("nan")
    den = a + p
    err = np.where(den > 0, 2 * np.abs(np.asarray(actual) - np.asarray(pred)) / np.where(den > 0, den, 1), 0.0)
    return float(np.mean(err)) * 100


@dataclass
class Fit:
    """One series' result: chosen method, backtest scores per method, forecast with its 80% band."""

    key: str
    what: str
    method: str
    group: str
    scores: dict[str, dict[str, float]]
    start: date
    n_history: int
    forecast: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key, "what": self.what, "method": self.method, "group": self.group,
            "scores": self.scores, "start": self.start.isoformat(), "n_history": self.n_history,
            "forecast": [round(float(v), 4) for v in self.forecast],
            "lo": [round(float(v), 4) for v in self.lo], "hi": [round(float(v), 4) for v in self.hi],
            "notes": self.notes,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Fit":
        return cls(d["key"], d["what"], d["method"], d["group"], d["scores"], date.fromisoformat(d["start"]),
                   int(d["n_history"]), np.array(d["forecast"], float), np.array(d["lo"], float),
                   np.array(d["hi"], float), list(d.get("notes", [])))


def panel_raw(series: list[WeeklySeries]) -> np.ndarray:
    """Like :func:`panel`'s Y but as observed (outliers not capped): what forecasts are scored against."""
    Y, _, starts = panel(series)
    for i, s in enumerate(series):
        raw = np.where(np.isfinite(s.raw), s.raw, s.values) if len(s.raw) == len(s.values) else s.values
        Y[i, starts[i]:starts[i] + len(raw)] = raw
    return Y


def panel(series: list[WeeklySeries]) -> tuple[np.ndarray, date, np.ndarray]:
    """Align series on calendar weeks: (Y with NaN before each start, first Monday, start column per row)."""
    first = min(s.start for s in series)
    last = max(s.last_week for s in series)
    T = (last - first).days // 7 + 1
    Y = np.full((len(series), T), np.nan)
    starts = np.zeros(len(series), int)
    for i, s in enumerate(series):
        o = (s.start - first).days // 7
        Y[i, o:o + len(s.values)] = s.values
        starts[i] = o
    return Y, first, starts


def group_of(y: np.ndarray, what: str) -> str:
    return demand_class(y) if what == "sales" else "price"


def _methods_for(what: str, use_global: bool, n: int) -> list[str]:
    out = M.candidates(what, n)
    if use_global:
        out += ["global", "combo"]
    return out


# The blend ("combo") averages these methods' forecasts: blends of unlike methods are steadier than
# any one of them, which a backtest chosen per group rewards.
COMBO = {"sales": ("ets", "moving_average", "global"), "price": ("ets", "global")}
# The shared net alone is scored and shown but not offered as a choice: on a validation period (the
# 8 weeks before the bench's holdout) it won backtests yet lost to the blend that contains it.
NOT_CHOSEN_ALONE = {"global"}


def _combo(fc: dict[str, np.ndarray], what: str) -> np.ndarray | None:
    parts = [fc[k] for k in COMBO[what] if k in fc]
    return np.mean(parts, axis=0) if len(parts) >= 2 else None


def run_backtest(
    Y: np.ndarray,
    starts: np.ndarray,
    origins: list[int],
    what: str,
    use_global: bool = False,
    h: int = H,
    global_steps: int | None = None,
    Yraw: np.ndarray | None = None,
) -> Iterator[Progress | dict]:
    """Score every method at every origin. Yields Progress, and finally one dict:

    ``errors[i][method] = list of (step-ahead index array, signed scaled errors, mase, smape)``.
    Each method gets ``Y[i, starts[i]:c]`` and nothing after ``c``. Forecasts are scored against
    ``Yraw`` (as observed, outliers included) when given, so the bands learn how wild real weeks are.
    """
    Yraw = Y if Yraw is None else Yraw
    n, T = Y.shape
    global_steps = global_steps or GLOBAL_STEPS
    errors: list[dict[str, list]] = [dict() for _ in range(n)]
    total = len(origins) * (n + (global_steps if use_global else 0))
    done = 0
    for c in sorted(origins):
        valid = np.array([i for i in range(n) if c - starts[i] >= MIN_TRAIN and c < T])
        gpred = None
        if use_global and len(valid):
            gen = train_global(Y[:, :c], c, what, global_steps)
            try:
                while True:
                    k = next(gen)
                    yield Progress(done + k, total, f"training the shared model (origin week {c})")
            except StopIteration as stop:
                predict = stop.value
            done += global_steps
            gpred = predict(Y, c, valid, h)
        ets_fc = None
        if len(valid) >= 20:  # many series: one vectorised ETS fit for all of them
            from shopai.forecast.ets import ets_batch

            ets_fc, _ = ets_batch(Y[valid, :c], h)
            ets_fc = M.clip_forecast(ets_fc, what, Y[valid, :c])
        for j, i in enumerate(valid):
            hist = Y[i, starts[i]:c]
            actual = Yraw[i, c:min(c + h, T)]
            steps = np.arange(len(actual))
            scale = naive_scale(hist)
            bscale = band_scale(hist)
            fc: dict[str, np.ndarray] = {}
            for name in M.candidates(what, len(hist)):
                if name == "ets" and ets_fc is not None:
                    fc[name] = ets_fc[j]
                else:
                    fc[name] = M.run_local(name, hist, h, what)
            if gpred is not None:
                fc["global"] = gpred[j]
                combo = _combo(fc, what)
                if combo is not None:
                    fc["combo"] = combo
            for name, f in fc.items():
                f = f[:len(actual)]
                errors[i].setdefault(name, []).append(
                    (steps, (actual - f) / bscale, mase(actual, f, scale), smape(actual, f), c))
            done += 1
            if j % 25 == 0:
                yield Progress(done, total, f"backtesting {what} (origin week {c})")
    yield {"errors": errors}


GLOBAL_STEPS = 300  # training steps of the shared net per origin, over all seeds
GLOBAL_SEEDS = 1  # the shared net is an average of this many nets trained from different seeds


def train_global(Y: np.ndarray, cutoff: int, what: str, steps: int):
    """Train the shared net(s) on ``Y[:, :cutoff]``; yields steps done (0..steps), returns predict()."""
    from shopai.forecast.globalnet import GlobalNet

    nets = []
    for seed in range(GLOBAL_SEEDS):
        net = GlobalNet(what, seed=seed, steps=max(steps // GLOBAL_SEEDS, 1))
        for k in net.fit_steps(Y[:, :cutoff], cutoff):
            yield seed * net.steps + k
        nets.append(net)

    def predict(Yp: np.ndarray, c: int, rows: np.ndarray, h: int) -> np.ndarray:
        return np.mean([net.predict(Yp, c, rows, h) for net in nets], axis=0)

    return predict


def _quantiles(errs: list[tuple[np.ndarray, np.ndarray]], horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """10% and 90% quantiles of signed scaled errors for each step ahead, smooth in the step.

    Errors at one step of one origin fall in the same calendar week for every series, so per-step
    quantiles from a few origins are noisy. Instead the typical error size is fitted as
    ``a + b*sqrt(step)`` (b >= 0), errors are divided by it and pooled over all steps, and the pooled
    quantiles are scaled back per step (and extrapolated past the backtest window).
    """
    k = np.arange(1, horizon + 1)
    if not errs:
        g = 1.5 * np.sqrt(k)
        return -g, g
    steps = np.concatenate([s for s, _ in errs])
    vals = np.concatenate([e for _, e in errs])
    ok = np.isfinite(vals)
    steps, vals = steps[ok], vals[ok]
    if len(vals) == 0:
        g = 1.5 * np.sqrt(k)
        return -g, g
    present = np.unique(steps)
    size = np.array([np.mean(np.abs(vals[steps == s])) for s in present])
    if len(present) >= 3:
        b, a = np.polyfit(np.sqrt(present + 1), size, 1)
        if b < 0:
            a, b = float(np.mean(size)), 0.0
    else:
        a, b = float(np.mean(size)), 0.0
    grow = lambda x: np.maximum(a + b * np.sqrt(x), 1e-9)  # noqa: E731
    norm = vals / grow(steps + 1)
    qlo, qhi = (1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2
    lo_n, hi_n = np.quantile(norm, qlo), np.quantile(norm, qhi)
    widen = 1 + 1.5 / np.sqrt(len(vals)) if len(vals) < 200 else 1.0  # small samples under-cover
    g = grow(k)
    lo, hi = lo_n * g * widen, hi_n * g * widen
    return np.minimum.accumulate(np.minimum(lo, 0.0)), np.maximum.accumulate(np.maximum(hi, 0.0))


def widen_for_drift(errors: list[dict[str, list]], groups: list[str], chosen: list[str], group: str) -> float:
    """How much bands built from older origins had to widen to hold 80% at the newest origin.

    Conformal bands assume the future errs like the past; when demand is ramping up (a season
    starting) it errs more. This replays that check inside the backtest, with past data only: bands
    from all but the last origin, scored on the last one. Returns a factor between 1 and 2.
    """
    early, late = [], []
    for e, g, m in zip(errors, groups, chosen):
        if g != group or not m:
            continue
        recs = e.get(m, [])
        if not recs:
            continue
        last_c = max(r[4] for r in recs)
        for r in recs:
            (late if r[4] == last_c else early).append((r[0], r[1]))
    if len(late) < 20 or len(early) < 20:
        return 1.0
    qlo, qhi = _quantiles(early, H)
    steps = np.concatenate([s for s, _ in late])
    vals = np.concatenate([v for _, v in late])
    for f in np.arange(1.0, 2.001, 0.05):
        inside = (vals >= qlo[steps] * f) & (vals <= qhi[steps] * f)
        if inside.mean() >= LEVEL:
            return float(f)
    return 2.0


def fully_tested(e: dict[str, list]) -> dict[str, list]:
    """The methods scored at every origin this series was tested at ("same as last year" is scored only
    where a year of history lies before the origin): only they can be compared fairly."""
    most = max((len(v) for v in e.values()), default=0)
    return {k: v for k, v in e.items() if len(v) == most}


def choose(errors: list[dict[str, list]], groups: list[str]) -> tuple[list[str], dict[str, str]]:
    """Per-series method: its group's best by mean backtest MASE (unless its own best is clearly better)."""
    errors = [fully_tested({k: v for k, v in e.items() if k not in NOT_CHOSEN_ALONE}) for e in errors]
    group_best: dict[str, str] = {}
    for g in set(groups):
        tot: dict[str, list[float]] = {}
        for e, gg in zip(errors, groups):
            if gg != g:
                continue
            for name, rec in e.items():
                tot.setdefault(name, []).append(np.mean([r[2] for r in rec]))
        if tot:
            most = max(len(v) for v in tot.values())
            group_best[g] = min((k for k in tot if len(tot[k]) == most), key=lambda k: np.mean(tot[k]))
    chosen = []
    for e, g in zip(errors, groups):
        if not e:
            chosen.append("")
            continue
        own = {k: float(np.mean([r[2] for r in v])) for k, v in e.items()}
        best = min(own, key=own.get)
        gb = group_best.get(g)
        if gb in own and own[best] > (1 - OVERRIDE_MARGIN) * own[gb]:
            best = gb
        chosen.append(best)
    return chosen, group_best


def fit_panel(
    series: list[WeeklySeries],
    what: str,
    horizon: int = 26,
    origins: list[int] | None = None,
    n_origins: int = 3,
    origin_step: int = 4,
    use_global: bool = True,
    global_steps: int | None = None,
) -> Job[list[Fit]]:
    """Backtest, choose and forecast every series together (the "fit all products" path)."""
    if not series:
        return []
    Y, first, starts = panel(series)
    n, T = Y.shape
    if origins is None:
        origins = [T - H - origin_step * k for k in range(n_origins)]
        origins = [c for c in origins if c > MIN_TRAIN]
        if not origins:  # short shop history: score on shorter windows near the end
            origins = [c for c in range(T - 1, MIN_TRAIN, -1)][:6]
    use_global = use_global and n >= 20
    global_steps = global_steps or GLOBAL_STEPS
    result: dict = {}
    Yraw = panel_raw(series)
    for item in run_backtest(Y, starts, origins, what, use_global, H, global_steps, Yraw=Yraw):
        if isinstance(item, Progress):
            yield item
        else:
            result = item
    errors = result["errors"]
    groups = [group_of(Y[i, starts[i]:], what) for i in range(n)]
    chosen, group_best = choose(errors, groups)

    drift = {g: widen_for_drift(errors, groups, chosen, g) for g in set(groups)}
    qcache: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

    def q(group: str, name: str) -> tuple[np.ndarray, np.ndarray]:
        if (group, name) not in qcache:
            errs = [(r[0], r[1]) for ee, g in zip(errors, groups) if g == group for r in ee.get(name, [])]
            lo_q, hi_q = _quantiles(errs, horizon)
            f = drift.get(group, 1.0)
            qcache[(group, name)] = (lo_q * f, hi_q * f)
        return qcache[(group, name)]

    gfinal = None
    if use_global and any(c in ("global", "combo") for c in chosen):
        gen = train_global(Y, T, what, global_steps)
        try:
            while True:
                k = next(gen)
                yield Progress(k, global_steps, "training the shared model on all weeks")
        except StopIteration as stop:
            predict = stop.value
        gfinal = predict(Y, T, np.arange(n), horizon)

    ets_final = None
    if n >= 20:
        from shopai.forecast.ets import ets_batch

        ets_final = M.clip_forecast(ets_batch(Y, horizon)[0], what, Y)

    def local(name: str, i: int, hist: np.ndarray) -> np.ndarray:
        if name == "ets" and ets_final is not None:
            return ets_final[i]
        return M.run_local(name, hist, horizon, what)

    fits = []
    for i, s in enumerate(series):
        hist = Y[i, starts[i]:]
        notes = list(s.notes)
        method = chosen[i]
        if not method:
            method = "moving_average" if what == "sales" and len(hist) >= 2 else "naive"
            notes.append("too little history to test methods: a simple rule is used")
        if method in ("global", "combo"):
            fc = {"global": gfinal[i]}
            if method == "combo":
                for name in COMBO[what]:
                    if name in M.candidates(what, len(hist)):
                        fc[name] = local(name, i, hist)
                f = _combo(fc, what)
            else:
                f = fc["global"]
        else:
            f = local(method, i, hist)
        qlo, qhi = q(groups[i], method)
        scale = band_scale(hist)
        if not errors[i]:  # nothing measured for this series: a rough, deliberately wide range
            if what == "sales" and len(hist):
                # week-to-week change says nothing after one week: allow for count noise (sqrt of the
                # level) and for how little n weeks pin the level down (level / sqrt(n))
                level = float(np.mean(np.abs(hist)))
                scale = max(scale, np.sqrt(level), level / np.sqrt(len(hist)))
            else:
                scale = max(scale, 0.15 * float(np.mean(np.abs(hist))) if len(hist) else 0.0)
            notes.append("the range is rough: too few weeks to measure past errors")
        lo, hi = f + qlo * scale, f + qhi * scale
        lo = np.maximum(lo, 0.0)
        scores = {
            name: {"mase": round(float(np.mean([r[2] for r in rec])), 4),
                   "smape": _mean_smape(rec),
                   "origins": len(rec)}
            for name, rec in errors[i].items()
        }
        fits.append(Fit(s.key, what, method, groups[i], scores, s.start, len(hist), f, lo, hi, notes))
    return fits


def _mean_smape(rec: list) -> float | None:
    """Mean sMAPE over the origins where it means something; None when nothing sold in any window."""
    vals = [r[3] for r in rec if np.isfinite(r[3])]
    return round(float(np.mean(vals)), 2) if vals else None


def fit_one(series: WeeklySeries, horizon: int = 8, max_origins: int = 10) -> Fit:
    """Backtest and forecast a single series with the local methods (quick: a few ms).

    Origins step back one week at a time from the end, windows cut at the last week, so the recent
    past weighs most; intervals pool that series' own errors over steps ahead.
    """
    from shopai.jobs import run_job

    T = len(series.values)
    origins = [c for c in range(T - 1, MIN_TRAIN - 1, -1)][:max_origins]
    return run_job(fit_panel([series], series.what, horizon, origins=origins, use_global=False))[0]

"""The query API the CLI and the Forecast tab use: one product's (or category's) forecast as plain data."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import sqlite_utils

from shopai.forecast import methods as M
from shopai.forecast.backtest import Fit, fit_one
from shopai.forecast.data import load_series
from shopai.forecast.series import WeeklySeries
from shopai.forecast.train import STORED_HORIZON
from shopai.jobs import UserError
from shopai.store.db import like_pattern

MAX_HORIZON = 52
MAX_LEAD_DAYS = 7 * STORED_HORIZON  # the stored fits forecast this far, so every lead time uses the same model


def _whole_number(value: Any, what: str, unit: str, most: int) -> int:
    """``value`` as a whole number from 1 to ``most``, or a UserError naming ``what`` and its ``unit``."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise UserError(f"{what} must be a whole number of {unit}, not '{value}'.") from None
    if not 1 <= n <= most:
        raise UserError(f"{what} must be between 1 and {most} {unit}.")
    return n


def check_horizon(horizon: Any) -> int:
    return _whole_number(horizon, "Horizon", "weeks", MAX_HORIZON)


def check_lead_time(days: Any) -> int:
    return _whole_number(days, "Lead time", "days", MAX_LEAD_DAYS)


def lead_weeks(lead_time_days: int) -> int:
    """Weeks of forecast the reorder hint needs to cover the whole lead time."""
    return math.ceil(lead_time_days / 7)


def forecast(
    db: sqlite_utils.Database,
    sku: str | None = None,
    category: str | None = None,
    what: str = "sales",
    horizon: int = 8,
    lead_time_days: int = 14,
    use_stored: bool = True,
) -> dict[str, Any]:
    """Forecast one series ``horizon`` weeks past the last order's week, with history and explanation.

    Uses the stored result of "fit all products" when it is current (it includes the shared neural
    model); otherwise backtests the local methods on this series alone (a few milliseconds). For sales
    the fit reaches as far as the lead time, whatever the horizon shown, so the reorder hint covers it.
    """
    horizon = check_horizon(horizon)
    weeks = horizon
    if what == "sales":
        lead_time_days = check_lead_time(lead_time_days)
        weeks = max(horizon, lead_weeks(lead_time_days))
    series, product = load_series(db, what, sku=sku, category=category)
    fit = None
    source = "fresh"
    if use_stored and sku:
        from shopai.forecast.store import load_fit

        stored = load_fit(db, series.key, what, series.last_week)
        if stored is not None and stored.n_history == len(series) and len(stored.forecast) >= weeks:
            fit, source = stored, "stored"
    if fit is None:
        fit = fit_one(series, weeks)
    return result_dict(series, fit, product, horizon, lead_time_days, source,
                       category=None if sku else category)


def result_dict(series: WeeklySeries, fit: Fit, product: dict[str, Any], horizon: int,
                lead_time_days: int = 14, source: str = "fresh", category: str | None = None) -> dict[str, Any]:
    weeks = series.future_weeks(horizon)
    f, lo, hi = fit.forecast[:horizon], fit.lo[:horizon], fit.hi[:horizon]
    digits = 2 if series.what == "price" else 1
    out: dict[str, Any] = {
        "sku": series.key,
        "what": series.what,
        "method": fit.method,
        "freq": "W",
        "forecast": [
            {"period_start": w.isoformat(), "value": round(float(v), digits),
             "lo80": round(float(a), digits), "hi80": round(float(b), digits)}
            for w, v, a, b in zip(weeks, f, lo, hi)
        ],
        "title": series.title or product.get("title", ""),
        "category": category,
        "method_label": M.label(fit.method),
        "group": fit.group,
        "scores": fit.scores,
        "baseline": baseline(fit),
        "source": source,
        "history": [
            {"period_start": w.isoformat(), "value": float(v),
             "raw": None if not np.isfinite(r) else float(r), "observed": bool(o), "outlier": bool(x)}
            for w, v, r, o, x in zip(series.weeks, series.values, series.raw, series.observed, series.outlier)
        ],
        "notes": list(dict.fromkeys(fit.notes)),
    }
    out["sentence"] = sentence(series, fit, horizon)
    if series.what == "sales":
        out["reorder"] = reorder_hint(fit, product.get("stock"), lead_time_days, per_product=not category)
    return out


def baseline(fit: Fit) -> str | None:
    """The simple rule the chosen method is compared with: "same as last year" where it was tested as
    often as the chosen method (it needs a year of history before each test), else "same as last week"."""
    sc = fit.scores
    tested = sc.get(fit.method, {}).get("origins")
    for name in ("seasonal_naive", "naive"):
        if name in sc and sc[name].get("origins") == tested:
            return name
    return None


def sentence(series: WeeklySeries, fit: Fit, horizon: int) -> str:
    """One plain sentence: the range for the next month and how the method did against the simple rule."""
    k = min(4, horizon)
    period = "next month" if k == 4 else f"next {k} week{'s' if k > 1 else ''}"
    if series.what == "price":
        lo, hi = float(np.mean(fit.lo[:k])), float(np.mean(fit.hi[:k]))
        if abs(hi - lo) < 0.005:
            head = f"{period} about {lo:.2f}"
        else:
            head = f"{period} about {lo:.2f}–{hi:.2f}"
    else:
        total = float(np.sum(fit.forecast[:k]))
        lo, hi = float(np.mean(fit.lo[:k])), float(np.mean(fit.hi[:k]))
        head = f"{period} about {total:.0f} units ({lo:.0f}–{hi:.0f} a week)"
    base = baseline(fit)
    sc = fit.scores
    if base is None or fit.method == base:
        tail = "" if sc else " (too little history to compare methods)"
        return head + tail
    base_label = M.label(base)
    b, c = sc[base]["mase"], sc[fit.method]["mase"]
    if b <= 0:
        return head + f"; '{base_label}' was already exact on past weeks"
    gain = (1 - c / b) * 100
    if gain >= 0.5:
        return head + f"; this beat '{base_label}' by {gain:.0f}%"
    if gain > -0.5:
        return head + f"; about as accurate as '{base_label}' on past weeks"
    return head + f"; '{base_label}' did {-gain:.0f}% better on this item's past weeks, " \
                  "but the chosen method is better across similar items"


def reorder_hint(fit: Fit, stock: Any, lead_time_days: int = 14, per_product: bool = True) -> dict[str, Any]:
    """Expected units over the lead time (and a high case) against stock: how much to reorder.

    ``fit`` must reach ``lead_weeks(lead_time_days)`` weeks ahead. A category's hint gives the expected
    units only: one product's stock cannot cover another's sales, so stock is compared per product.
    """
    weeks = max(lead_time_days, 1) / 7
    full = int(math.floor(weeks))
    part = weeks - full
    wts = np.array([1.0] * full + ([part] if part > 1e-9 else []))
    n = min(len(wts), len(fit.forecast))
    wts = wts[:n]
    expected = float(np.sum(fit.forecast[:n] * wts))
    spread = float(np.sqrt(np.sum(((fit.hi[:n] - fit.forecast[:n]) * wts) ** 2)))
    high = int(math.ceil(round(expected + spread, 1)))  # whole units: the order below is exactly high - stock
    hint: dict[str, Any] = {"lead_time_days": lead_time_days, "expected": round(expected, 1),
                            "high": high, "stock": stock if per_product else None}
    days = f"{lead_time_days} day{'' if lead_time_days == 1 else 's'}"
    if not per_product:
        hint["order"] = None
        hint["text"] = (f"Expect about {expected:.0f} units across the category in the next {days} (up to {high}); "
                        "reorder hints are per product: pick one to compare with its stock.")
    elif stock is None:
        hint["order"] = None
        hint["text"] = f"Expect about {expected:.0f} units in the next {days} (up to {high}); stock is not recorded."
    elif stock >= high:
        hint["order"] = 0
        hint["text"] = f"Stock of {stock} covers the next {days} (about {expected:.0f} expected, up to {high})."
    elif stock >= expected:  # enough for a usual spell, not for a busy one: say why it still says reorder
        order = int(math.ceil(high - stock))
        hint["order"] = order
        hint["text"] = (f"Reorder about {_units(order)} to be safe: the {stock} in stock cover the {expected:.0f} "
                        f"expected in the next {days}, but a busy spell could sell up to {high}.")
    else:
        order = int(math.ceil(high - stock))
        hint["order"] = order
        hint["text"] = (f"Reorder about {_units(order)}: stock of {stock} will not last the next {days} "
                        f"(about {expected:.0f} expected, up to {high}).")
    return hint


def _units(n: int) -> str:
    return "1 unit" if n == 1 else f"{n} units"


def public_json(result: dict[str, Any]) -> dict[str, Any]:
    """Exactly the CLI's ``--json`` shape."""
    return {k: result[k] for k in ("sku", "what", "method", "freq", "forecast")}




def forecast_job(db_path: str, sku: str | None = None, category: str | None = None, what: str = "sales",
                 horizon: int = 8, lead_time_days: int = 14):
    """One forecast as a job (for the UI's worker thread): opens its own connection."""
    from shopai.jobs import Progress
    from shopai.store import open_store

    yield Progress(0, None, "forecasting")
    db = open_store(db_path)
    try:
        return forecast(db, sku=sku, category=category, what=what, horizon=horizon,
                        lead_time_days=lead_time_days)
    finally:
        db.conn.close()


def choices(db: sqlite_utils.Database, text: str = "", limit: int = 50) -> list[tuple[str, str, str]]:
    """What the picker offers for ``text``: ("sku", sku, title) for products that have sold, best
    sellers first, then ("category", name, name). At most ``limit`` products; matched in SQL (FTS5)."""
    from shopai.forecast.series import is_product_code
    from shopai.store.products import match_where

    where, params = match_where(db, text)  # as the catalog's search finds them (Chinese inside words too)
    sold = "(SELECT count(*) FROM order_lines l WHERE l.product_id = p.id)"
    if where:
        rows = db.conn.execute(
            f"SELECT p.sku, p.title FROM products p WHERE {' AND '.join(where)} AND {sold} > 0 "
            f"ORDER BY {sold} DESC LIMIT ?", (*params, limit * 2)).fetchall()
    else:
        rows = db.conn.execute(
            "SELECT p.sku, p.title FROM order_lines l JOIN products p ON p.id = l.product_id "
            "GROUP BY p.id ORDER BY count(*) DESC LIMIT ?", (limit * 2,)).fetchall()
    out = [("sku", s, t) for s, t in rows if is_product_code(s)][:limit]
    like = like_pattern(text.strip(), prefix=False)
    out += [("category", r[0], r[0]) for r in db.conn.execute(
        "SELECT DISTINCT category FROM products WHERE category IS NOT NULL AND category != '' "
        "AND category LIKE ? ESCAPE '\\' ORDER BY 1 LIMIT 20", (like,))]
    return out


def has_sales(db: sqlite_utils.Database) -> bool:
    return bool(db.conn.execute("SELECT EXISTS (SELECT 1 FROM order_lines)").fetchone()[0])
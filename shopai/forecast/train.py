"""``train forecast``: fit every product's sales and price series in the background and store the results."""
from __future__ import annotations

import time
from collections import Counter
from typing import Any

from shopai.forecast.backtest import fit_panel
from shopai.forecast.data import last_week, load_all
from shopai.jobs import Job, Progress, UserError

STORED_HORIZON = 26


def train_job(db_path: str, what: str = "both", horizon: int = STORED_HORIZON, **opts: Any) -> Job[dict]:
    """Backtest, choose a method and forecast for every product; store them all in one transaction.

    Cancelling (closing the generator) before the end leaves the stored fits as they were.
    """
    from shopai.forecast.store import save_fits
    from shopai.store import open_store

    db = open_store(db_path)
    try:
        end = last_week(db)
        if end is None:
            raise UserError("There are no orders yet: import orders before fitting forecasts.")
        whats = ["sales", "price"] if what == "both" else [what]
        t0 = time.perf_counter()
        all_fits = []
        summary: dict[str, Any] = {"last_week": end.isoformat()}
        for k, w in enumerate(whats):
            yield Progress(k, len(whats), f"reading {w} series")
            series = load_all(db, w)
            if not series:
                continue
            gen = fit_panel(series, w, horizon=horizon, **opts)
            try:
                while True:
                    p = next(gen)
                    frac = p.fraction or 0.0
                    yield Progress(k + frac, len(whats), f"{w}: {p.message}")
            except StopIteration as stop:
                fits = stop.value
            all_fits += fits
            summary[f"{w}_series"] = len(fits)
            summary[f"{w}_methods"] = dict(Counter(f.method for f in fits).most_common())
        if not all_fits:
            raise UserError("No product has sales to forecast yet.")
        yield Progress(len(whats), len(whats), "saving", commit=True)  # the forecasts land: too late to cancel
        save_fits(db, all_fits, end)
        summary["seconds"] = round(time.perf_counter() - t0, 1)
        return summary
    finally:
        db.conn.close()

"""Stored fits: the chosen method, backtest scores and forecast per series, from "fit all products"."""
from __future__ import annotations

import json
from datetime import date, datetime

import sqlite_utils

from shopai.forecast.backtest import Fit
from shopai.store.db import transaction

# Bumped when the stored JSON changes shape; older rows are ignored (refitted), never misread.
# 2: "same as last year" scored only where a year of history precedes the origin; sMAPE may be null.
FORMAT_VERSION = 2


def has_table(db: sqlite_utils.Database) -> bool:
    return bool(db.conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'forecast_fits'").fetchone())


def save_fits(db: sqlite_utils.Database, fits: list[Fit], last_week: date) -> int:
    """Replace the stored fits of these series in one transaction."""
    now = datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    rows = [(f.key, f.what, f.method, last_week.isoformat(), FORMAT_VERSION, json.dumps(f.to_json()), now)
            for f in fits]
    with transaction(db) as conn:
        conn.executemany(
            "INSERT OR REPLACE INTO forecast_fits (key, what, method, last_week, format, result_json, fitted_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def load_fit(db: sqlite_utils.Database, key: str, what: str, last_week: date) -> Fit | None:
    """The stored fit for a series if it is current (same last week, known format), else None."""
    if not has_table(db):
        return None
    row = db.conn.execute(
        "SELECT last_week, format, result_json FROM forecast_fits WHERE key = ? AND what = ?", (key, what)
    ).fetchone()
    if not row or row[0] != last_week.isoformat() or row[1] != FORMAT_VERSION:
        return None
    try:
        return Fit.from_json(json.loads(row[2]))
    except (ValueError, KeyError, TypeError):
        return None  # damaged row: recompute rather than crash


def method_counts(db: sqlite_utils.Database) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    if not has_table(db):
        return out
    for what, method, n in db.conn.execute(
            "SELECT what, method, count(*) FROM forecast_fits GROUP BY 1, 2 ORDER BY 3 DESC"):
        out.setdefault(what, {})[method] = n
    return out

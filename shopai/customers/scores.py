"""Reading the stored customer scores: for the Customers tab (ids sorted in SQL, rows on demand),
the CLI and CSV export."""
from __future__ import annotations

import json
from typing import Any, Iterable

from shopai.store.db import like_pattern

COLUMNS = ("customer_id", "name", "last_order", "orders", "spend", "p_return_30d", "p_return_90d",
           "expected_spend_90d", "at_risk", "regular", "recency_days", "rfm", "history", "id")
SORTABLE = {
    "customer_id": "c.external_id", "name": "c.name", "last_order": "s.last_order", "orders": "s.orders",
    "spend": "s.spend", "p_return_30d": "s.p_return_30d", "p_return_90d": "s.p_return_90d",
    "expected_spend_90d": "s.expected_spend_90d", "at_risk": "s.at_risk", "recency_days": "s.recency_days",
}
_SELECT = ("SELECT c.external_id, c.name, s.last_order, s.orders, s.spend, s.p_return_30d, s.p_return_90d, "
           "s.expected_spend_90d, s.at_risk, s.regular, s.recency_days, s.rfm, s.history, s.customer_id "
           "FROM customer_scores s JOIN customers c ON c.id = s.customer_id")


def model_info(db) -> dict | None:
    """What the last training stored (chosen model, sentence, evaluation table), or None."""
    row = db.conn.execute("SELECT value FROM settings WHERE key = 'customers.model'").fetchone()
    if not row:
        return None
    try:
        return json.loads(row[0])
    except ValueError:
        return None


def _where(text: str, at_risk_only: bool) -> tuple[str, list]:
    where, params = [], []
    if at_risk_only:
        where.append("s.at_risk = 1")
    if text.strip():
        where.append("(c.external_id LIKE ? ESCAPE '\\' OR c.name LIKE ? ESCAPE '\\')")
        params += [like_pattern(text.strip()), like_pattern(text.strip(), prefix=False)]
    return (" WHERE " + " AND ".join(where)) if where else "", params


def score_ids(db, order_by: str = "p_return_30d", descending: bool = True, at_risk_only: bool = False,
              text: str = "") -> list[int]:
    """Customer ids (customers.id) of the scored rows, filtered and sorted in SQL."""
    if order_by not in SORTABLE:
        raise ValueError(f"cannot sort by {order_by!r}")
    where, params = _where(text, at_risk_only)
    d = "DESC" if descending else "ASC"
    sql = (f"SELECT s.customer_id FROM customer_scores s JOIN customers c ON c.id = s.customer_id{where} "
           f"ORDER BY {SORTABLE[order_by]} {d}, s.customer_id {d}")
    return [r[0] for r in db.conn.execute(sql, params)]


def _row(r) -> dict[str, Any]:
    d = dict(zip(COLUMNS, r))
    d["at_risk"] = bool(d["at_risk"])
    d["regular"] = bool(d["regular"])
    try:
        d["history"] = json.loads(d["history"] or "[]")
    except ValueError:
        d["history"] = []
    return d


def fetch_rows(db, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    ids = list(ids)
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for r in db.conn.execute(f"{_SELECT} WHERE s.customer_id IN ({marks})", chunk):
            d = _row(r)
            out[d["id"]] = d
    return out


def all_rows(db, order_by: str = "p_return_30d", descending: bool = True, at_risk_only: bool = False,
             text: str = "") -> list[dict[str, Any]]:
    ids = score_ids(db, order_by, descending, at_risk_only, text)
    rows = fetch_rows(db, ids)
    return [rows[i] for i in ids]


def unscored_rows(db) -> list[dict[str, Any]]:
    """Customers with their paid orders and net spend, before any model has been trained."""
    cur = db.conn.execute(
        "SELECT c.external_id, c.name, max(CASE WHEN o.status = 'paid' THEN substr(o.ordered_at, 1, 10) END), "
        "sum(o.status = 'paid'), coalesce(sum(CASE WHEN o.status = 'paid' OR o.total < 0 THEN o.total END), 0) "
        "FROM customers c JOIN orders o ON o.customer_id = c.id "
        "GROUP BY c.id HAVING sum(o.status = 'paid') > 0 ORDER BY 3 DESC")
    return [{"customer_id": r[0], "name": r[1], "last_order": r[2], "orders": r[3], "spend": round(r[4], 2),
             "p_return_30d": None, "p_return_90d": None, "expected_spend_90d": None, "at_risk": None}
            for r in cur]


EXPORT_HEADER = ("customer_id", "name", "last_order", "orders", "spend", "p_return_30d", "p_return_90d",
                 "expected_spend_90d", "at_risk", "rfm")


def export_segment(db, path: str, at_risk_only: bool = False, text: str = "",
                   order_by: str = "p_return_30d", descending: bool = True) -> int:
    """Write the rows the tab shows to a CSV (formula injection neutralised by shopai.io.export)."""
    from shopai.io.export import write_csv

    rows = all_rows(db, order_by, descending, at_risk_only, text)
    return write_csv(path, EXPORT_HEADER, ([r[k] if k != "at_risk" else ("yes" if r[k] else "no")
                                            for k in EXPORT_HEADER] for r in rows))

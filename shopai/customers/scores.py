"""Reading the stored customer scores: for the Customers tab (ids sorted in SQL, rows on demand),
the CLI and CSV export."""
from __future__ import annotations

import json
from typing import Any, Iterable

from shopai.jobs import Job, Progress
from shopai.store.db import in_chunks, like_pattern
from shopai.store.orders import NOT_FUTURE

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


# Before any training: every customer with a paid order, with what their orders say (no predictions).
_PAID_SUMMARY = (
    "SELECT customer_id, max(CASE WHEN status = 'paid' THEN substr(ordered_at, 1, 10) END) AS last_order, "
    "sum(status = 'paid') AS orders, "
    "round(coalesce(sum(CASE WHEN status = 'paid' OR total < 0 THEN total END), 0), 2) AS spend "
    "FROM orders WHERE customer_id IS NOT NULL GROUP BY customer_id HAVING sum(status = 'paid') > 0")
UNSCORED_SORTABLE = {"customer_id": "c.external_id", "name": "c.name", "last_order": "a.last_order",
                  "orders": "a.orders", "spend": "a.spend"}


def is_scored(db) -> bool:
    """True once a training has stored scores."""
    return db.conn.execute("SELECT 1 FROM customer_scores LIMIT 1").fetchone() is not None


def score_ids(db, order_by: str = "p_return_30d", descending: bool = True, at_risk_only: bool = False,
              text: str = "") -> list[int]:
    """Customer ids (customers.id) of the scored rows, filtered and sorted in SQL. Before any training,
    every customer with a paid order (sorted by what their orders say; by last order for a prediction)."""
    if order_by not in SORTABLE:
        raise ValueError(f"cannot sort by {order_by!r}")
    if not is_scored(db):
        if at_risk_only:
            return []
        where, params = _where(text, False)
        key = UNSCORED_SORTABLE.get(order_by)
        if key is None:
            key, descending = "a.last_order", True
        d = "DESC" if descending else "ASC"
        sql = (f"SELECT c.id FROM customers c JOIN ({_PAID_SUMMARY}) a ON a.customer_id = c.id{where} "
               f"ORDER BY {key} {d}, c.id {d}")
        return [r[0] for r in db.conn.execute(sql, params)]
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


def last_order_day(db) -> str | None:
    """The day of the shop's newest order (YYYY-MM-DD), orders dated in the future left out as training does."""
    return db.conn.execute(f"SELECT max(substr(ordered_at, 1, 10)) FROM orders WHERE ordered_at {NOT_FUTURE}"
                           ).fetchone()[0]


def fetch_rows(db, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Rows for customer ids (customers.id): their scores, or before any training what their orders say."""
    out: dict[int, dict[str, Any]] = {}
    last: str | None = None  # read once, for the first chunk that needs it
    for chunk, marks in in_chunks(ids):
        for r in db.conn.execute(f"{_SELECT} WHERE s.customer_id IN ({marks})", chunk):
            d = _row(r)
            out[d["id"]] = d
        missing = [i for i in chunk if i not in out]
        if missing and not is_scored(db):
            marks = ",".join("?" * len(missing))
            last = last or last_order_day(db)
            spend = _monthly_spend(db, missing, last)
            for r in db.conn.execute(
                    f"SELECT c.external_id, c.name, a.last_order, a.orders, a.spend, c.id FROM customers c "
                    f"JOIN ({_PAID_SUMMARY}) a ON a.customer_id = c.id WHERE c.id IN ({marks})", missing):
                out[r[5]] = {"customer_id": r[0], "name": r[1], "last_order": r[2], "orders": r[3],
                             "spend": r[4], "p_return_30d": None, "p_return_90d": None,
                             "expected_spend_90d": None, "at_risk": None, "regular": False,
                             "recency_days": None, "rfm": None, "history": spend.get(r[5], []), "id": r[5]}
    return out


def _monthly_spend(db, ids: list[int], last: str | None, months: int = 12) -> dict[int, list[float]]:
    """Before any training: each customer's paid spend per 30-day block ending at ``last`` (the shop's last
    order day), oldest first, as training stores it (``history.monthly_spend``), for the sparklines."""
    if not last or not ids:
        return {}
    out = {i: [0.0] * months for i in ids}
    rows = db.conn.execute(
        "SELECT o.customer_id, CAST(julianday(?) - julianday(substr(o.ordered_at, 1, 10)) AS INTEGER) / 30 AS block, "
        "sum(CASE WHEN o.total <> 0 THEN o.total ELSE coalesce((SELECT sum(l.quantity * l.unit_price) "
        "     FROM order_lines l WHERE l.order_id = o.id), 0) END) "
        f"FROM orders o WHERE o.status = 'paid' AND o.customer_id IN ({','.join('?' * len(ids))}) "
        "AND substr(o.ordered_at, 1, 10) BETWEEN date(?, ?) AND ? GROUP BY 1, 2",
        [last, *ids, last, f"-{30 * months - 1} days", last]).fetchall()
    for cid, block, value in rows:
        if 0 <= block < months:
            out[cid][months - 1 - block] = round(float(value or 0), 2)
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
    from shopai.jobs import run_job

    return run_job(export_segment_job(db, path, at_risk_only, text, order_by, descending))


def export_segment_job(db, path: str, at_risk_only: bool = False, text: str = "",
                       order_by: str = "p_return_30d", descending: bool = True) -> Job[int]:
    """Job form of :func:`export_segment`; ``db`` may be the shop's path (the job then reads on a connection of
    its own, in the thread that runs it). The file appears only once complete."""
    from shopai.io.export import reading, write_csv_job

    with reading(db) as db:
        yield Progress(0, None, "Reading the customers")
        rows = all_rows(db, order_by, descending, at_risk_only, text)
        out = ([r[k] if k != "at_risk" else ("yes" if r[k] else "no") for k in EXPORT_HEADER] for r in rows)
        return (yield from write_csv_job(path, EXPORT_HEADER, out, len(rows), "customers"))

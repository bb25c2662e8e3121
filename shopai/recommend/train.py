"""``train_job``: read the shop's orders, compare every model on a time split, save the best.

Steps: (1) read paid orders of known customers, netting returns; (2) fit the hybrid's weights on a
validation period; (3) train every model on the data before the held-out weeks and measure
Recall@10/NDCG@10 on them; (4) retrain the best on everything and save it (the previous model stays
in place until the new one is fully written, so a cancel changes nothing).
"""
from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import numpy as np
import scipy.sparse as sp

from shopai.jobs import Job, Progress, UserError
from shopai.recommend import models as M
from shopai.recommend import persist
from shopai.recommend.data import DAY, History, Log, build_log
from shopai.recommend.evaluate import component_scores, evaluate_job, make_split
from shopai.recommend.rerank import Rerank
from shopai.recommend.returns import kept_purchases
from shopai.store.orders import after_tomorrow, future_note, future_orders

K = 10
MIN_EVAL_CUSTOMERS = 5
HYBRID_PARTS = ("popular", "buy_again", "tifu", "user_knn", "content")


def _seconds(iso: list[str]) -> np.ndarray:
    """Seconds since 1970 of ISO timestamps; unreadable ones become NaN (and are left out)."""
    try:
        return np.array([str(s)[:19] for s in iso], dtype="datetime64[s]").astype(np.int64).astype(np.float64)
    except ValueError:
        out = np.full(len(iso), np.nan)
        for n, s in enumerate(iso):
            try:
                out[n] = np.datetime64(str(s)[:19].replace(" ", "T"), "s").astype(np.int64)
            except ValueError:
                pass
        return out


def read_orders(db) -> tuple[Log, dict[str, Any]]:
    """The shop's purchases as a :class:`Log` keyed by customer id and product id.

    Only paid orders of known customers count as purchases. A customer's credit lines (negative, like
    the "C" credit invoices of a UK shop's log) take back their earlier purchases of the product
    (:func:`~shopai.recommend.returns.kept_purchases`), so returned products are left out; an order
    cancelled or refunded as a whole counts as neither, and guest orders and orders dated after today are
    ignored. Every product in the catalog becomes an item (for content scoring).
    """
    conn = db.conn
    rows = conn.execute(
        "SELECT o.id, o.customer_id, o.ordered_at, o.status, l.product_id, l.quantity "
        "FROM order_lines l JOIN orders o ON o.id = l.order_id "
        "WHERE o.customer_id IS NOT NULL AND l.product_id IS NOT NULL "
        f"AND (o.status = 'paid' OR l.quantity < 0) AND NOT {after_tomorrow('o.ordered_at')}"
    ).fetchall()
    guests = conn.execute("SELECT count(*) FROM orders WHERE customer_id IS NULL").fetchone()[0]
    sales, returned = kept_purchases(rows)
    catalog = {str(pid): f"{title} {desc or ''}".strip()
               for pid, title, desc in conn.execute("SELECT id, title, description FROM products")}
    info = {"lines": len(sales), "guest_orders": guests,
            "returned_pairs": len(returned), "future_orders": future_orders(db)}
    if not sales:
        log = build_log([], [], [], [], catalog)
        return log, info
    secs = _seconds([r[2] for r in sales])
    info["bad_dates"] = int(np.isnan(secs).sum())
    sales = [r for r, s in zip(sales, secs) if not np.isnan(s)]
    secs = secs[~np.isnan(secs)]
    if not sales:
        return build_log([], [], [], [], catalog), info
    log = build_log([str(r[1]) for r in sales], [str(r[4]) for r in sales], [str(r[0]) for r in sales],
                    secs, catalog)
    return log, info


def basket_cooccurrence(log: Log, mask: np.ndarray, keep: int = 50) -> tuple[sp.csr_matrix, np.ndarray]:
    """Orders holding both items (top ``keep`` partners per item) and orders holding each item."""
    b_ids, b = np.unique(log.basket[mask], return_inverse=True)
    x = sp.csr_matrix((np.ones(mask.sum(), dtype=np.float32), (b, log.item[mask])),
                      shape=(len(b_ids), log.n_items))
    x.data[:] = 1.0
    co = sp.csr_matrix(x.T @ x)
    co.setdiag(0.0)
    co.eliminate_zeros()
    return M.topk_rows(co, keep), np.asarray(x.sum(axis=0)).ravel().astype(np.float32)


def _split_days(span: float) -> float:
    """Length of the held-out period: 4 weeks on a long history, less on a short one."""
    return float(min(28.0, max(1.0, span / 5.0)))


def train_job(db_path: str, **opts: Any) -> Job[dict]:
    """Train and save the shop's recommender. Yields Progress; returns a summary dict."""
    from shopai.store import open_store

    started = time.perf_counter()
    yield Progress(0, 100, "reading orders")
    db = open_store(db_path)
    try:
        log, info = read_orders(db)
        last_order = db.conn.execute("SELECT max(ordered_at) FROM orders").fetchone()[0]
        n_orders = db.conn.execute("SELECT count(*) FROM orders").fetchone()[0]
    finally:
        db.conn.close()
    n_customers = len(set(log.user.tolist()))
    if len(log.t) == 0:
        raise UserError("There are no paid orders from known customers to learn from yet "
                        f"({info['guest_orders']} guest orders without a customer id were ignored). "
                        "Import orders first.")
    if n_customers < 2:
        raise UserError("Recommendations need orders from at least 2 customers; "
                        f"this shop has orders from {n_customers}.")
    yield Progress(5, 100, f"{len(log.t):,} purchases of {n_customers:,} customers")

    t_end = float(log.t.max())
    now = t_end + 1e-6
    span = t_end - float(log.t.min())
    hold = _split_days(span)
    test_cut = t_end - hold
    val_cut = test_cut - hold
    test = make_split(log, test_cut, None, 2000)
    results: list[dict] = []
    weights = None
    note = ""

    if len(test.truth) >= MIN_EVAL_CUSTOMERS:
        # (2) hybrid weights on the validation period.
        # The blend is fitted on dense scores: keep them to ~120 MB per component on big catalogs.
        val = make_split(log, val_cut, test_cut, max(200, min(1000, int(3e7 / max(log.n_items, 1)))))
        t_val = time.perf_counter()
        val_s = rerank_s = 0.0
        rerank = None
        if len(val.truth) >= MIN_EVAL_CUSTOMERS:
            vt = log.history(log.window(None, val_cut), now=val_cut)
            parts = [M.MODELS[k]() for k in HYBRID_PARTS]
            for i, c in enumerate(parts):
                for _ in c.fit(vt, log.titles):
                    yield Progress(5 + 15 * (i + 0.5) / len(parts), 100, f"validation: {c.label}")
            val_scores = component_scores(parts, val)
            scores_s = time.perf_counter() - t_val
            weights = yield from _scaled(M.fit_weights(val_scores, val.truth, K), 20, 28)
            val_s = time.perf_counter() - t_val
            t = time.perf_counter()
            rerank = Rerank()
            try:
                yield from _scaled(_first(rerank.fit_net(val_scores, vt, val.hist, val.truth)), 28, 35)
            except ImportError:  # no torch: the re-ranker is simply not offered
                rerank.net = {}
            rerank_s = time.perf_counter() - t + scores_s
            del val_scores
        # (3) every model on the data before the held-out weeks.
        train = log.history(log.window(None, test_cut), now=test_cut)
        cands: list[M.Model] = [M.MODELS[k]() for k in ("popular", "buy_again", "user_knn", "item_knn",
                                                        "content", "tifu")]
        if log.n_items <= 3000:  # its matrix inverse cannot be interrupted: keep it to a second or two
            cands.append(M.EASE())
        if weights:
            cands.append(M.Hybrid([M.MODELS[k]() for k in HYBRID_PARTS], weights))
        if rerank is not None and rerank.net:
            cands.append(rerank)
        for i, m in enumerate(cands):
            t = time.perf_counter()
            for _ in m.fit(train, log.titles):
                yield Progress(35 + 50 * (i + 0.5) / len(cands), 100, f"testing {m.label}")
            # Fitting the blend / the re-ranker's net on the validation period counts as training.
            fit_s = time.perf_counter() - t + {"hybrid": val_s, "rerank": rerank_s}.get(m.key, 0.0)
            r = yield from _scaled(evaluate_job(m, test, K), 35 + 50 * (i + 0.5) / len(cands),
                                   35 + 50 * (i + 1) / len(cands), whole=True)
            results.append({"key": m.key, "label": m.label, "recall": round(r["recall"], 4),
                            "ndcg": round(r["ndcg"], 4), "train_s": round(fit_s, 3),
                            "ms_per_customer": round(r["ms_per_customer"], 3)})
            yield Progress(35 + 50 * (i + 1) / len(cands), 100, f"tested {m.label}")
        best = max(results, key=lambda r: (r["ndcg"], r["key"] == "popular"))
        pop = next(r for r in results if r["key"] == "popular")
        chosen = best["key"]
        if chosen == "popular" or best["ndcg"] <= pop["ndcg"]:
            chosen = "popular"
            note = ("Nothing beat “most popular” on this shop's history, so the app suggests the most "
                    "popular products.")
        else:
            gain = (best["ndcg"] / pop["ndcg"] - 1) * 100 if pop["ndcg"] > 0 else float("inf")
            note = (f"{best['label']} beats most popular by {gain:.0f}% (NDCG@10 {best['ndcg']:.3f} vs "
                    f"{pop['ndcg']:.3f}) on the last {hold:.0f} days, {len(test.truth)} returning customers.")
    else:
        chosen = "popular"
        came = f"{len(test.truth)} customer{' came' if len(test.truth) == 1 else 's came'}"
        note = (f"Only {came} back in the last {hold:.0f} days, too few to compare "
                "models, so the app suggests the most popular products.")
    if info["future_orders"]:
        note += " " + future_note(info["future_orders"])
    yield Progress(85, 100, "training the chosen model on all orders")

    # (4) chosen model on everything, and the bought-together counts used for reasons.
    full = log.history(np.ones(len(log.t), dtype=bool), now=now)
    if chosen == "hybrid":
        final: M.Model = M.Hybrid([M.MODELS[k]() for k in HYBRID_PARTS], weights)
    elif chosen == "rerank":
        final = Rerank()
        final.net = rerank.net
    else:
        final = M.MODELS[chosen]()
    for _ in final.fit(full, log.titles):
        yield Progress(90, 100, f"training {final.label}")
    co, n_baskets = basket_cooccurrence(log, np.ones(len(log.t), dtype=bool))
    arrays = {f"model/{k}": v for k, v in final.arrays().items()}
    arrays.update(M.sparse_to_arrays("cooc", co))
    arrays["basket_counts"] = n_baskets
    meta = {
        "trained_at": datetime.now().strftime("%Y-%m-%dT%H:%M:%S"),
        "model": final.key, "label": final.label, "params": final.params(),
        "items": [int(x) for x in log.items],
        "customers": [int(x) for x in log.users],
        "now_days": now, "last_order": last_order, "orders": n_orders,
        "results": results, "chosen": chosen, "note": note, "held_out_days": hold,
        "purchases": int(len(log.t)), "customers_count": n_customers, **info,
    }
    yield Progress(95, 100, "saving", commit=True)  # from here on the model lands: too late to cancel
    persist.save(db_path, meta, arrays)
    summary = {"chosen": chosen, "note": note, "customers": n_customers, "purchases": int(len(log.t)),
               "seconds": round(time.perf_counter() - started, 2)}
    summary["results"] = [f"{r['label']}: Recall@10 {r['recall']:.3f} NDCG@10 {r['ndcg']:.3f}" for r in results]
    yield Progress(100, 100, "done")
    return summary


def _first(job):
    """Wrap a sub-job so its result looks like a tuple (for :func:`_scaled`)."""
    result = yield from job
    return (result,)


def _scaled(job, lo: float, hi: float, whole: bool = False):
    """Re-yield a sub-job's progress mapped into [lo, hi] of 100; returns its result (or its first item)."""
    try:
        while True:
            p = next(job)
            yield Progress(lo + (hi - lo) * (p.fraction or 0), 100, p.message)
    except StopIteration as stop:
        return stop.value if whole else stop.value[0]


def history_for(meta: dict, rows: list[tuple[int, str, int]], user_index: int, now: float) -> History:
    """A one-customer History from live rows (product id, ordered_at, order id), mapped to model items."""
    pos = {pid: i for i, pid in enumerate(meta["items"])}
    kept = [(pos[p], t, b) for p, t, b in rows if p in pos]
    secs = _seconds([k[1] for k in kept])
    kept = [k for k, s in zip(kept, secs) if not np.isnan(s)]
    if not kept:
        return History(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0),
                       1, len(meta["items"]), now, np.array([user_index]))
    item = np.array([k[0] for k in kept], dtype=np.int64)
    t = _seconds([k[1] for k in kept]) / DAY
    basket = np.array([k[2] for k in kept], dtype=np.int64)
    key = basket * (len(meta["items"]) + 1) + item
    _, first = np.unique(key, return_index=True)
    return History(np.zeros(len(first), np.int64), item[first], basket[first], t[first], 1,
                   len(meta["items"]), max(now, float(t.max())), np.array([user_index]))

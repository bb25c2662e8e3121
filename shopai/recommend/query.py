"""Asking the trained recommender: what to offer a customer, what goes with / resembles a product.

Every suggestion carries a short reason in plain words. Out-of-stock products can be hidden,
products the owner blocked never appear, nor drafts and archived products (``products.status``), pinned
ones come first, and products deleted since training are skipped. Products added since training are reached through their description.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np
import scipy.sparse as sp

from shopai.jobs import UserError
from shopai.recommend import models as M
from shopai.recommend import persist
from shopai.recommend.returns import kept_purchases
from shopai.recommend.train import history_for
from shopai.store.orders import after_tomorrow
from shopai.store.db import in_chunks

RULES_KEY = "recommend.rules"
MIN_SIMILAR = 0.12


class Recommender:
    """A loaded model; cheap to query many times (load once per process or tab)."""

    def __init__(self, meta: dict, arrays: dict[str, np.ndarray]):
        try:
            self.meta = meta
            self.items: list[int] = [int(x) for x in meta["items"]]
            self.pos = {pid: i for i, pid in enumerate(self.items)}
            self.customer_pos = {int(c): i for i, c in enumerate(meta["customers"])}
            sub = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("model/")}
            self.model = M.model_from_state(meta["model"], meta["params"], sub)
            self.cooc = M.sparse_from_arrays("cooc", arrays)
            self.basket_counts = arrays["basket_counts"]
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise UserError("The saved recommendation model is damaged or incomplete "
                            f"({type(exc).__name__}: {exc}). Train it again.") from None
        self._content: tuple[list[int], sp.csr_matrix] | None = None

    @classmethod
    def load(cls, db_path: str) -> "Recommender | None":
        state = persist.load(db_path)
        return None if state is None else cls(*state)

    # ---------------------------------------------------------------- customers

    def for_customer(self, db, customer: str | int, k: int = 10, hide_out_of_stock: bool = False,
                     by_external_id: bool = True, new_only: bool = False) -> list[dict[str, Any]]:
        """Top ``k`` products for a customer (their id as in the imported orders), each with a reason.

        ``new_only`` leaves out what the customer already bought (to suggest something new to them).
        """
        k = _check_k(k)
        cid = _customer_id(db, customer, by_external_id)
        rows = db.conn.execute(
            "SELECT o.id, o.customer_id, o.ordered_at, o.status, l.product_id, l.quantity FROM order_lines l "
            "JOIN orders o ON o.id = l.order_id WHERE o.customer_id = ? AND l.product_id IS NOT NULL "
            f"AND (o.status = 'paid' OR l.quantity < 0) AND NOT {after_tomorrow('o.ordered_at')}", (cid,)).fetchall()
        kept, returned_pairs = kept_purchases(rows)
        bought = [(pid, t, oid) for oid, _, t, _, pid, _ in kept]
        returned = [pid for _, pid in returned_pairs]  # sent back: not offered to them again
        times: dict[int, int] = {}
        for pid, _ in {(p, o) for p, _, o in bought}:
            times[pid] = times.get(pid, 0) + 1
        hist = history_for(self.meta, bought, self.customer_pos.get(cid, -1), float(self.meta["now_days"]))
        scores = self.model.score(hist)[0] if len(hist.item) or self.meta["model"] == "popular" else None
        if scores is None or not np.any(scores > 0):
            scores = self._popular()
            generic = "popular with customers lately"
        else:
            neighbourly = self.meta["model"] in ("user_knn", "tifu", "hybrid", "rerank")
            generic = "customers who buy like you bought it" if neighbourly else "popular with customers lately"
        hist_items = [self.pos[p] for p in times if p in self.pos]
        hidden = [self.pos[p] for p in returned if p in self.pos] + (hist_items if new_only else [])
        if hidden:
            scores = scores.copy()
            scores[hidden] = 0.0
        candidates = self._rank(scores, 4 * k + 20)
        products = _products(db, [self.items[i] for i in candidates] + list(times))
        out = []
        for i in candidates:
            pid = self.items[i]
            p = products.get(pid)
            if p is None:
                continue  # deleted since training
            out.append(_entry(p, float(scores[i]), self._reason(db, i, pid, times, hist_items, products, generic)))
        # Products added since training: offered when their description resembles what the customer buys.
        # Their scores are not on the model's scale, so the best one gets a place near the end of the top k
        # (8th of 10) instead of queueing behind every trained candidate.
        fresh = self._new_products(db, list(times), products, set(times) | set(returned))
        if fresh and k >= 3:
            slot = min(len(out), k - 1 - k // 5)
            out[slot:slot] = fresh[:1]
            fresh = fresh[1:]
        return _finish(db, out + fresh, k, hide_out_of_stock)

    def _popular(self) -> np.ndarray:
        if self.meta["model"] == "popular":
            return self.model.pop
        counts = self.basket_counts.astype(np.float32)
        return counts / max(float(counts.max()), 1.0)

    def _rank(self, scores: np.ndarray, n: int) -> list[int]:
        n = min(n, len(scores))
        idx = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
        idx = idx[np.argsort(-scores[idx], kind="stable")]
        return [int(i) for i in idx if scores[i] > 0]

    def _reason(self, db, i: int, pid: int, times: dict[int, int], hist_items: list[int],
                products: dict, generic: str) -> str:
        n = times.get(pid, 0)
        if n >= 2:
            return f"you bought this {n} times"
        if n == 1:
            return "you bought this before"
        if hist_items:
            co = self.cooc[hist_items][:, i].toarray().ravel()
            j = int(np.argmax(co))
            if co[j] >= 2:
                other = self.items[hist_items[j]]
                title = products.get(other, {}).get("title", "a product you bought")
                return (f"bought together with {_short(title)} in {int(co[j])} of "
                        f"{int(self.basket_counts[hist_items[j]])} orders")
        if self.basket_counts[i] == 0:  # nobody bought it: only its description can have put it here
            like = self._most_similar_bought(db, pid, list(times), products)
            return f"no sales yet, similar description to {_short(like)}" if like else "no sales yet"
        return generic

    def _nearest_bought(self, db, candidates: list[int], history_pids: list[int]) -> tuple[list[int], np.ndarray,
                                                                                         list[int]]:
        """For each of ``candidates`` (product ids, those in the catalog text), how close its description comes
        to one the customer bought: (candidates kept, best similarity each, the bought product id nearest)."""
        pids, t = self._content_matrix(db)
        where = {p: r for r, p in enumerate(pids)}
        cands = [p for p in candidates if p in where]
        hist = [p for p in history_pids if p in where]
        if not cands or not hist:
            return [], np.zeros(0), []
        sims = (t[[where[p] for p in hist]] @ t[[where[p] for p in cands]].T).toarray()
        return cands, sims.max(axis=0), [hist[h] for h in sims.argmax(axis=0)]

    def _new_products(self, db, history_pids: list[int], products: dict, known: set[int]) -> list[dict]:
        """Products added since training (none of ``known``: the customer bought or returned them) whose
        description is nearest what the customer bought."""
        pids, _ = self._content_matrix(db)
        new, best, nearest = self._nearest_bought(
            db, [p for p in pids if p not in self.pos and p not in known], history_pids)
        order = np.argsort(-best)[:3]
        fresh = _products(db, [new[j] for j in order])
        out = []
        for j in order:
            if best[j] < MIN_SIMILAR or new[j] not in fresh:
                continue
            like = products.get(nearest[j], {}).get("title", "")
            out.append(_entry(fresh[new[j]], float(best[j]) * 0.5,
                              f"new product, similar description to {_short(like)}"))
        return out

    def _most_similar_bought(self, db, pid: int, history_pids: list[int], products: dict) -> str:
        """The title of the customer's product whose description is nearest ``pid``'s ('' if none)."""
        cands, best, nearest = self._nearest_bought(db, [pid], history_pids)
        if not cands or best[0] < MIN_SIMILAR:
            return ""
        return products.get(nearest[0], {}).get("title", "")

    def catalog_changed(self) -> None:
        """Forget the cached text of the catalog: products were added, edited or deleted since it was read."""
        self._content = None

    def use_content(self, content: tuple[list[int], sp.csr_matrix]) -> None:
        """Use this reading of the catalog's text (:func:`catalog_tfidf`, read in the background: on a big
        catalog it takes seconds) instead of reading it on the first question."""
        self._content = content

    def _content_matrix(self, db) -> tuple[list[int], sp.csr_matrix]:
        if self._content is None:
            self._content = catalog_tfidf(db)
        return self._content

    # ---------------------------------------------------------------- products

    def bought_with(self, db, sku: str, k: int = 10, hide_out_of_stock: bool = False) -> list[dict[str, Any]]:
        """Products most often in the same order as ``sku``."""
        k = _check_k(k)
        pid = _product_id(db, sku)
        if pid not in self.pos:
            return []
        i = self.pos[pid]
        row = self.cooc[i]
        n = float(self.basket_counts[i])
        order = np.argsort(-row.data, kind="stable")
        cands = [int(row.indices[j]) for j in order if row.data[j] >= 2 and int(row.indices[j]) != i]
        products = _products(db, [self.items[j] for j in cands])
        out = []
        for j in cands:
            p = products.get(self.items[j])
            if p is None:
                continue
            c = int(self.cooc[i, j])
            out.append(_entry(p, round(c / n, 4), f"bought together in {c} of {int(n)} orders"))
        # pins are offers to customers: a pinned product was not bought with this one
        return _finish(db, out, k, hide_out_of_stock, pins=False)


def catalog_tfidf(db) -> tuple[list[int], sp.csr_matrix]:
    """TF-IDF of every current product's title and description (computed live: covers new products)."""
    rows = db.conn.execute("SELECT id, title, description FROM products ORDER BY id").fetchall()
    return [r[0] for r in rows], M.tfidf([f"{r[1]} {r[2] or ''}" for r in rows])


def similar(db, sku: str, k: int = 10, hide_out_of_stock: bool = False,
            content: tuple[list[int], sp.csr_matrix] | None = None) -> list[dict[str, Any]]:
    """Products whose description resembles ``sku``'s; needs no trained model (works for new products)."""
    k = _check_k(k)
    pid = _product_id(db, sku)
    pids, t = content or catalog_tfidf(db)
    if pid not in pids:  # a product newer than the catalog text given: nothing to compare yet
        return []
    r = pids.index(pid)
    sims = (t @ t[r].T).toarray().ravel()
    sims[r] = 0.0
    order = [j for j in np.argsort(-sims, kind="stable")[: 4 * k + 20] if sims[j] >= MIN_SIMILAR]
    products = _products(db, [pids[j] for j in order])
    out = [_entry(products[pids[j]], round(float(sims[j]), 4), "similar description")
           for j in order if pids[j] in products]
    return _finish(db, out, k, hide_out_of_stock, pins=False)


# -------------------------------------------------------------------- pins and blocks

def rules(db) -> dict[str, list[str]]:
    """Pinned and blocked SKUs, kept in the settings table as JSON."""
    row = db.conn.execute("SELECT value FROM settings WHERE key = ?", (RULES_KEY,)).fetchone()
    try:
        data = json.loads(row[0]) if row else {}
    except ValueError:
        data = {}
    return {"pinned": [str(s) for s in data.get("pinned", [])], "blocked": [str(s) for s in data.get("blocked", [])]}


def set_rule(db, sku: str, rule: str | None) -> None:
    """Pin (``"pinned"``), block (``"blocked"``) or clear (None) a product for recommendations."""
    if rule not in (None, "pinned", "blocked"):
        raise ValueError(rule)
    _product_id(db, sku)
    r = rules(db)
    for key in ("pinned", "blocked"):
        r[key] = [s for s in r[key] if s != sku]
    if rule:
        r[rule].append(sku)
    db.conn.execute("INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (RULES_KEY, json.dumps(r)))


# -------------------------------------------------------------------- helpers

def _finish(db, out: list[dict], k: int, hide_out_of_stock: bool, pins: bool = True) -> list[dict]:
    r = rules(db)
    blocked = set(r["blocked"])
    seen: set[str] = set()
    result = []
    if pins and r["pinned"]:
        pinned = [row for chunk, marks in in_chunks(r["pinned"]) for row in db.conn.execute(
            f"SELECT id, sku, title, stock, image_path, price FROM products WHERE sku IN ({marks})", chunk)]
        for pid, sku, title, stock, image, price in pinned:
            out.insert(0, {"product_id": pid, "sku": sku, "title": title, "stock": stock, "image_path": image,
                           "price": price, "score": 1.0, "reason": "pinned by you", "pinned": True})
    not_for_sale = _not_for_sale(db, {e["sku"] for e in out})
    for e in out:
        if e["sku"] in seen or e["sku"] in blocked or e["sku"] in not_for_sale:
            continue
        if hide_out_of_stock and e["stock"] is not None and e["stock"] <= 0:
            continue
        seen.add(e["sku"])
        result.append(e)
        if len(result) >= k:
            break
    return result


def _not_for_sale(db, skus: set[str]) -> set[str]:
    """Of ``skus``, the drafts and archived products: never offered (pinned or not)."""
    out: set[str] = set()
    for chunk, marks in in_chunks(skus):
        out.update(r[0] for r in db.conn.execute(
            f"SELECT sku FROM products WHERE status != 'active' AND sku IN ({marks})", chunk))
    return out


def _entry(p: dict, score: float, reason: str) -> dict:
    return {"product_id": p["id"], "sku": p["sku"], "title": p["title"], "stock": p["stock"],
            "image_path": p["image_path"], "price": p["price"], "score": round(score, 4), "reason": reason}


def _products(db, pids: list[int]) -> dict[int, dict]:
    out: dict[int, dict] = {}
    for chunk, marks in in_chunks(dict.fromkeys(pids)):
        cur = db.conn.execute(f"SELECT id, sku, title, stock, image_path, price FROM products WHERE id IN ({marks})",
                              chunk)
        for row in cur:
            out[row[0]] = dict(zip(("id", "sku", "title", "stock", "image_path", "price"), row))
    return out


def _short(title: str, n: int = 40) -> str:
    title = (title or "").strip()
    return "“" + (title if len(title) <= n else title[: n - 1] + "…") + "”"


def _check_k(k: int) -> int:
    try:
        k = int(k)
    except (TypeError, ValueError):
        raise UserError("The number of suggestions must be a whole number.") from None
    if not 1 <= k <= 500:
        raise UserError("Ask for between 1 and 500 suggestions.")
    return k


def _customer_id(db, customer: str | int, by_external_id: bool) -> int:
    if by_external_id:
        from shopai.store.orders import customer_id_for

        found = customer_id_for(db, str(customer))
    else:
        row = db.conn.execute("SELECT id FROM customers WHERE id = ?", (int(customer),)).fetchone()
        found = row[0] if row else None
    if found is None:
        raise UserError(f"There is no customer with id {customer}.")
    return int(found)


def _product_id(db, sku: str) -> int:
    row = db.conn.execute("SELECT id FROM products WHERE sku = ?", (str(sku).strip(),)).fetchone()
    if not row:
        raise UserError(f"There is no product with SKU {sku}.")
    return int(row[0])


def load_or_explain(db_path: str) -> Recommender:
    """The saved model, or a UserError saying to train first."""
    rec = Recommender.load(db_path)
    if rec is None:
        raise UserError("No recommendation model yet: run `shopai-cli train recommend` "
                        "(or press Train on the Recommendations tab) first.")
    return rec

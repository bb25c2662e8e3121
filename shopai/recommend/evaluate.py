"""Time-split evaluation: train on the past, score the customers who come back in the held-out weeks.

Recall@k is normalised by min(k, items bought) (Liang et al. 2018) so a perfect list scores 1;
NDCG@k uses binary relevance. The truth is every distinct item the customer bought in the held-out
period, repeats included (on shop data most of them are repeats).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from shopai.recommend.data import History, Log
from shopai.recommend.models import Model, topk_dense


def ndcg_recall(top: np.ndarray, truth: list[set[int]], k: int = 10) -> tuple[float, float]:
    """Mean NDCG@k and Recall@k of ranked lists ``top`` (rows best first) against ``truth`` sets."""
    if len(truth) == 0:
        return 0.0, 0.0
    top = np.asarray(top)[:, :k]
    hits = np.array([[i in t for i in row] for row, t in zip(top.tolist(), truth)], dtype=bool)
    hits = hits.reshape(len(truth), top.shape[1])
    return ndcg_recall_hits(hits, np.array([len(t) for t in truth]), k)


def ndcg_recall_hits(hits: np.ndarray, n_truth: np.ndarray, k: int = 10) -> tuple[float, float]:
    """NDCG@k and Recall@k from a (customers x k) hit matrix and each customer's number of true items."""
    if len(n_truth) == 0:
        return 0.0, 0.0
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(disc)
    n = np.minimum(k, n_truth)
    ok = n > 0
    dcg = (hits * disc[: hits.shape[1]]).sum(axis=1)
    ndcg = np.where(ok, dcg / ideal[np.maximum(n, 1) - 1], 0.0)
    recall = np.where(ok, hits.sum(axis=1) / np.maximum(n, 1), 0.0)
    return float(ndcg.mean()), float(recall.mean())


@dataclass
class Split:
    """Customers to score, their history before the cut, and what they bought after it."""

    hist: History
    truth: list[set[int]]
    users: np.ndarray


def make_split(log: Log, cut: float, end: float | None = None, max_users: int | None = None,
               seed: int = 0) -> Split:
    """Customers with at least one basket before ``cut`` who bought in [cut, end)."""
    before = log.window(None, cut)
    after = log.window(cut, end)
    full = log.history(before, now=cut)
    seen = np.unique(log.user[before])
    truth = log.truth(after)
    users = np.array(sorted(u for u in truth if u in set(seen.tolist())), dtype=np.int64)
    if max_users and len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, max_users, replace=False))
    return Split(full.take(users), [truth[u] for u in users.tolist()], users)


def score_split_job(model: Model, split: Split, k: int = 10, batch: int = 256):
    """Generator: yields Progress per batch of customers; returns (top-k item indices, seconds spent)."""
    from shopai.jobs import Progress

    elapsed = 0.0
    tops = []
    n = split.hist.n_rows
    for a in range(0, n, batch):
        start = time.perf_counter()
        rows = np.arange(a, min(a + batch, n))
        tops.append(topk_dense(model.score(split.hist.take(rows)), k))
        elapsed += time.perf_counter() - start
        yield Progress(min(a + batch, n), n, f"scoring {model.label}")
    return (np.vstack(tops) if tops else np.zeros((0, k), dtype=np.int64)), elapsed


def score_split(model: Model, split: Split, k: int = 10, batch: int = 256) -> tuple[np.ndarray, float]:
    """Top-k item indices for every customer of the split and the seconds it took."""
    from shopai.jobs import run_job

    return run_job(score_split_job(model, split, k, batch))


def evaluate_job(model: Model, split: Split, k: int = 10):
    """Generator version of :func:`evaluate` (yields Progress per batch, so a cancel is quick)."""
    top, elapsed = yield from score_split_job(model, split, k)
    ndcg, recall = ndcg_recall(top, split.truth, k)
    n = max(len(split.truth), 1)
    return {"ndcg": ndcg, "recall": recall, "ms_per_customer": 1000.0 * elapsed / n, "customers": len(split.truth)}


def evaluate(model: Model, split: Split, k: int = 10) -> dict[str, float]:
    from shopai.jobs import run_job

    return run_job(evaluate_job(model, split, k))


def component_scores(models: list[Model], split: Split) -> dict[str, np.ndarray]:
    """Dense scores of every model on the split's customers (for fitting blend weights)."""
    return {m.key: m.score(split.hist) for m in models}

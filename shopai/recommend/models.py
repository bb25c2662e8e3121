"""The recommenders. Each ``fit`` is a generator that yields Progress (so training can be cancelled)
and each ``score`` turns a batch of customers' histories into a dense (customers x items) score matrix.

Every model can be saved as plain arrays + JSON parameters (no pickle): see ``arrays``/``params``
and :func:`model_from_state`.

- ``popular``: most bought in the last weeks before the history ends (the baseline to beat).
- ``buy_again``: the customer's own purchase counts (repeat purchases dominate shop data).
- ``user_knn``: cosine neighbours between customers.
- ``item_knn``: cosine between items with shrinkage (Sarwar et al. 2001, shrinkage as in Koren 2008).
- ``content``: TF-IDF of product titles; the only one that can reach products never sold (cold start).
- ``ease``: EASE (Steck 2019), a closed-form item-item regression.
- ``tifu``: TIFU-KNN (Hu et al., SIGIR 2020) simplified: a time-decayed repeat profile blended with
  the mean profile of the most similar customers.
- ``hybrid``: a weighted sum of per-customer max-normalised component scores; the weights are fitted
  on a validation period (coordinate ascent on NDCG@10), never hand-set.
"""
from __future__ import annotations

import re
from typing import Iterator

import numpy as np
import scipy.sparse as sp

from shopai.jobs import Progress
from shopai.recommend.data import History

Fit = Iterator[Progress]


# ---------------------------------------------------------------- helpers

def topk_rows(m: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest entries of every row of a sparse matrix."""
    m = sp.csr_matrix(m)
    m.sum_duplicates()
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    order = np.lexsort((-m.data, rows))  # by row, then largest first
    rank = np.arange(len(order)) - m.indptr[rows[order]]
    keep = order[rank < k]
    return sp.csr_matrix((m.data[keep], (rows[keep], m.indices[keep])), shape=m.shape)


def topk_dense(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` best columns of every row, best first."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def l2_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ m)


def neighbour_mean(q: sp.csr_matrix, base: sp.csr_matrix, base_norm: sp.csr_matrix, k: int,
                   self_index: np.ndarray | None, weighted: bool) -> np.ndarray:
    """Mean (or similarity-weighted sum) of the ``k`` rows of ``base`` most cosine-similar to each row of ``q``."""
    sims = (l2_rows(q) @ base_norm.T).toarray()
    if self_index is not None:
        ok = self_index >= 0
        sims[np.nonzero(ok)[0], self_index[ok]] = 0.0
    k = max(1, min(k, sims.shape[1]))
    if k < sims.shape[1]:
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(sims, part, axis=1)
    else:
        part = np.tile(np.arange(sims.shape[1]), (sims.shape[0], 1))
        vals = sims
    vals = np.maximum(vals, 0.0)
    if not weighted:
        vals = (vals > 0).astype(np.float32) / k
    rows = np.repeat(np.arange(sims.shape[0]), part.shape[1])
    w = sp.csr_matrix((vals.ravel(), (rows, part.ravel())), shape=sims.shape)
    return np.asarray((w @ base).todense(), dtype=np.float32)


def _norm(model) -> sp.csr_matrix:
    """The model's ``base`` with unit rows, computed once (queries for one customer stay fast)."""
    cached = getattr(model, "_base_norm", None)
    if cached is None or cached[0] is not model.base:
        cached = (model.base, l2_rows(model.base))
        model._base_norm = cached
    return cached[1]


def sparse_to_arrays(prefix: str, m: sp.csr_matrix) -> dict[str, np.ndarray]:
    m = sp.csr_matrix(m)
    return {f"{prefix}.data": m.data.astype(np.float32), f"{prefix}.indices": m.indices.astype(np.int32),
            f"{prefix}.indptr": m.indptr.astype(np.int64), f"{prefix}.shape": np.asarray(m.shape, dtype=np.int64)}


def sparse_from_arrays(prefix: str, a: dict[str, np.ndarray]) -> sp.csr_matrix:
    shape = tuple(int(x) for x in a[f"{prefix}.shape"])
    return sp.csr_matrix((a[f"{prefix}.data"], a[f"{prefix}.indices"], a[f"{prefix}.indptr"]), shape=shape)


_WORD = re.compile(r"[a-z]{2,}|\d+[a-z]*")
_HAN_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def _han_terms(text: str) -> list[str]:
    """Chinese (and Japanese) text has no spaces between words: its character pairs stand in for words
    ("景德镇青花瓷杯" shares 青花 and 花瓷 with "青花瓷马克杯"); a lone character is a term itself."""
    out: list[str] = []
    for run in _HAN_RUN.findall(text):
        out += [run] if len(run) == 1 else [run[i:i + 2] for i in range(len(run) - 1)]
    return out


def tfidf(titles: list[str]) -> sp.csr_matrix:
    """L2-normalised TF-IDF of words and word pairs in product titles (sublinear tf, smooth idf); in
    Chinese text, character pairs."""
    vocab: dict[str, int] = {}
    rows, cols, vals = [], [], []
    for r, title in enumerate(titles):
        words = _WORD.findall((title or "").lower())
        terms = words + [a + " " + b for a, b in zip(words, words[1:])] + _han_terms(title or "")
        counts: dict[int, int] = {}
        for term in terms:
            j = vocab.setdefault(term, len(vocab))
            counts[j] = counts.get(j, 0) + 1
        for j, c in counts.items():
            rows.append(r)
            cols.append(j)
            vals.append(1.0 + np.log(c))
    m = sp.csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(len(titles), max(len(vocab), 1)))
    df = np.bincount(m.indices, minlength=m.shape[1])
    idf = (np.log((1 + len(titles)) / (1 + df)) + 1.0).astype(np.float32)
    return l2_rows(sp.csr_matrix(m @ sp.diags(idf)))


# ---------------------------------------------------------------- models

class Model:
    key = "model"
    label = "model"

    def fit(self, train: History, titles: list[str]) -> Fit:
        yield Progress(1, 1, self.label)

    def score(self, hist: History) -> np.ndarray:
        raise NotImplementedError

    def params(self) -> dict:
        return {}

    def arrays(self) -> dict[str, np.ndarray]:
        return {}

    def load(self, params: dict, arrays: dict[str, np.ndarray]) -> None:
        pass


class Popular(Model):
    """Baskets holding each item in the last ``window_days`` of the history."""

    key, label = "popular", "Most popular (recent)"

    def __init__(self, window_days: float = 30.0):
        self.window_days = float(window_days)
        self.pop = np.zeros(0, dtype=np.float32)

    def fit(self, train, titles):
        recent = train.t >= train.now - self.window_days
        if recent.sum() < 20:  # too quiet lately: use everything
            recent[:] = True
        pop = np.bincount(train.item[recent], minlength=train.n_items).astype(np.float32)
        # All-time popularity breaks ties among recent ones.
        pop += np.bincount(train.item, minlength=train.n_items).astype(np.float32) * 1e-4
        self.pop = pop / max(pop.max(), 1e-9)
        yield Progress(1, 1, self.label)

    def score(self, hist):
        return np.tile(self.pop, (hist.n_rows, 1))

    def params(self):
        return {"window_days": self.window_days}

    def arrays(self):
        return {"pop": self.pop}

    def load(self, params, arrays):
        self.window_days = params["window_days"]
        self.pop = arrays["pop"]


class BuyAgain(Model):
    """How often the customer bought the item; recency breaks ties; popularity fills the rest."""

    key, label = "buy_again", "Buy again"

    def __init__(self):
        self.fill = Popular()

    def fit(self, train, titles):
        yield from self.fill.fit(train, titles)

    def score(self, hist):
        s = hist.counts().toarray()
        s += hist.decayed(30.0).toarray() * 1e-3
        s += self.fill.pop[None, :] * 1e-6
        return s

    def arrays(self):
        return self.fill.arrays()

    def load(self, params, arrays):
        self.fill.load({"window_days": 30.0}, arrays)


class UserKNN(Model):
    """Customers who bought like you (cosine on who-bought-what) also bought."""

    key, label = "user_knn", "User-KNN (cosine)"

    def __init__(self, k: int = 50):
        self.k = int(k)
        self.base = sp.csr_matrix((0, 0), dtype=np.float32)

    def fit(self, train, titles):
        self.base = train.binary().astype(np.float32)
        yield Progress(1, 1, self.label)

    def score(self, hist):
        return neighbour_mean(hist.binary(), self.base, _norm(self), self.k, hist.user_index, True)

    def params(self):
        return {"k": self.k}

    def arrays(self):
        return sparse_to_arrays("base", self.base)

    def load(self, params, arrays):
        self.k = params["k"]
        self.base = sparse_from_arrays("base", arrays)


class ItemKNN(Model):
    """Items bought by the same customers: cosine with shrinkage, top-k neighbours per item."""

    key, label = "item_knn", "Item-KNN (cosine, shrinkage)"

    def __init__(self, k: int = 100, shrink: float = 10.0):
        self.k, self.shrink = int(k), float(shrink)
        self.sim = sp.csr_matrix((0, 0), dtype=np.float32)

    def fit(self, train, titles):
        x = train.binary()
        n = np.asarray(x.sum(axis=0)).ravel().astype(np.float32)
        if x.shape[1] <= 8000:  # dense is much faster while it fits in memory
            co = np.asarray((x.T @ x).todense(), dtype=np.float32)
            yield Progress(0.5, 1, self.label)
            co /= np.sqrt(np.outer(n, n)) + self.shrink
            np.fill_diagonal(co, 0.0)
            kk = min(self.k, co.shape[1])
            part = np.argpartition(-co, kk - 1, axis=1)[:, :kk]
            vals = np.take_along_axis(co, part, axis=1)
            rows = np.repeat(np.arange(co.shape[0]), kk)
            sim = sp.csr_matrix((vals.ravel(), (rows, part.ravel())), shape=co.shape)
        else:
            co = sp.csr_matrix(x.T @ x).tocoo()
            yield Progress(0.5, 1, self.label)
            vals = co.data / (np.sqrt(n[co.row] * n[co.col]) + self.shrink)
            vals[co.row == co.col] = 0.0
            sim = topk_rows(sp.csr_matrix((vals.astype(np.float32), (co.row, co.col)), shape=co.shape), self.k)
        sim.eliminate_zeros()
        self.sim = sim.T.tocsr()  # column j holds j's neighbours: score = x @ sim
        yield Progress(1, 1, self.label)

    def score(self, hist):
        return np.asarray((hist.binary() @ self.sim).todense(), dtype=np.float32)

    def params(self):
        return {"k": self.k, "shrink": self.shrink}

    def arrays(self):
        return sparse_to_arrays("sim", self.sim)

    def load(self, params, arrays):
        self.k, self.shrink = params["k"], params["shrink"]
        self.sim = sparse_from_arrays("sim", arrays)


class Content(Model):
    """Classic content-based: the customer's TF-IDF profile (recent purchases weigh more) against
    every product title, so products never sold are reachable too (cold start)."""

    key, label = "content", "Content (TF-IDF of titles)"

    def __init__(self, half_life: float = 60.0):
        self.half_life = float(half_life)
        self.tfidf = sp.csr_matrix((0, 0), dtype=np.float32)

    def fit(self, train, titles):
        self.tfidf = tfidf(titles).astype(np.float32)
        yield Progress(1, 1, self.label)

    def score(self, hist):
        profile = sp.csr_matrix(hist.decayed(self.half_life) @ self.tfidf)
        return np.asarray((profile @ self.tfidf.T).todense(), dtype=np.float32)

    def params(self):
        return {"half_life": self.half_life}

    def arrays(self):
        return sparse_to_arrays("tfidf", self.tfidf)

    def load(self, params, arrays):
        self.half_life = params["half_life"]
        self.tfidf = sparse_from_arrays("tfidf", arrays)


def content_similarity(titles: list[str], k: int = 50) -> sp.csr_matrix:
    """Item x item cosine of title TF-IDF, top ``k`` per item, no self-similarity."""
    t = tfidf(titles)
    sim = sp.csr_matrix(t @ t.T)
    sim.setdiag(0.0)
    sim.eliminate_zeros()
    return topk_rows(sim, k).astype(np.float32)


class EASE(Model):
    """Steck (2019): B = I - P / diag(P), P = (X'X + lambda I)^-1, on who-bought-what."""

    key, label = "ease", "EASE"

    def __init__(self, lam: float = 200.0):
        self.lam = float(lam)
        self.b = np.zeros((0, 0), dtype=np.float32)

    def fit(self, train, titles):
        x = train.binary()
        g = np.asarray((x.T @ x).todense(), dtype=np.float64)
        yield Progress(0.2, 1, self.label)
        g[np.diag_indices_from(g)] += self.lam
        p = np.linalg.inv(g)
        yield Progress(0.9, 1, self.label)
        b = -p / np.diag(p)[None, :]
        b[np.diag_indices_from(b)] = 0.0
        self.b = b.astype(np.float32)
        yield Progress(1, 1, self.label)

    def score(self, hist):
        return np.asarray(hist.binary() @ self.b, dtype=np.float32)

    def params(self):
        return {"lam": self.lam}

    def arrays(self):
        return {"b": self.b}

    def load(self, params, arrays):
        self.lam = params["lam"]
        self.b = arrays["b"]


class TIFU(Model):
    """TIFU-KNN simplified: alpha * own decayed profile + (1 - alpha) * mean profile of k similar customers."""

    key, label = "tifu", "TIFU-KNN (decayed repeat + neighbours)"

    def __init__(self, half_life: float = 120.0, k: int = 100, alpha: float = 0.7):
        self.half_life, self.k, self.alpha = float(half_life), int(k), float(alpha)
        self.base = sp.csr_matrix((0, 0), dtype=np.float32)

    def fit(self, train, titles):
        self.base = train.decayed(self.half_life).astype(np.float32)
        yield Progress(1, 1, self.label)

    def score(self, hist):
        own = hist.decayed(self.half_life)
        nb = neighbour_mean(own, self.base, _norm(self), self.k, hist.user_index, False)
        return self.alpha * own.toarray() + (1.0 - self.alpha) * nb

    def params(self):
        return {"half_life": self.half_life, "k": self.k, "alpha": self.alpha}

    def arrays(self):
        return sparse_to_arrays("base", self.base)

    def load(self, params, arrays):
        self.half_life, self.k, self.alpha = params["half_life"], params["k"], params["alpha"]
        self.base = sparse_from_arrays("base", arrays)


def normalise_rows(s: np.ndarray) -> np.ndarray:
    m = s.max(axis=1, keepdims=True)
    return s / np.where(m > 0, m, 1.0)


class Hybrid(Model):
    """Weighted sum of max-normalised component scores; weights fitted on a validation period."""

    key, label = "hybrid", "Hybrid (weights fitted on validation)"

    def __init__(self, components: list[Model], weights: dict[str, float] | None = None):
        self.components = components
        self.weights = dict(weights or {c.key: 1.0 for c in components})

    def fit(self, train, titles):
        # Components the validation gave no weight are not trained (nor saved).
        self.components = [c for c in self.components if self.weights.get(c.key, 0.0)]
        for i, c in enumerate(self.components):
            for p in c.fit(train, titles):
                yield Progress(i + (p.fraction or 0), len(self.components), f"{self.label}: {c.label}")

    def score(self, hist):
        out = np.zeros((hist.n_rows, hist.n_items), dtype=np.float32)
        for c in self.components:
            w = self.weights.get(c.key, 0.0)
            if w:
                out += w * normalise_rows(c.score(hist))
        return out

    def params(self):
        return {"weights": self.weights,
                "components": [{"key": c.key, "params": c.params()} for c in self.components]}

    def arrays(self):
        out = {}
        for c in self.components:
            out.update({f"{c.key}/{k}": v for k, v in c.arrays().items()})
        return out

    def load(self, params, arrays):
        self.weights = params["weights"]
        self.components = []
        for spec in params["components"]:
            sub = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(spec["key"] + "/")}
            self.components.append(model_from_state(spec["key"], spec["params"], sub))


GRID = (0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5)


def fit_weights(component_scores: dict[str, np.ndarray], truth: list[set[int]], k: int = 10,
                passes: int = 3, pool: int = 30) -> Iterator[Progress]:
    """Coordinate ascent over a grid of weights maximising NDCG@k on a validation period.

    Only each customer's pooled top-``pool`` items of every component are re-ranked (the blend
    cannot lift anything else into the top k unless it is near the top of some component, and
    this keeps the search fast). Generator: yields Progress and returns (weights, ndcg).
    """
    from shopai.recommend.evaluate import ndcg_recall_hits

    keys = list(component_scores)
    norm = {key: normalise_rows(s) for key, s in component_scores.items()}
    cand = np.hstack([topk_dense(norm[key], pool) for key in keys])
    cand.sort(axis=1)
    dup = np.zeros(cand.shape, dtype=bool)
    dup[:, 1:] = cand[:, 1:] == cand[:, :-1]
    small = {key: np.take_along_axis(norm[key], cand, axis=1) for key in keys}
    penalty = np.where(dup, -1e9, 0.0).astype(np.float32)
    hit = np.array([[i in t for i in row] for row, t in zip(cand.tolist(), truth)], dtype=bool)
    hit &= ~dup
    n_truth = np.array([len(t) for t in truth])

    def value(blend: np.ndarray) -> float:
        return ndcg_recall_hits(np.take_along_axis(hit, topk_dense(blend + penalty, k), axis=1), n_truth, k)[0]

    single = {key: value(small[key]) for key in keys}
    best_key = max(single, key=single.get)
    weights = {key: (1.0 if key == best_key else 0.0) for key in keys}
    best = single[best_key]
    steps, done = passes * len(keys), 0
    for _ in range(passes):
        improved = False
        for key in keys:
            base = np.zeros_like(penalty)
            for o in keys:
                if o != key and weights[o]:
                    base += weights[o] * small[o]
            for w in GRID:
                if w == weights[key] or (w == 0 and not base.any()):
                    continue
                v = value(base + w * small[key])
                if v > best + 1e-6:
                    best, weights[key], improved = v, w, True
            done += 1
            yield Progress(done, steps, "fitting the blend")
        if not improved:
            break
    return weights, best


MODELS: dict[str, type[Model]] = {m.key: m for m in (Popular, BuyAgain, UserKNN, ItemKNN, Content, EASE, TIFU)}


def model_from_state(key: str, params: dict, arrays: dict[str, np.ndarray]) -> Model:
    if key == Hybrid.key:
        m: Model = Hybrid([])
    elif key == "rerank":
        from shopai.recommend.rerank import Rerank

        m = Rerank()
    else:
        m = MODELS[key]()
    m.load(params, arrays)
    return m

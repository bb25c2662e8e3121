"""A learned re-ranker: a small neural net (trained with torch, run with numpy) that re-orders each
customer's pooled candidates from the hybrid's components, using their scores plus a few facts the
linear blend cannot weigh together: how often and how long ago the customer bought the item, how
many orders they have, how often the item is bought again by anyone, and whether it is trending.

Trained on the validation period (labels: what the customers bought there), like the blend's
weights; the components are then retrained on all the data before the period being predicted.
Only the net's weights are saved (npz), so predicting needs no torch.
"""
from __future__ import annotations

import numpy as np

from shopai.jobs import Progress
from shopai.recommend.data import History
from shopai.recommend.models import MODELS, Model, normalise_rows, topk_dense

FEATURES = ("popular", "buy_again", "tifu", "user_knn", "content", "log_count", "bought", "log_days_since",
            "log_baskets", "log_days_since_any", "item_repeat_share", "item_trend", "bought_x_baskets")


def item_stats(train: History) -> np.ndarray:
    """Per item: share of its buyers who bought it twice or more; log growth of the last 14 days vs 60."""
    c = train.counts()
    buyers = np.bincount(c.indices, minlength=train.n_items)
    repeaters = np.bincount(c.indices[c.data >= 2], minlength=train.n_items)
    p14 = np.bincount(train.item[train.t >= train.now - 14], minlength=train.n_items)
    p60 = np.bincount(train.item[train.t >= train.now - 60], minlength=train.n_items)
    return np.stack([repeaters / np.maximum(buyers, 1), np.log1p(p14) - np.log1p(p60)]).astype(np.float32)


def candidates(norm: dict[str, np.ndarray], pool: int) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's pooled top-``pool`` items of every component (sorted) and a duplicate mask."""
    cand = np.hstack([topk_dense(s, pool) for s in norm.values()])
    cand.sort(axis=1)
    dup = np.zeros(cand.shape, dtype=bool)
    dup[:, 1:] = cand[:, 1:] == cand[:, :-1]
    return cand, dup


def features(norm: dict[str, np.ndarray], hist: History, stats: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """(customers x candidates x features) in the order of FEATURES."""
    n, c = cand.shape
    cols = [np.take_along_axis(norm[k], cand, axis=1) for k in FEATURES[:5]]
    counts = np.take_along_axis(hist.counts().toarray(), cand, axis=1)
    since = np.take_along_axis(days_since(hist), cand, axis=1)
    any_age = np.full(hist.n_rows, np.inf)
    np.minimum.at(any_age, hist.row, np.maximum(hist.now - hist.t, 0.0))
    baskets = np.log1p(hist.baskets_per_row())[:, None].repeat(c, axis=1)
    bought = (counts > 0).astype(np.float32)
    cols += [np.log1p(counts), bought, np.where(np.isfinite(since), np.log1p(since), 0.0), baskets,
             np.where(np.isfinite(any_age), np.log1p(any_age), 0.0)[:, None].repeat(c, axis=1),
             stats[0][cand], stats[1][cand], bought * baskets]
    return np.stack(cols, axis=-1).astype(np.float32)


def days_since(hist: History) -> np.ndarray:
    """Dense (customers x items): days since the customer last bought the item (inf if never)."""
    age = np.full((hist.n_rows, hist.n_items), np.inf)
    if len(hist.row):
        a = np.maximum(hist.now - hist.t, 0.0)
        key = hist.row.astype(np.int64) * hist.n_items + hist.item
        order = np.lexsort((a, key))  # by pair, most recent first
        _, first = np.unique(key[order], return_index=True)
        pick = order[first]
        age[hist.row[pick], hist.item[pick]] = a[pick]
    return age


class Rerank(Model):
    key, label = "rerank", "Learned re-ranker (small neural net)"

    def __init__(self, parts: tuple[str, ...] = FEATURES[:5], pool: int = 30, hidden: int = 16):
        self.parts, self.pool, self.hidden = tuple(parts), int(pool), int(hidden)
        self.components: list[Model] = [MODELS[k]() for k in self.parts]
        self.net: dict[str, np.ndarray] = {}
        self.stats = np.zeros((2, 0), dtype=np.float32)

    # -- learning the net on the validation period
    def fit_net(self, component_scores: dict[str, np.ndarray], val_train: History, val_hist: History,
                truth: list[set[int]], epochs: int = 10, seed: int = 0):
        """Generator: trains the net on the validation customers' candidates; returns the number of positives."""
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # a net this small only loses time to thread hand-offs
        try:
            result = yield from self._train(torch, component_scores, val_train, val_hist, truth, epochs, seed)
        finally:
            torch.set_num_threads(threads)
        return result

    def _train(self, torch, component_scores, val_train, val_hist, truth, epochs, seed):
        norm = {k: normalise_rows(component_scores[k]) for k in self.parts}
        cand, dup = candidates(norm, self.pool)
        x = features(norm, val_hist, item_stats(val_train), cand)
        y = np.array([[i in t for i in row] for row, t in zip(cand.tolist(), truth)], dtype=np.float32)
        x, y = x[~dup], y[~dup]
        rng = np.random.default_rng(seed)
        pos = np.nonzero(y > 0)[0]
        neg = np.nonzero(y == 0)[0]
        if len(pos) < 20 or len(neg) < 20:
            self.net = {}
            return len(pos)
        neg = rng.choice(neg, min(len(neg), 5 * len(pos)), replace=False)
        keep = np.concatenate([pos, neg])
        x, y = x[keep], y[keep]
        mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-6
        torch.manual_seed(seed)
        xt = torch.from_numpy((x - mu) / sd)
        yt = torch.from_numpy(y)
        net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], self.hidden), torch.nn.ReLU(),
                                  torch.nn.Linear(self.hidden, 1))
        opt = torch.optim.Adam(net.parameters(), lr=1e-2, weight_decay=1e-4)
        gen = torch.Generator().manual_seed(seed)
        # Small shops give few rows: keep at least ~300 optimisation steps (they are cheap there).
        per_epoch = -(-len(yt) // 2048)
        epochs = int(min(60, max(epochs, -(-300 // per_epoch))))
        for epoch in range(epochs):
            perm = torch.randperm(len(yt), generator=gen)
            for a in range(0, len(yt), 2048):
                idx = perm[a:a + 2048]
                loss = torch.nn.functional.binary_cross_entropy_with_logits(net(xt[idx]).squeeze(1), yt[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            yield Progress(epoch + 1, epochs, "training the re-ranker")
        w1, b1, w2, b2 = (p.detach().numpy().astype(np.float32) for p in net.parameters())
        self.net = {"w1": w1.T.copy(), "b1": b1, "w2": w2.T.copy(), "b2": b2, "mu": mu, "sd": sd}
        return len(pos)

    # -- the components on the data before the period to predict
    def fit(self, train, titles):
        for i, c in enumerate(self.components):
            for p in c.fit(train, titles):
                yield Progress(i + (p.fraction or 0), len(self.components), f"{self.label}: {c.label}")
        self.stats = item_stats(train)

    def score(self, hist):
        norm = {c.key: normalise_rows(c.score(hist)) for c in self.components}
        cand, dup = candidates(norm, self.pool)
        x = (features(norm, hist, self.stats, cand) - self.net["mu"]) / self.net["sd"]
        z = np.maximum(x @ self.net["w1"] + self.net["b1"], 0.0) @ self.net["w2"] + self.net["b2"]
        p = 1.0 / (1.0 + np.exp(-np.clip(z[..., 0], -30, 30)))
        p[dup] = 0.0
        out = np.zeros((hist.n_rows, hist.n_items), dtype=np.float32)
        np.maximum.at(out, (np.repeat(np.arange(hist.n_rows), cand.shape[1]), cand.ravel()),
                      p.ravel().astype(np.float32))
        return out

    def params(self):
        return {"parts": list(self.parts), "pool": self.pool, "hidden": self.hidden,
                "components": [{"key": c.key, "params": c.params()} for c in self.components]}

    def arrays(self):
        out = {f"net.{k}": v for k, v in self.net.items()}
        out["stats"] = self.stats
        for c in self.components:
            out.update({f"{c.key}/{k}": v for k, v in c.arrays().items()})
        return out

    def load(self, params, arrays):
        from shopai.recommend.models import model_from_state

        self.parts, self.pool, self.hidden = tuple(params["parts"]), params["pool"], params["hidden"]
        self.net = {k[4:]: arrays[k] for k in ("net.w1", "net.b1", "net.w2", "net.b2", "net.mu", "net.sd")}
        self.stats = arrays["stats"]
        self.components = []
        for spec in params["components"]:
            sub = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(spec["key"] + "/")}
            self.components.append(model_from_state(spec["key"], spec["params"], sub))


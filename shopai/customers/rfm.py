"""RFM: recency / frequency / monetary scores, and the baseline that learns from them.

The baseline is a logistic regression on the three log-scaled RFM inputs for P(buys again) and a
Poisson regression on the same inputs for expected spend, fitted with scipy (no scikit-learn in the
app; the benchmark also runs scikit-learn's version as a named peer).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special


def rfm_scores(recency: np.ndarray, visits: np.ndarray, spend: np.ndarray) -> np.ndarray:
    """Classic 1-5 quintile scores per letter (5 = best: recent, frequent, big), as 'R F M' ints."""
    def quint(v: np.ndarray, higher_better: bool) -> np.ndarray:
        if len(v) == 0:
            return np.zeros(0, int)
        ranks = (np.argsort(np.argsort(v, kind="stable"), kind="stable") + 0.5) / len(v)
        s = np.ceil(ranks * 5).astype(int).clip(1, 5)
        return s if higher_better else 6 - s
    return np.column_stack([quint(recency, False), quint(visits, True), quint(spend, True)])


@dataclass
class GLM:
    """A tiny L2-regularised GLM: 'logistic' or 'poisson' (log link), with standardised inputs."""

    family: str
    mean: np.ndarray
    std: np.ndarray
    coef: np.ndarray            # intercept first
    scale: float = 1.0          # poisson: targets are divided by this before fitting

    def _z(self, X):
        return np.column_stack([np.ones(len(X)), (np.asarray(X, float) - self.mean) / self.std])

    def predict(self, X) -> np.ndarray:
        eta = self._z(X) @ self.coef
        if self.family == "logistic":
            return special.expit(eta)
        return np.exp(np.clip(eta, -30, 30)) * self.scale

    def to_json(self) -> dict:
        return {"family": self.family, "mean": self.mean.tolist(), "std": self.std.tolist(),
                "coef": self.coef.tolist(), "scale": self.scale}

    @classmethod
    def from_json(cls, d: dict) -> "GLM":
        return cls(d["family"], np.asarray(d["mean"], float), np.asarray(d["std"], float),
                   np.asarray(d["coef"], float), float(d.get("scale", 1.0)))


def fit_glm(X, y, family: str = "logistic", l2: float = 1e-3) -> GLM:
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    mean, std = X.mean(0), X.std(0)
    std = np.where(std > 1e-9, std, 1.0)
    scale = float(np.mean(y)) if family == "poisson" and np.mean(y) > 0 else 1.0
    model = GLM(family, mean, std, np.zeros(X.shape[1] + 1), scale)
    Z = model._z(X)
    t = y / scale if family == "poisson" else y
    n = len(y)

    def loss(w):
        eta = Z @ w
        if family == "logistic":
            nll = np.sum(np.logaddexp(0, eta) - t * eta)
            grad = Z.T @ (special.expit(eta) - t)
        else:
            eta = np.clip(eta, -30, 30)
            mu = np.exp(eta)
            nll = np.sum(mu - t * eta)
            grad = Z.T @ (mu - t)
        reg = l2 * np.sum(w[1:] ** 2)
        g = grad / n
        g[1:] += 2 * l2 * w[1:]
        return nll / n + reg, g

    start = np.zeros(Z.shape[1])
    if family == "logistic":
        p = np.clip(t.mean(), 1e-4, 1 - 1e-4)
        start[0] = np.log(p / (1 - p))
    res = optimize.minimize(loss, start, jac=True, method="L-BFGS-B")
    model.coef = res.x
    return model


def fit_predict(train_X, train_y: dict, test_X) -> dict[str, np.ndarray]:
    """RFM baseline: logistic for bought30/bought90, Poisson for spend90."""
    out, params = {}, {}
    for key, fam, name in (("bought30", "logistic", "p30"), ("bought90", "logistic", "p90"),
                           ("spend90", "poisson", "spend90")):
        m = fit_glm(train_X, train_y[key], fam)
        out[name] = m.predict(test_X)
        params[name] = m.to_json()
    out["p90"] = np.maximum(out["p90"], out["p30"])
    out["params"] = params
    return out

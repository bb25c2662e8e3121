"""BG/NBD (Fader, Hardie & Lee 2005) for repeat visits and Gamma-Gamma for their value, fitted with scipy.

Inputs per customer, in weeks: ``x`` repeat visits, ``t_x`` time of the last visit and ``T`` the
age at the cut, both from the first visit. The model needs no labels: it is fitted on the past only.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize, special

from shopai.jobs import UserError


@dataclass
class BGNBD:
    r: float
    alpha: float
    a: float
    b: float

    def _log_terms(self, x, t_x, T):
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        # log of the second term's ratio to the first: a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x), x > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            log_d = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-12))
                             + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)), -np.inf)
        return log_d

    def p_alive(self, x, t_x, T) -> np.ndarray:
        return np.exp(-np.logaddexp(0.0, self._log_terms(x, t_x, T)))

    def p_buy(self, x, t_x, T, t) -> np.ndarray:
        """P(at least one visit in the next ``t`` weeks)."""
        q0 = np.exp((self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + T + t)))
        return self.p_alive(x, t_x, T) * (1.0 - q0)

    def expected(self, x, t_x, T, t) -> np.ndarray:
        """Expected visits in the next ``t`` weeks."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        with np.errstate(all="ignore"):              # extreme histories overflow 2F1; they are zeroed below
            z = t / (alpha + T + t)
            hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
            am1 = a - 1 if abs(a - 1) > 1e-6 else 1e-6       # a < 1 is fine: both factors turn negative
            first = (a + b + x - 1) / am1
            second = 1.0 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyp
            out = first * second * self.p_alive(x, t_x, T)
        return np.nan_to_num(np.maximum(out, 0.0), nan=0.0, posinf=0.0)

    def to_json(self) -> dict:
        return asdict(self)


def _bgnbd_nll(logp, x, t_x, T, w):
    with np.errstate(all="ignore"):                  # the optimiser may probe absurd values; inf/nan ends the step
        return _bgnbd_nll_raw(logp, x, t_x, T, w)


def _bgnbd_nll_raw(logp, x, t_x, T, w):
    r, alpha, a, b = np.exp(logp)
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.betaln(a, b + x) - special.betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + t_x), -np.inf)
    # logaddexp(a3, a4) combines B(a,b+x)(alpha+T)^-(r+x) and B(a+1,b+x-1)(alpha+t_x)^-(r+x)
    ll = a1 + a2 + np.logaddexp(a3, a4)
    nll = -np.sum(w * ll) / np.sum(w)
    return nll + 1e-4 * np.sum(logp ** 2)   # a whisper of shrinkage keeps degenerate shops finite


def fit_bgnbd(x, t_x, T) -> BGNBD:
    """Maximum likelihood on (x, t_x, T); raises UserError when nobody has come back yet."""
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    if len(x) < 3 or not np.any(x > 0):
        raise UserError("No customer has bought on two different days yet, so repeat buying cannot be modelled.")
    T = np.maximum(T, 1e-3)
    t_x = np.clip(t_x, 0, T)
    w = np.ones_like(x)
    best = None
    for start in (np.log([0.5, 5.0, 0.5, 2.0]), np.log([1.0, 1.0, 1.0, 1.0])):
        res = optimize.minimize(_bgnbd_nll, start, args=(x, t_x, T, w), method="L-BFGS-B",
                                bounds=[(-8, 8)] * 4)
        if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
            best = res
        if best is not None and best.success:
            break          # the second start is only for when the first one fails
    if best is None:
        raise UserError("The repeat-buying model could not be fitted on these orders.")
    return BGNBD(*np.exp(best.x).tolist())


@dataclass
class GammaGamma:
    p: float
    q: float
    v: float

    def mean_value(self, x, m) -> np.ndarray:
        """Expected value of one future visit given x repeat visits of mean value m."""
        p, q, v = self.p, self.q, self.v
        x = np.asarray(x, float)
        m = np.asarray(m, float)
        pop = p * v / max(q - 1, 1e-3)
        cond = (v + m * x) * p / np.maximum(p * x + q - 1, 1e-3)
        return np.where(x > 0, cond, pop)

    def to_json(self) -> dict:
        return asdict(self)


def _gg_nll(logp, x, m):
    with np.errstate(all="ignore"):
        return _gg_nll_raw(logp, x, m)


def _gg_nll_raw(logp, x, m):
    p, q, v = np.exp(logp)
    ll = (special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q) + q * np.log(v)
          + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(v + m * x))
    return -np.mean(ll) + 1e-4 * np.sum(logp ** 2)


def fit_gamma_gamma(x, m) -> GammaGamma:
    """Fit on repeat customers with a positive mean visit value; falls back to a flat prior if too few."""
    x = np.asarray(x, float)
    m = np.asarray(m, float)
    keep = (x > 0) & (m > 0) & np.isfinite(m)
    if keep.sum() < 5:
        mean = float(np.mean(m[m > 0])) if np.any(m > 0) else 0.0
        return GammaGamma(p=1.0, q=1e3, v=mean * (1e3 - 1))
    xk, mk = x[keep], m[keep]
    res = optimize.minimize(_gg_nll, np.log([1.0, 3.0, float(np.median(mk))]), args=(xk, mk),
                            method="L-BFGS-B", bounds=[(-6, 8), (np.log(1.05), 8), (-8, 16)])
    return GammaGamma(*np.exp(res.x).tolist())


def fit_predict(snap, horizons=(30, 90)) -> dict[str, np.ndarray]:
    """Fit both models on one snapshot and predict for it: p30, p90, expected spend over 90 days, p_alive."""
    x, t_x, T = snap.bgnbd_inputs()
    model = fit_bgnbd(x, t_x, T)
    # Gamma-Gamma on the mean value of visits (first included: short histories have little else)
    gg = fit_gamma_gamma(x, snap.mean_value)
    out = {f"p{h}": model.p_buy(x, t_x, T, h / 7.0) for h in horizons}
    exp90 = model.expected(x, t_x, T, 90 / 7.0)
    out["exp_visits90"] = exp90
    out["spend90"] = exp90 * gg.mean_value(x, snap.mean_value)
    out["p_alive"] = model.p_alive(x, t_x, T)
    out["params"] = {"bgnbd": model.to_json(), "gamma_gamma": gg.to_json()}
    return out

"""Fitting every model at a cut, the time-split evaluation, and the metrics.

No-peeking rule: :func:`fit_predict_all` receives ``past`` = the events known at ``cut`` and
refuses anything later. Its supervised models learn from *earlier* cuts inside that past
(features at ``tc``, labels in ``(tc, tc + 90] ⊆ past``), and each such training row belongs to a
customer who had already bought by ``tc`` — the same state as the customers scored at ``cut``.
(Taking today's customers and rebuilding their history at ``tc`` would admit people whose first
purchase lies after ``tc``: survivorship would force their labels.)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopai.customers import bgnbd, rfm, seq
from shopai.customers.history import Events, Snapshot, labels, snapshot
from shopai.jobs import Progress, UserError

HORIZON = 90
MIN_FEATURE_DAYS = 30            # history a training cut needs before it
TRAIN_STRIDE = 30
MAX_TRAIN_CUTS = 5
MAX_TRAIN_ROWS = 60_000          # a big shop trains on a random sample of its rows (keeps the fit about a minute)
MIN_SPAN_ANY = 28                # below this nothing is fitted
MIN_SPAN_EVAL = HORIZON + HORIZON + MIN_FEATURE_DAYS   # test window + one training window + history

MODEL_LABELS = {
    "sequence": "Sequence model (GRU)",
    "blend": "GRU + RFM blend",
    "rfm_logistic": "RFM + logistic regression",
    "bgnbd": "BG/NBD + Gamma-Gamma",
}


# -- metrics ---------------------------------------------------------------------------------------

def auc(y, p) -> float:
    y = np.asarray(y, bool)
    npos, nneg = int(y.sum()), int((~y).sum())
    if npos == 0 or nneg == 0:
        return float("nan")
    r = pd.Series(np.asarray(p, float)).rank(method="average").to_numpy()   # ties share their mean rank
    return float((r[y].sum() - npos * (npos + 1) / 2) / (npos * nneg))


def brier(y, p) -> float:
    return float(np.mean((np.asarray(p, float) - np.asarray(y, float)) ** 2))


def calibration_error(y, p, bins: int = 10) -> float:
    """Expected calibration error over equal-count bins: mean |predicted − observed| weighted by size."""
    p = np.asarray(p, float)
    y = np.asarray(y, float)
    if len(p) == 0:
        return float("nan")
    order = np.argsort(p, kind="stable")
    err = 0.0
    for chunk in np.array_split(order, min(bins, len(p))):
        err += len(chunk) * abs(p[chunk].mean() - y[chunk].mean())
    return float(err / len(p))


def metrics(y: dict, pred: dict) -> dict:
    s, t = np.asarray(pred["spend90"], float), np.asarray(y["spend90"], float)
    return {
        "auc_90d": auc(y["bought90"], pred["p90"]),
        "brier_90d": brier(y["bought90"], pred["p90"]),
        "calibration_90d": calibration_error(y["bought90"], pred["p90"]),
        "auc_30d": auc(y["bought30"], pred["p30"]),
        "brier_30d": brier(y["bought30"], pred["p30"]),
        "spend_mae": float(np.mean(np.abs(s - t))),
        "spend_total_error": float((s.sum() - t.sum()) / max(t.sum(), 1e-9)),
    }


# -- fitting at a cut ------------------------------------------------------------------------------

def training_cuts(past: Events, cut: int) -> list[int]:
    cuts, tc = [], cut - HORIZON
    while tc - past.first_day >= MIN_FEATURE_DAYS and len(cuts) < MAX_TRAIN_CUTS:
        cuts.append(tc)
        tc -= TRAIN_STRIDE
    return cuts


@dataclass
class Fitted:
    snap: Snapshot                   # the customers scored (state at the cut)
    preds: dict                      # model name -> {"p30", "p90", "spend90", "params"?}
    seq_model: object | None
    rfm_params: dict | None
    bgnbd_params: dict
    train_rows: int
    notes: list


def _subset(part, mask):
    """One training cut's (snapshot, BG/NBD features, labels) restricted to the rows in ``mask``."""
    import dataclasses

    snap, bg, y = part
    fields = {f.name: getattr(snap, f.name) for f in dataclasses.fields(snap)}
    small = Snapshot(**{k: (v[mask] if isinstance(v, np.ndarray) else v) for k, v in fields.items()})
    return (small, {k: (v[mask] if isinstance(v, np.ndarray) else v) for k, v in bg.items()},
            {k: v[mask] for k, v in y.items()})


def _stacked(snap: Snapshot, bg: dict) -> np.ndarray:
    return np.column_stack([snap.static, bg["p_alive"], bg["p90"], np.log1p(bg["exp_visits90"])])


def fit_predict_all(past: Events, cut: int, cfg: seq.SeqConfig | None = None, supervised: bool = True,
                    train_seq: bool = True):
    """Generator: fit every model on ``past`` (nothing after ``cut``) and predict for customers at ``cut``.

    ``blend`` is the mean of the GRU's and the RFM regression's predictions (the GRU ranks a little
    better, the regression is better calibrated when the return rate shifts between seasons).
    """
    if len(past.day) and int(past.day.max()) > cut or len(past.refund_day) and int(past.refund_day.max()) > cut:
        raise ValueError("fit_predict_all was given events after its cut")
    notes: list[str] = []
    yield Progress(0, None, "reading histories")
    snap = snapshot(past, cut)
    if len(snap.cust) < 5:
        n = len(snap.cust)
        raise UserError(f"Only {n} customer{'s have' if n != 1 else ' has'} bought so far: too few to predict "
                        "who comes back (at least 5 are needed).")
    bg_now = bgnbd.fit_predict(snap)
    preds = {"bgnbd": {k: bg_now[k] for k in ("p30", "p90", "spend90")}}
    seq_model, rfm_params, rows = None, None, 0
    if supervised:
        yield Progress(0, None, "building training examples from earlier months")
        parts = []
        for tc in training_cuts(past, cut):
            s = snapshot(past, tc)
            if len(s.cust) < 5 or not np.any(s.visits > 1):
                continue
            try:
                bg = bgnbd.fit_predict(s)
            except UserError:
                continue
            parts.append((s, bg, labels(past, s, HORIZON)))
            yield Progress(0, None, "building training examples from earlier months")
        if parts:
            sizes = [len(p[0].cust) for p in parts]
            total = sum(sizes)
            if total > MAX_TRAIN_ROWS:
                keep = np.random.default_rng(0).random(total) < MAX_TRAIN_ROWS / total
                starts = np.cumsum([0] + sizes[:-1])
                parts = [_subset(p, keep[o:o + n]) for p, o, n in zip(parts, starts, sizes)]
                notes.append(f"Learned from a random {int(keep.sum()):,} of {total:,} past customer histories.")
            y = {k: np.concatenate([p[2][k] for p in parts]) for k in ("bought30", "bought90", "spend90")}
            rows = len(y["bought90"])
        learnable = bool(parts) and rows >= 20 and len(set(y["bought90"].tolist())) == 2
        if not learnable:
            notes.append("Too little history before the cut to learn from; only BG/NBD was fitted.")
        else:
            rfm_out = rfm.fit_predict(np.concatenate([p[0].rfm() for p in parts]), y, snap.rfm())
            rfm_params = rfm_out.pop("params")
            preds["rfm_logistic"] = rfm_out
        if learnable and train_seq:
            X = np.concatenate([_stacked(p[0], p[1]) for p in parts])
            S = np.concatenate([p[0].seq for p in parts])
            seq_model = yield from seq.train(S, X, y["bought30"], y["bought90"], y["spend90"], cfg)
            preds["sequence"] = seq.predict(seq_model, snap.seq, _stacked(snap, bg_now))
            preds["blend"] = {k: (preds["sequence"][k] + rfm_out[k]) / 2 for k in ("p30", "p90", "spend90")}
    return Fitted(snap, preds, seq_model, rfm_params, bg_now["params"], rows, notes)


def time_split(ev: Events, cfg: seq.SeqConfig | None = None, horizon: int = HORIZON):
    """Generator: fit on everything up to ``last_day − horizon``, score against the following days.

    Returns ``(Fitted, truth, {model: metrics})``.
    """
    cut = ev.last_day - horizon
    past = ev.before(cut)
    fitted = yield from fit_predict_all(past, cut, cfg)
    truth = labels(ev, fitted.snap, horizon)
    table = {name: metrics(truth, p) for name, p in fitted.preds.items()}
    return fitted, truth, table


def choose(table: dict) -> tuple[str, str]:
    """The model to use (highest 90-day AUC; near-ties go to the lower Brier score) and a plain sentence."""
    ranked = sorted(table, key=lambda m: -np.nan_to_num(table[m]["auc_90d"], nan=-1))
    best = ranked[0]
    for other in ranked[1:]:
        if (table[best]["auc_90d"] - table[other]["auc_90d"] < 0.005
                and table[other]["brier_90d"] < table[best]["brier_90d"]):
            best = other
            break
    ours = [m for m in ("sequence", "blend") if m in table]
    if not ours:
        return best, f"Only the baselines could be checked; {MODEL_LABELS[best]} predicted best and is used."
    baselines = [m for m in table if m not in ours]
    if best in ours:
        if not baselines:
            return best, f"{MODEL_LABELS[best]} is used."
        peer = max(baselines, key=lambda m: np.nan_to_num(table[m]["auc_90d"], nan=-1))
        b, q = table[best], table[peer]
        text = (f"{MODEL_LABELS[best]} predicted best on the last {HORIZON} days "
                f"(AUC {b['auc_90d']:.3f} vs {q['auc_90d']:.3f} for {MODEL_LABELS[peer]}), so its scores are used.")
        if b["brier_90d"] > q["brier_90d"]:
            text += (f" It ranks customers better, but its probabilities are less well calibrated "
                     f"(Brier {b['brier_90d']:.3f} vs {q['brier_90d']:.3f}): read them as a ranking.")
        return best, text
    top = max(ours, key=lambda m: np.nan_to_num(table[m]["auc_90d"], nan=-1))
    b, q = table[best], table[top]
    if b["auc_90d"] >= q["auc_90d"]:
        how = (f"predicted who came back in the last {HORIZON} days better than the {MODEL_LABELS[top]} "
               f"(AUC {b['auc_90d']:.3f} vs {q['auc_90d']:.3f}, Brier {b['brier_90d']:.3f} vs {q['brier_90d']:.3f})")
    else:
        how = (f"ranked customers about as well as the {MODEL_LABELS[top]} on the last {HORIZON} days "
               f"(AUC {b['auc_90d']:.3f} vs {q['auc_90d']:.3f}) with better-calibrated probabilities "
               f"(Brier {b['brier_90d']:.3f} vs {q['brier_90d']:.3f})")
    return best, f"A simple baseline won: {MODEL_LABELS[best]} {how}, so its scores are used."


def at_risk(visits, mean_gap, recency, p30) -> tuple[np.ndarray, np.ndarray]:
    """(regular, at_risk) flags.

    A *regular* has visited on at least 3 days at a usual rhythm of at most 120 days. They are *at
    risk* when they are overdue (recency > 1.5 × usual gap + 7 days) and P(visit in 30 days) fell
    below half of what their usual rhythm gives (1 − exp(−30 / gap)).
    """
    visits = np.asarray(visits, float)
    gap = np.asarray(mean_gap, float)
    recency = np.asarray(recency, float)
    p30 = np.asarray(p30, float)
    regular = (visits >= 3) & np.isfinite(gap) & (gap <= 120)
    usual = 1.0 - np.exp(-30.0 / np.maximum(np.nan_to_num(gap, nan=1e9), 1.0))
    overdue = recency > 1.5 * np.nan_to_num(gap, nan=1e9) + 7
    return regular, regular & overdue & (p30 < 0.5 * usual)

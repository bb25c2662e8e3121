"""The sequence model: a small GRU over each customer's last visits (gap since the previous visit,
basket value, age, lines in the basket) joined with static RFM/BG-NBD features, predicting P(visit in 30 days),
P(visit in 90 days) and expected 90-day spend.

Heads: ``l30`` and ``lx`` are logits with p30 = σ(l30) and p90 = 1 − (1 − p30)(1 − σ(lx)), so
p90 ≥ p30 always; spend is a log-mean trained with a Poisson loss (an unbiased mean, not a median).
torch is imported inside the functions only, so the app starts without it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from shopai.customers.history import SEQ_FEATURES
from shopai.jobs import Progress

HIDDEN = 24
MLP = 64


@dataclass
class SeqConfig:
    epochs: int = 30
    batch: int = 512
    lr: float = 5e-3
    weight_decay: float = 1e-4
    seeds: int = 2
    patience: int = 4
    val_fraction: float = 0.15
    threads: int = 1     # on a busy 2-core machine one thread is many times faster than two

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class SeqModel:
    """Trained weights (one state_dict per seed) plus the scaling of the static inputs."""

    n_static: int
    static_mean: np.ndarray
    static_std: np.ndarray
    spend_scale: float
    states: list = field(default_factory=list)   # list of {name: tensor}


def _net(n_static: int):
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(SEQ_FEATURES, HIDDEN, batch_first=True)
            self.head = nn.Sequential(nn.Linear(HIDDEN + n_static, MLP), nn.ReLU(), nn.Dropout(0.1),
                                      nn.Linear(MLP, 3))

        def forward(self, seq, static):
            _, h = self.gru(seq)
            return self.head(torch.cat([h[-1], static], dim=1))

    return Net()


def _outputs(torch, out):
    import torch.nn.functional as F

    l30, lx, lmu = out[:, 0], out[:, 1], out[:, 2]
    log_q30 = F.logsigmoid(-l30)
    log_q90 = log_q30 + F.logsigmoid(-lx)
    return l30, log_q30, log_q90, lmu


def _loss(torch, out, y30, y90, spend):
    import torch.nn.functional as F

    l30, log_q30, log_q90, lmu = _outputs(torch, out)
    bce30 = F.binary_cross_entropy_with_logits(l30, y30)
    log_p90 = torch.log(-torch.expm1(log_q90).clamp(max=-1e-7))
    bce90 = -(y90 * log_p90 + (1 - y90) * log_q90).mean()
    lmu = lmu.clamp(-20, 10)
    pois = (torch.exp(lmu) - spend * lmu).mean()
    return bce30 + bce90 + 0.5 * pois


def train(seq, static, y30, y90, spend, cfg: SeqConfig | None = None):
    """Generator: yields Progress, returns a :class:`SeqModel`. Inputs are numpy arrays of training rows."""
    import torch

    cfg = cfg or SeqConfig()
    torch.set_num_threads(max(1, min(cfg.threads, 2)))
    n = len(y90)
    mean = static.mean(0)
    std = np.where(static.std(0) > 1e-9, static.std(0), 1.0)
    scale = float(np.mean(spend[spend > 0])) if np.any(spend > 0) else 1.0
    S = torch.tensor(seq, dtype=torch.float32)
    X = torch.tensor((static - mean) / std, dtype=torch.float32)
    Y30 = torch.tensor(y30, dtype=torch.float32)
    Y90 = torch.tensor(y90, dtype=torch.float32)
    SP = torch.tensor(spend / scale, dtype=torch.float32)
    model = SeqModel(static.shape[1], mean, std, scale)
    total_steps = cfg.seeds * cfg.epochs
    step = 0
    last_yield = time.monotonic()
    for seed in range(cfg.seeds):
        rng = np.random.default_rng(1000 + seed)
        torch.manual_seed(1000 + seed)
        order = rng.permutation(n)
        n_val = max(1, int(n * cfg.val_fraction)) if n >= 20 else 0
        val, tr = order[:n_val], order[n_val:]
        net = _net(static.shape[1])
        opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        best, best_state, bad = np.inf, None, 0
        for epoch in range(cfg.epochs):
            net.train()
            perm = tr[rng.permutation(len(tr))]
            for b in range(0, len(perm), cfg.batch):
                idx = torch.as_tensor(perm[b:b + cfg.batch])
                opt.zero_grad()
                loss = _loss(torch, net(S[idx], X[idx]), Y30[idx], Y90[idx], SP[idx])
                loss.backward()
                opt.step()
                if time.monotonic() - last_yield > 0.15:
                    last_yield = time.monotonic()
                    yield Progress(step, total_steps, f"sequence model {seed + 1}/{cfg.seeds}, epoch {epoch + 1}")
            step += 1
            if n_val:
                net.eval()
                with torch.no_grad():
                    v = torch.as_tensor(val)
                    vl = float(_loss(torch, net(S[v], X[v]), Y30[v], Y90[v], SP[v]))
                if vl < best - 1e-4:
                    best, bad = vl, 0
                    best_state = {k: t.detach().clone() for k, t in net.state_dict().items()}
                else:
                    bad += 1
                    if bad >= cfg.patience:
                        step += cfg.epochs - epoch - 1
                        break
            yield Progress(step, total_steps, f"sequence model {seed + 1}/{cfg.seeds}, epoch {epoch + 1}")
        model.states.append(best_state or {k: t.detach().clone() for k, t in net.state_dict().items()})
    return model


def predict(model: SeqModel, seq, static) -> dict[str, np.ndarray]:
    """Average of the seeds' predictions: p30, p90, spend90."""
    import torch

    torch.set_num_threads(1)
    X = torch.tensor((static - model.static_mean) / model.static_std, dtype=torch.float32)
    S = torch.tensor(seq, dtype=torch.float32)
    p30s, p90s, sps = [], [], []
    for state in model.states:
        net = _net(model.n_static)
        net.load_state_dict(state)
        net.eval()
        with torch.no_grad():
            out = net(S, X)
            l30, log_q30, log_q90, lmu = _outputs(torch, out)
            p30s.append(torch.sigmoid(l30).numpy())
            p90s.append((-torch.expm1(log_q90)).numpy())
            sps.append(torch.exp(lmu.clamp(-20, 10)).numpy() * model.spend_scale)
    return {"p30": np.mean(p30s, 0).astype(float), "p90": np.mean(p90s, 0).astype(float),
            "spend90": np.mean(sps, 0).astype(float)}

"""``train customers``: check every model on the last 90 days, keep the best, score every customer.

Steps: read the histories → time split (fit on the past, score the last 90 days) → pick the best
model by AUC → refit everything on all history → predict from the last order date → write
``customer_scores`` and ``settings['customers.model']`` in one transaction at the very end, after the
model files (state_dict + JSON, no pickle). Closing the generator early leaves the shop as it was.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

import numpy as np

from shopai.customers import evaluate, seq
from shopai.customers.history import Events, day_to_iso, load_events, monthly_spend
from shopai.customers.rfm import rfm_scores
from shopai.jobs import Progress, UserError

FORMAT_VERSION = 2                # 2: basket features (lines, price per line) in the sequence model
META_FILE = "customers_model.json"
WEIGHTS_FILE = "customers_seq.pt"
SETTINGS_KEY = "customers.model"


def train_job(db_path: str, epochs: int | None = None, seeds: int | None = None, now=None, **_opts):
    """Job: returns a summary dict (chosen model, sentence, evaluation, counts)."""
    from shopai.store import open_store, transaction

    cfg = seq.SeqConfig()
    if epochs:
        cfg.epochs = int(epochs)
    if seeds:
        cfg.seeds = int(seeds)
    yield Progress(0, None, "reading orders")
    db = open_store(db_path)
    try:
        ev = load_events(db, now=now)
        if ev.n_customers == 0:
            raise UserError("No order belongs to a known customer (all are guest orders or refunds), "
                            "so there is nobody to score.")
        span = ev.span_days + 1
        if span < evaluate.MIN_SPAN_ANY:
            raise UserError(f"The shop has only {span} day{'s' if span != 1 else ''} of orders. Predicting who "
                            f"comes back needs at least {evaluate.MIN_SPAN_ANY} days of history "
                            f"(best {evaluate.MIN_SPAN_EVAL} or more).")
        notes = list(ev.notes)
        table: dict = {}
        test_size = 0
        if span >= evaluate.MIN_SPAN_EVAL:
            yield Progress(0, None, "checking the models on the last 90 days")
            fitted, truth, table = yield from evaluate.time_split(ev, cfg)
            notes += fitted.notes
            test_size = len(fitted.snap.cust)
            if len(set(truth["bought90"].tolist())) < 2:
                table = {}
                notes.append("In the last 90 days either every customer or no customer came back, "
                             "so the models could not be told apart.")
        if table:
            chosen, sentence = evaluate.choose(table)
        else:
            chosen = "bgnbd"
            sentence = (f"Only {span} days of history: too little to check predictions against what customers "
                        f"really did (needs {evaluate.MIN_SPAN_EVAL}). Scores come from BG/NBD, unchecked.")
        yield Progress(0, None, "fitting on all history")
        final = yield from evaluate.fit_predict_all(ev, ev.last_day, cfg, supervised=chosen != "bgnbd",
                                                    train_seq=chosen in ("sequence", "blend"))
        if chosen not in final.preds:      # e.g. the full history still had too few labels
            chosen = "rfm_logistic" if "rfm_logistic" in final.preds else "bgnbd"
        pred = final.preds[chosen]
        yield Progress(0, None, "saving")
        rows = _score_rows(db, ev, final, pred)
        meta = {
            "format_version": FORMAT_VERSION,
            "trained_at": _dt.datetime.now().replace(microsecond=0).isoformat(),
            "as_of": day_to_iso(ev.last_day),
            "chosen": chosen,
            "chosen_label": evaluate.MODEL_LABELS[chosen],
            "sentence": sentence,
            "evaluation": {m: table[m] for m in table},
            "evaluation_cut": day_to_iso(ev.last_day - evaluate.HORIZON) if table else None,
            "test_customers": test_size,
            "notes": notes,
        }
        meta = _finite(meta)
        yield Progress(0, None, "saving", commit=True)  # from here on the model lands: too late to cancel
        _save_model_files(db_path, final, meta, cfg)
        with transaction(db) as conn:
            conn.execute("DELETE FROM customer_scores")
            conn.executemany(
                "INSERT INTO customer_scores (customer_id, last_order, orders, visits, spend, recency_days, "
                "p_return_30d, p_return_90d, expected_spend_90d, regular, at_risk, rfm, history) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            conn.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                         (SETTINGS_KEY, json.dumps(meta)))
        return _finite({
            "model": evaluate.MODEL_LABELS[chosen],
            "verdict": sentence,
            "customers_scored": len(rows),
            "at_risk": int(sum(r[10] for r in rows)),
            "as_of": meta["as_of"],
            "evaluation": {evaluate.MODEL_LABELS[m]: {k: round(v, 4) for k, v in t.items()} for m, t in table.items()},
            "notes": notes,
        })
    finally:
        db.conn.close()


def _finite(obj):
    """NaN/inf (e.g. an AUC when nobody came back within 30 days) become None, so the JSON stays JSON."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _score_rows(db, ev: Events, final: evaluate.Fitted, pred: dict) -> list[tuple]:
    snap = final.snap
    db_ids = dict(db.conn.execute("SELECT external_id, id FROM customers").fetchall())
    regular, risk = evaluate.at_risk(snap.visits, snap.mean_gap, snap.recency, pred["p30"])
    spend_net = snap.total - snap.refunds
    scores = rfm_scores(snap.recency, snap.visits, spend_net)
    hist = monthly_spend(ev)[snap.cust]
    rows = []
    for i, ci in enumerate(snap.cust):
        cid = db_ids.get(ev.ids[ci])
        if cid is None:
            continue
        rows.append((
            cid, day_to_iso(int(snap.last[i])), int(snap.orders[i]), int(snap.visits[i]),
            round(float(spend_net[i]), 2), int(snap.recency[i]),
            round(float(pred["p30"][i]), 4), round(float(pred["p90"][i]), 4), round(float(pred["spend90"][i]), 2),
            int(regular[i]), int(risk[i]), "".join(str(v) for v in scores[i]),
            json.dumps([round(float(v), 2) for v in hist[i]]),
        ))
    return rows


# -- model files -----------------------------------------------------------------------------------

def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".part")
    write(tmp)
    os.replace(tmp, path)


def _save_model_files(db_path: str, final: evaluate.Fitted, meta: dict, cfg: seq.SeqConfig) -> None:
    """The weights go to a file of a new name, then the description naming it replaces the old one in one
    step: stopped in between, the shop keeps the model it had, whole. The weights before are kept (a reader
    may have just read the old description); older ones go."""
    from shopai.paths import new_file_name, remove_files_except, subdir

    folder = subdir(db_path, "models")
    before = _weights_named(folder)
    stem = Path(WEIGHTS_FILE).stem
    weights_file = new_file_name(stem, ".pt")
    doc = dict(meta)
    doc["bgnbd"] = final.bgnbd_params
    doc["rfm_logistic"] = final.rfm_params
    doc["seq"] = None
    if final.seq_model is not None:
        import torch

        m = final.seq_model
        doc["seq"] = {"n_static": m.n_static, "static_mean": m.static_mean.tolist(),
                      "static_std": m.static_std.tolist(), "spend_scale": m.spend_scale,
                      "seeds": len(m.states), "config": cfg.to_json(), "file": weights_file}
        flat = {f"{i}.{k}": t for i, state in enumerate(m.states) for k, t in state.items()}
        _atomic_write(folder / weights_file, lambda p: torch.save(flat, p))
    _atomic_write(folder / META_FILE, lambda p: p.write_text(json.dumps(doc, indent=1), encoding="utf-8"))
    remove_files_except(folder, (f"{stem}*.pt",), before | _weights_named(folder))


def _weights_named(folder: Path) -> set[str]:
    """The weights file the saved description names (none when there is none, or it cannot be read)."""
    try:
        info = json.loads((folder / META_FILE).read_text(encoding="utf-8")).get("seq") or {}
    except (OSError, ValueError, AttributeError):
        return set()
    return {str(info["file"])} if info.get("file") else set()


def load_model(db_path: str) -> dict:
    """The saved model description, with ``seq_model`` rebuilt when there is one.

    Raises UserError (plain words) when the files are missing, damaged or of another format.
    """
    from shopai.paths import subdir

    folder = subdir(db_path, "models")
    meta_path = folder / META_FILE
    if not meta_path.exists():
        raise UserError("No customer model has been trained yet: run 'shopai-cli train customers'.")
    try:
        doc = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"The customer model file is damaged ({exc.__class__.__name__}); train it again.") from None
    if not isinstance(doc, dict) or doc.get("format_version") != FORMAT_VERSION:
        raise UserError("The customer model was saved by another version of ShopAI; train it again.")
    info = doc.get("seq")
    doc["seq_model"] = None
    if info:
        import torch

        try:
            flat = torch.load(folder / info["file"], weights_only=True, map_location="cpu")
            states = [{} for _ in range(int(info["seeds"]))]
            for key, t in flat.items():
                i, _, name = key.partition(".")
                states[int(i)][name] = t
            model = seq.SeqModel(int(info["n_static"]), np.asarray(info["static_mean"], float),
                                 np.asarray(info["static_std"], float), float(info["spend_scale"]), states)
            for state in states:              # check the shapes fit the network now
                seq._net(model.n_static).load_state_dict(state)
        except Exception as exc:  # noqa: BLE001 - any damage to the weights is the same problem to the user
            raise UserError(f"The customer model weights are damaged or incomplete ({exc.__class__.__name__}); "
                            "train it again.") from None
        doc["seq_model"] = model
    return doc

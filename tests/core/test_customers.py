"""Customers: at-risk detection, the time split's no-peeking rule, bad input, model files, CLI shape."""
from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest

from shopai.customers import bgnbd, evaluate, scores, synthetic
from shopai.customers.history import STATIC_NAMES, Events, labels, load_events, snapshot
from shopai.customers.seq import SeqConfig
from shopai.customers.train import FORMAT_VERSION, load_model, train_job
from shopai.jobs import Progress, UserError, run_job
from shopai.store import open_store

FAST = {"epochs": 3, "seeds": 1}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The synthetic shop (with two orders dated in the future), trained once for the module."""
    path = str(tmp_path_factory.mktemp("cust") / "shop.sqlite")
    open_store(path).conn.close()
    synthetic.build(path, future_orders=2)
    summary = run_job(train_job(path, **FAST))
    return path, summary


def _rows(path):
    db = open_store(path)
    try:
        return {r["customer_id"]: r for r in scores.all_rows(db)}
    finally:
        db.conn.close()


def test_planted_regular_who_stopped_is_at_risk(trained):
    path, summary = trained
    rows = _rows(path)
    assert rows["PLANT"]["at_risk"] is True
    assert rows["PLANT"]["regular"] is True
    assert rows["STEADY"]["at_risk"] is False
    assert rows["STEADY"]["p_return_30d"] > rows["PLANT"]["p_return_30d"]
    assert summary["at_risk"] >= 1


def test_summary_and_evaluation_are_honest(trained):
    path, summary = trained
    assert summary["customers_scored"] == len(_rows(path))
    db = open_store(path)
    info = scores.model_info(db)
    db.conn.close()
    assert set(info["evaluation"]) == {"sequence", "blend", "rfm_logistic", "bgnbd"}
    assert info["chosen"] in info["evaluation"]
    best_auc = max(m["auc_90d"] for m in info["evaluation"].values())
    assert info["evaluation"][info["chosen"]]["auc_90d"] >= best_auc - 0.005
    if info["chosen"] not in ("sequence", "blend"):
        assert info["sentence"].startswith("A simple baseline won")
    assert any("future" in n for n in info["notes"])
    assert any("guest" in n for n in info["notes"])
    # measured from the last real order date, not from the orders dated in the future
    assert info["as_of"] == (synthetic.START + pd.Timedelta(days=330)).strftime("%Y-%m-%d")


def test_refunds_lower_spend_and_guests_are_nobody(trained):
    path, _ = trained
    rows = _rows(path)
    db = open_store(path)
    paid = db.conn.execute("SELECT sum(o.total) FROM orders o JOIN customers c ON c.id = o.customer_id "
                           "WHERE c.external_id = 'R000' AND o.status = 'paid'").fetchone()[0]
    db.conn.close()
    assert rows["R000"]["spend"] == pytest.approx(paid - 25.0, abs=0.01)
    assert None not in rows and "" not in rows


# -- the time split never peeks ------------------------------------------------------------------------

def _events(seed=3, days=300):
    frame = pd.DataFrame(synthetic.orders(days=days, seed=seed, regulars=35, occasional=20), columns=["no", "customer", "ordered_at", "status", "value"])
    return Events.from_orders(frame)


def test_fit_refuses_events_after_its_cut():
    ev = _events()
    with pytest.raises(ValueError):
        run_job(evaluate.fit_predict_all(ev, ev.last_day - 10, SeqConfig(epochs=1, seeds=1)))


def test_time_split_gives_models_only_the_past(monkeypatch):
    ev = _events()
    seen = []
    real = evaluate.fit_predict_all

    def spy(past, cut, cfg=None, supervised=True):
        seen.append((int(past.day.max()), int(past.refund_day.max()) if len(past.refund_day) else -1, cut))
        return (yield from real(past, cut, cfg, supervised))

    monkeypatch.setattr(evaluate, "fit_predict_all", spy)
    run_job(evaluate.time_split(ev, SeqConfig(epochs=1, seeds=1)))
    (max_day, max_refund, cut), = seen
    assert cut == ev.last_day - evaluate.HORIZON
    assert max_day <= cut and max_refund <= cut


def test_predictions_do_not_change_when_the_future_does():
    """Scramble everything after the cut: predictions for the test customers must stay identical."""
    ev = _events()
    cfg = SeqConfig(epochs=2, seeds=1)
    cut = ev.last_day - evaluate.HORIZON
    fitted_a, truth_a, _ = run_job(evaluate.time_split(ev, cfg))
    rng = np.random.default_rng(0)
    after = ev.day > cut
    changed = Events(ev.ids, ev.cust.copy(), ev.day.copy(), ev.value.copy(), ev.orders, ev.lines.copy(),
                     ev.price_sum.copy(), ev.refund_cust, ev.refund_day, ev.refund_value, ev.last_day, ev.first_day)
    changed.value[after] = rng.uniform(0, 5000, after.sum())
    changed.lines[after] = rng.integers(1, 50, after.sum())
    changed.price_sum[after] = rng.uniform(1, 500, after.sum())
    changed.cust[after] = np.sort(rng.integers(0, ev.n_customers, after.sum()))
    fitted_b, truth_b, _ = run_job(evaluate.time_split(changed, cfg))
    assert np.array_equal(fitted_a.snap.cust, fitted_b.snap.cust)
    for model in fitted_a.preds:
        for key in ("p30", "p90", "spend90"):
            np.testing.assert_array_equal(fitted_a.preds[model][key], fitted_b.preds[model][key])
    assert not np.array_equal(truth_a["spend90"], truth_b["spend90"])   # the future did change


def test_big_shops_learn_from_a_sample(monkeypatch):
    ev = _events()
    monkeypatch.setattr(evaluate, "MAX_TRAIN_ROWS", 60)
    fitted = run_job(evaluate.fit_predict_all(ev.before(ev.last_day - 90), ev.last_day - 90,
                                              SeqConfig(epochs=1, seeds=1)))
    assert fitted.train_rows <= 90 and any("random" in n for n in fitted.notes)
    assert {"sequence", "blend", "rfm_logistic", "bgnbd"} <= set(fitted.preds)
    assert all(len(p["p90"]) == len(fitted.snap.cust) for p in fitted.preds.values())


def test_training_rows_come_from_customers_already_there():
    """Survivorship: a training cut holds only customers who had bought by then; labels are the window."""
    ev = _events()
    for tc in evaluate.training_cuts(ev, ev.last_day - evaluate.HORIZON):
        snap = snapshot(ev, tc)
        assert np.all(snap.first <= tc) and np.all(snap.last <= tc)
        first_day = {c: ev.day[ev.cust == c].min() for c in range(ev.n_customers)}
        later = {c for c, d in first_day.items() if d > tc}
        assert later and not (later & set(snap.cust.tolist()))
        y = labels(ev, snap, 90)
        for i in np.flatnonzero(y["bought90"])[:20]:
            c = snap.cust[i]
            assert np.any((ev.cust == c) & (ev.day > tc) & (ev.day <= tc + 90))


# -- bad input ------------------------------------------------------------------------------------

def _shop(db_path, rows):
    db = open_store(db_path)
    with db.conn:
        for cust in {r[0] for r in rows if r[0]}:
            db.conn.execute("INSERT INTO customers (external_id) VALUES (?)", (cust,))
        for i, (cust, when, status, total) in enumerate(rows):
            cid = db.conn.execute("SELECT id FROM customers WHERE external_id = ?", (cust,)).fetchone()
            db.conn.execute("INSERT INTO orders (external_id, customer_id, ordered_at, status, total) VALUES (?,?,?,?,?)",
                            (f"X{i}", cid[0] if cid else None, when, status, total))
    db.conn.close()


def _unchanged(db_path):
    db = open_store(db_path)
    n = db.conn.execute("SELECT count(*) FROM customer_scores").fetchone()[0]
    s = db.conn.execute("SELECT count(*) FROM settings WHERE key = 'customers.model'").fetchone()[0]
    db.conn.close()
    return n == 0 and s == 0


def test_empty_shop(db_path):
    with pytest.raises(UserError, match="no orders"):
        run_job(train_job(db_path))
    assert _unchanged(db_path)


def test_only_guest_orders(db_path):
    _shop(db_path, [(None, f"2024-01-{d:02d}T10:00:00", "paid", 10.0) for d in range(1, 28)])
    with pytest.raises(UserError, match="guest"):
        run_job(train_job(db_path))


def test_a_week_of_history(db_path):
    _shop(db_path, [(f"C{i}", f"2024-03-0{1 + i % 7}T10:00:00", "paid", 10.0 + i) for i in range(30)])
    with pytest.raises(UserError, match="only 7 days"):
        run_job(train_job(db_path))
    assert _unchanged(db_path)


def test_single_order_customers_only(db_path):
    _shop(db_path, [(f"C{i}", f"2024-{1 + i % 3:02d}-{1 + i % 27:02d}T10:00:00", "paid", 10.0) for i in range(40)])
    with pytest.raises(UserError, match="two different days"):
        run_job(train_job(db_path))


def test_short_history_falls_back_to_bgnbd(db_path):
    rows = [(f"C{i % 15}", f"2024-{1 + d // 28:02d}-{1 + d % 28:02d}T10:00:00", "paid", 20.0)
            for i, d in enumerate(range(0, 80, 2))]
    rows += [("C1", "2024-02-01T10:00:00", "returned", -20.0), ("C2", "not a date", "paid", 5.0)]
    _shop(db_path, rows)
    summary = run_job(train_job(db_path, **FAST))
    assert "too little" in summary["verdict"] and summary["model"].startswith("BG/NBD")
    assert summary["customers_scored"] == 15
    assert any("unreadable date" in n for n in summary["notes"])


def test_before_training_the_sparklines_show_what_training_will_store(tmp_path):
    # The "Last 12 months" column was blank until the first Train; it now shows the same monthly spend
    # that training stores (paid orders, refunds and orders dated in the future left out).
    from shopai.customers.history import monthly_spend

    path = str(tmp_path / "shop.sqlite")
    open_store(path).conn.close()
    synthetic.build(path, future_orders=2, days=300, regulars=30, occasional=10)
    db = open_store(path)
    try:
        assert not scores.is_scored(db)
        rows = {r["customer_id"]: r["history"] for r in scores.all_rows(db)}
        ev = load_events(db)
    finally:
        db.conn.close()
    expected = monthly_spend(ev)
    stored = {ev.ids[i]: [round(float(v), 2) for v in expected[i]] for i in range(ev.n_customers)}
    assert len(rows) > 30 and set(rows) == set(stored)
    assert sum(1 for h in rows.values() if any(h)) > 30
    for customer, history in rows.items():
        assert history == pytest.approx(stored[customer], abs=0.011), customer


def test_cancel_leaves_the_shop_unchanged(tmp_path):
    path = str(tmp_path / "shop.sqlite")
    open_store(path).conn.close()
    synthetic.build(path, days=300, regulars=30, occasional=10)
    job = train_job(path, **FAST)
    for _ in range(5):
        assert isinstance(next(job), Progress)
    job.close()
    assert _unchanged(path)


# -- model files ----------------------------------------------------------------------------------------

def test_model_files_round_trip_and_damage(trained, tmp_path):
    path, _ = trained
    doc = load_model(path)
    assert doc["format_version"] == FORMAT_VERSION and doc["chosen"] in doc["evaluation"]
    assert doc["seq_model"] is None or len(doc["seq_model"].states) == FAST["seeds"]
    from shopai.paths import subdir

    folder = subdir(path, "models")
    meta = folder / "customers_model.json"
    original = meta.read_text()
    try:
        meta.write_text(original[: len(original) // 2])
        with pytest.raises(UserError, match="damaged"):
            load_model(path)
        meta.write_text(json.dumps({**json.loads(original), "format_version": FORMAT_VERSION - 1}))
        with pytest.raises(UserError, match="another version"):
            load_model(path)
        meta.write_text(original)
        if doc.get("seq"):
            weights = folder / doc["seq"]["file"]
            good = weights.read_bytes()
            weights.write_bytes(good[:100])
            with pytest.raises(UserError, match="weights"):
                load_model(path)
            weights.write_bytes(good)
    finally:
        meta.write_text(original)


def test_sequence_weights_saved_and_checked(tmp_path, monkeypatch):
    path = str(tmp_path / "shop.sqlite")
    open_store(path).conn.close()
    synthetic.build(path, days=260, regulars=20, occasional=10)
    monkeypatch.setattr(evaluate, "choose", lambda table: ("sequence", "forced for this test"))
    summary = run_job(train_job(path, epochs=1, seeds=2))
    assert summary["model"] == "Sequence model (GRU)"
    doc = load_model(path)
    assert len(doc["seq_model"].states) == 2
    from shopai.customers import seq
    from shopai.customers.history import snapshot as snap_at

    db = open_store(path)
    ev = load_events(db)
    db.conn.close()
    snap = snap_at(ev, ev.last_day)
    bg = bgnbd.fit_predict(snap)
    pred = seq.predict(doc["seq_model"], snap.seq, evaluate._stacked(snap, bg))
    stored = _rows(path)
    i = ev.ids.index("STEADY")
    row = int(np.flatnonzero(snap.cust == i)[0])
    assert pred["p30"][row] == pytest.approx(stored["STEADY"]["p_return_30d"], abs=1e-3)
    from shopai.paths import subdir

    weights = subdir(path, "models") / doc["seq"]["file"]
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(UserError, match="weights"):
        load_model(path)


# -- models and metrics --------------------------------------------------------------------------------

def test_bgnbd_recovers_simulated_behaviour():
    rng = np.random.default_rng(1)
    n, T = 1500, 40.0
    lam = rng.gamma(0.8, 1 / 4.0, n)               # r=0.8, alpha=4 (weeks)
    p = rng.beta(0.6, 3.0, n)                       # a=0.6, b=3
    x = np.zeros(n)
    tx = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T:
                break
            x[i] += 1
            tx[i] = t
            if rng.random() < p[i]:
                break
    m = bgnbd.fit_bgnbd(x, tx, np.full(n, T))
    assert m.r == pytest.approx(0.8, rel=0.35) and m.alpha == pytest.approx(4.0, rel=0.45)
    assert m.a / (m.a + m.b) == pytest.approx(0.6 / 3.6, rel=0.4)
    assert np.all((m.p_alive(x, tx, np.full(n, T)) >= 0) & (m.p_alive(x, tx, np.full(n, T)) <= 1))


def test_metrics():
    y = np.array([0, 0, 1, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.8, 0.9])
    pairs = [(a, b) for a in p[y == 1] for b in p[y == 0]]
    assert evaluate.auc(y, p) == pytest.approx(np.mean([a > b for a, b in pairs]))
    assert evaluate.brier(y, p) == pytest.approx(np.mean((p - y) ** 2))
    assert np.isnan(evaluate.auc([1, 1], [0.2, 0.3]))


def test_at_risk_rule():
    regular, risk = evaluate.at_risk([10, 10, 2, 10], [14, 14, 14, np.nan], [100, 5, 100, 100], [0.05, 0.9, 0.0, 0.0])
    assert regular.tolist() == [True, True, False, False]
    assert risk.tolist() == [True, False, False, False]


def test_load_events_from_db_matches_frame(trained):
    path, _ = trained
    db = open_store(path)
    ev = load_events(db)
    db.conn.close()
    assert "PLANT" in ev.ids and ev.n_customers > 100
    assert ev.day.max() <= ev.last_day


def test_basket_features_come_from_the_imported_order_lines(tmp_path):
    """Lines per visit and price per line reach the features through the real import -> store -> events path."""
    import csv

    from shopai.io import import_job

    rows = [["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"],
            ["1", "A1", "HEART", "6", "2011-01-03 09:00:00", "2.00", "100", "United Kingdom"],
            ["1", "B2", "LANTERN", "2", "2011-01-03 09:00:00", "4.00", "100", "United Kingdom"],
            ["2", "A1", "HEART", "1", "2011-01-03 15:00:00", "3.00", "100", "United Kingdom"],   # same day: one visit
            ["3", "C3", "CANDLE", "1", "2011-02-01 10:00:00", "10.00", "100", "United Kingdom"],
            ["4", "A1", "HEART", "1", "2011-02-01 10:00:00", "2.00", "200", "France"],
            ["C5", "A1", "HEART", "-1", "2011-02-02 10:00:00", "2.00", "200", "France"]]       # refund: not a basket
    src = tmp_path / "orders.csv"
    with open(src, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    path = str(tmp_path / "shop.sqlite")
    open_store(path).conn.close()
    run_job(import_job(path, src, "orders"))
    db = open_store(path)
    ev = load_events(db)
    db.conn.close()
    snap = snapshot(ev, ev.last_day)
    feat = dict(zip(STATIC_NAMES, snap.static[ev.ids.index("100")]))
    assert feat["log_lines_per_visit"] == pytest.approx(np.log1p(4 / 2))       # 3 lines on day 1, 1 on day 2
    assert feat["log_price_per_line"] == pytest.approx(np.log1p((2 + 4 + 3 + 10) / 4))
    other = dict(zip(STATIC_NAMES, snap.static[ev.ids.index("200")]))
    assert other["log_lines"] == pytest.approx(np.log1p(1))
    # the last visit's basket is in the sequence too
    assert snap.seq[ev.ids.index("100") == snap.cust][0, -1, 4] == pytest.approx(np.log1p(1) / 5.0)


# -- CLI ---------------------------------------------------------------------------------------------

def test_cli_json_shape(trained, capsys):
    from shopai.cli.main import main

    path, _ = trained
    assert main(["customers", "--db", path, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    keys = {"customer_id", "last_order", "orders", "spend", "p_return_30d", "p_return_90d",
            "expected_spend_90d", "at_risk"}
    assert len(out) > 100 and all(keys <= set(r) for r in out)
    plant = next(r for r in out if r["customer_id"] == "PLANT")
    assert plant["at_risk"] is True and isinstance(plant["orders"], int)
    assert 0 <= plant["p_return_30d"] <= plant["p_return_90d"] <= 1
    assert main(["customers", "--db", path, "--json", "--at-risk"]) == 0
    risky = json.loads(capsys.readouterr().out)
    assert risky and all(r["at_risk"] for r in risky)


def test_cli_table_writes_chances_as_the_tab_does(trained, capsys):
    from shopai.cli.main import main
    from shopai.wording import chance

    path, _ = trained
    assert main(["customers", "--db", path, "--json"]) == 0
    rows = {r["customer_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert main(["customers", "--db", path]) == 0
    table = capsys.readouterr().out.splitlines()
    plant = next(line for line in table if line.startswith("PLANT"))
    assert chance(rows["PLANT"]["p_return_90d"]) in plant.split()
    assert not any(" 1.00 " in line or " 0.00 " in line for line in table)  # no certain 1.00 / 0.00 chances


def test_cli_before_training_and_bad_shop(db_path, capsys):
    from shopai.cli.main import main

    _shop(db_path, [("A", "2024-01-01T10:00:00", "paid", 10.0), ("A", "2024-01-03T10:00:00", "paid", 5.0)])
    assert main(["customers", "--db", db_path, "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out[0]["customer_id"] == "A" and out[0]["orders"] == 2 and out[0]["p_return_30d"] is None
    assert "train customers" in captured.err
    assert main(["train", "customers", "--db", db_path]) == 2
    assert "days" in capsys.readouterr().err


def test_no_sqlite_leftovers(trained):
    path, _ = trained
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


@pytest.mark.parametrize("seed", range(6))
def test_odd_shops_give_scores_or_a_plain_message(tmp_path, seed):
    """Random small, lopsided shops: zero and negative totals, one-day bursts, few customers, long gaps."""
    rng = np.random.default_rng(seed)
    path = str(tmp_path / "shop.sqlite")
    span = int(rng.choice([3, 40, 150, 260]))
    n_cust = int(rng.choice([1, 4, 12]))
    rows = []
    for _ in range(int(rng.integers(5, 60))):
        cust = f"C{int(rng.integers(0, n_cust))}" if rng.random() > 0.2 else None
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, span)))
        status = str(rng.choice(["paid", "paid", "paid", "cancelled", "returned"]))
        total = float(rng.choice([0.0, -5.0, 12.5, 1e6]))
        rows.append((cust, day.strftime("%Y-%m-%dT%H:%M:%S"), status, total))
    _shop(path, rows)
    try:
        summary = run_job(train_job(path, **FAST))
    except UserError as exc:
        assert str(exc) and "Traceback" not in str(exc)
        assert _unchanged(path)
    else:
        json.dumps(summary, allow_nan=False)
        db = open_store(path)
        got = scores.all_rows(db)
        db.conn.close()
        assert len(got) == summary["customers_scored"]
        assert all(0 <= r["p_return_30d"] <= r["p_return_90d"] + 1e-9 <= 1 + 1e-9 for r in got)


def test_a_retrain_stopped_before_its_description_keeps_the_model_before(tmp_path, monkeypatch):
    """New weights go to a file of a new name and the description naming them is written last: cut off before
    that, the shop keeps the model it had; after whole saves, the weights of the last two stay."""
    from shopai.customers import train as train_mod
    from shopai.paths import subdir

    path = str(tmp_path / "shop.sqlite")
    open_store(path).conn.close()
    synthetic.build(path, days=260, regulars=20, occasional=10)
    monkeypatch.setattr(evaluate, "choose", lambda table: ("sequence", "forced for this test"))
    run_job(train_job(path, epochs=1, seeds=1))
    first = load_model(path)["seq"]["file"]
    real = train_mod._atomic_write

    def cut_off(target, write):
        if target.name == train_mod.META_FILE:
            raise KeyboardInterrupt  # as if the training process ended here
        return real(target, write)

    monkeypatch.setattr(train_mod, "_atomic_write", cut_off)
    with pytest.raises(KeyboardInterrupt):
        run_job(train_job(path, epochs=1, seeds=1))
    monkeypatch.setattr(train_mod, "_atomic_write", real)
    doc = load_model(path)
    assert doc["seq"]["file"] == first and doc["seq_model"] is not None
    run_job(train_job(path, epochs=1, seeds=1))
    run_job(train_job(path, epochs=1, seeds=1))
    weights = sorted(p.name for p in subdir(path, "models").glob("customers_seq*.pt"))
    assert len(weights) == 2 and load_model(path)["seq"]["file"] in weights and first not in weights

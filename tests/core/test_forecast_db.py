"""Forecast over a real (small) shop database: API, CLI JSON shape, fit-all job, bad input."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from shopai.cli.main import main
from shopai.forecast.api import forecast
from shopai.forecast.data import last_week, load_all
from shopai.forecast.store import FORMAT_VERSION
from shopai.forecast.train import train_job
from shopai.jobs import UserError, run_job
from shopai.store import open_store

FIRST = date(2023, 1, 2)  # Monday


def _fill(db_path: str, n_products: int = 4, weeks: int = 30, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    db = open_store(db_path)
    conn = db.conn
    conn.execute("BEGIN")
    conn.execute("INSERT INTO customers (id, external_id) VALUES (1, 'C1')")
    oid = 0
    for p in range(n_products):
        sku = f"SKU{p}"
        conn.execute("INSERT INTO products (id, sku, title, category, price, stock) VALUES (?, ?, ?, ?, ?, ?)",
                     (p + 1, sku, f"Product {p}", "Mugs" if p % 2 else "Cards", 2.5 + p, 20))
        for w in range(weeks):
            qty = int(rng.poisson(5 + 0.3 * w + p))
            if qty == 0:
                continue
            when = datetime.combine(FIRST + timedelta(weeks=w, days=int(rng.integers(0, 6))), datetime.min.time())
            oid += 1
            at = when.strftime("%Y-%m-%dT%H:%M:%S")
            conn.execute("INSERT INTO orders (id, external_id, customer_id, ordered_at, status, total) "
                         "VALUES (?, ?, 1, ?, 'paid', 0)", (oid, f"O{oid}", at))
            price = 2.5 + p + (0.5 if w >= weeks - 6 else 0.0)
            conn.execute("INSERT INTO order_lines (order_id, product_id, quantity, unit_price, ordered_at) "
                         "VALUES (?, ?, ?, ?, ?)", (oid, p + 1, qty, price, at))
    # a cancelled order and a return must not count
    oid += 1
    conn.execute("INSERT INTO orders (id, external_id, ordered_at, status) VALUES (?, 'X1', ?, 'cancelled')",
                 (oid, (FIRST + timedelta(weeks=3)).isoformat() + "T10:00:00"))
    conn.execute("INSERT INTO order_lines (order_id, product_id, quantity, unit_price, ordered_at) "
                 "VALUES (?, 1, 5000, 2.5, ?)", (oid, (FIRST + timedelta(weeks=3)).isoformat() + "T10:00:00"))
    conn.execute("INSERT INTO products (id, sku, title, price) VALUES (99, 'NOSALE', 'Never sold', 1.0)")
    conn.execute("INSERT INTO products (id, sku, title, price) VALUES (98, 'POST', 'Postage', 18.0)")
    conn.execute("COMMIT")
    db.conn.close()


@pytest.fixture
def shop(db_path):
    _fill(db_path)
    return db_path


def test_forecast_api_sales_and_price(shop):
    db = open_store(shop)
    end = last_week(db)
    assert end.weekday() == 0
    res = forecast(db, sku="SKU1", what="sales", horizon=8)
    assert [r["period_start"] for r in res["forecast"]] == [
        (end + timedelta(weeks=k + 1)).isoformat() for k in range(8)]
    for r in res["forecast"]:
        assert r["lo80"] <= r["value"] <= r["hi80"]
    assert res["history"][0]["period_start"] == FIRST.isoformat()
    assert max(h["value"] for h in res["history"]) < 5000  # the cancelled 5000 units are not sales
    assert res["sentence"].startswith("next month about")
    assert "reorder" in res and res["reorder"]["stock"] == 20
    price = forecast(db, sku="sku1", what="price", horizon=4)
    assert price["forecast"][0]["value"] == pytest.approx(4.0, abs=0.3)
    assert "reorder" not in price


def test_category_forecast(shop):
    res = forecast(open_store(shop), category="Mugs", what="sales", horizon=4)
    assert res["sku"] == "category:Mugs" and len(res["forecast"]) == 4


@pytest.mark.parametrize("kwargs, words", [
    ({"sku": "NOPE"}, "No product"),
    ({"sku": "NOSALE"}, "no paid sales"),
    ({"sku": "NOSALE", "what": "price"}, "no prices"),
    ({"sku": "SKU1", "horizon": 0}, "between 1 and"),
    ({"sku": "SKU1", "horizon": "x"}, "whole number"),
    ({"sku": "SKU1", "what": "stock"}, "price or sales"),
    ({"category": "Nothing"}, "No products in category"),
    ({}, "Pick a product"),
])
def test_bad_requests_are_user_errors(shop, kwargs, words):
    with pytest.raises(UserError, match=words):
        forecast(open_store(shop), **kwargs)


def test_empty_shop_fit_all_is_a_user_error(db_path):
    with pytest.raises(UserError, match="no orders"):
        run_job(train_job(db_path))


def test_cli_json_shape(shop, capsys):
    assert main(["forecast", "--db", shop, "--product", "SKU2", "--horizon", "3", "--what", "price", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["sku", "what", "method", "freq", "forecast"]
    assert out["sku"] == "SKU2" and out["what"] == "price" and out["freq"] == "W"
    assert len(out["forecast"]) == 3
    for row in out["forecast"]:
        assert list(row) == ["period_start", "value", "lo80", "hi80"]
        assert date.fromisoformat(row["period_start"]).weekday() == 0


def test_cli_text_and_errors(shop, capsys):
    assert main(["forecast", "--db", shop, "--product", "SKU0"]) == 0
    assert "80% range" in capsys.readouterr().out
    assert main(["forecast", "--db", shop, "--product", "GHOST", "--json"]) == 2
    assert "No product with SKU 'GHOST'" in capsys.readouterr().err
    assert main(["forecast", "--db", shop, "--product", "SKU0", "--horizon", "99"]) == 2


def test_fit_all_stores_methods_and_api_uses_them(db_path):
    _fill(db_path, n_products=22, weeks=26, seed=1)
    summary = run_job(train_job(db_path, global_steps=30))
    assert summary["sales_series"] == 22 and summary["price_series"] == 22
    db = open_store(db_path)
    rows = db.conn.execute("SELECT what, count(*) FROM forecast_fits GROUP BY what").fetchall()
    assert dict(rows) == {"price": 22, "sales": 22}
    assert "POST" not in {s.key for s in load_all(db, "sales")}
    res = forecast(db, sku="SKU3", what="sales", horizon=8)
    assert res["source"] == "stored"
    assert "global" in res["scores"]
    stored_method = db.conn.execute(
        "SELECT method FROM forecast_fits WHERE key = 'SKU3' AND what = 'sales'").fetchone()[0]
    assert res["method"] == stored_method
    # the stored fit reaches 26 weeks: a short horizon still gets the whole lead time
    short = forecast(db, sku="SKU3", horizon=4, lead_time_days=180)
    assert short["source"] == "stored"
    assert short["reorder"] == forecast(db, sku="SKU3", horizon=26, lead_time_days=180)["reorder"]


def test_fit_all_cancelled_leaves_database_unchanged(shop):
    gen = train_job(shop, global_steps=30)
    next(gen)
    next(gen)
    gen.close()
    db = open_store(shop)
    assert db.conn.execute("SELECT count(*) FROM forecast_fits").fetchone()[0] == 0


def test_damaged_stored_fit_is_recomputed(shop):
    db = open_store(shop)
    end = last_week(db)
    db.conn.execute("INSERT INTO forecast_fits VALUES ('SKU1', 'sales', 'ets', ?, ?, '{broken', 'now')",
                    (end.isoformat(), FORMAT_VERSION))
    res = forecast(db, sku="SKU1", what="sales")
    assert res["source"] == "fresh"


def test_reorder_hint_covers_the_whole_lead_time_whatever_the_horizon(shop):
    db = open_store(shop)
    short = forecast(db, sku="SKU1", horizon=4, lead_time_days=180)
    long = forecast(db, sku="SKU1", horizon=26, lead_time_days=180)
    assert len(short["forecast"]) == 4
    assert short["reorder"] == long["reorder"]
    weekly = sum(r["value"] for r in long["forecast"][:25]) + long["forecast"][25]["value"] * (5 / 7)
    assert short["reorder"]["expected"] == pytest.approx(weekly, abs=1.0)
    one = forecast(db, sku="SKU1", horizon=1, lead_time_days=14)
    assert one["reorder"] == forecast(db, sku="SKU1", horizon=8, lead_time_days=14)["reorder"]


@pytest.mark.parametrize("days", [0, -3, 183, "soon"])
def test_lead_time_must_be_a_sensible_number_of_days(shop, days, capsys):
    with pytest.raises(UserError, match="Lead time must be"):
        forecast(open_store(shop), sku="SKU1", lead_time_days=days)
    if isinstance(days, int):
        assert main(["forecast", "--db", shop, "--product", "SKU1", "--lead-time", str(days)]) == 2
        assert "Lead time must be between 1 and 182 days" in capsys.readouterr().err


def test_reorder_wording_and_amount_agree():
    from shopai.forecast.api import reorder_hint
    from shopai.forecast.backtest import Fit

    fit = Fit("A", "sales", "naive", "smooth", {}, FIRST, 10, np.array([22.0, 22.0]), np.array([20.0, 20.0]),
              np.array([22.4, 22.4]))
    hint = reorder_hint(fit, 0, 7)
    assert hint["text"] == "Reorder about 23 units: stock of 0 will not last the next 7 days (about 22 expected, up to 23)."
    assert hint["order"] == hint["high"] - 0
    # enough for what is expected, not for a busy spell: it says why it still says reorder
    assert reorder_hint(fit, 22, 7)["text"] == ("Reorder about 1 unit to be safe: the 22 in stock cover the 22 "
                                                "expected in the next 7 days, but a busy spell could sell up to 23.")
    assert reorder_hint(fit, 5, 1)["text"] == "Stock of 5 covers the next 1 day (about 3 expected, up to 4)."
    assert "covers" in reorder_hint(fit, 23, 7)["text"]


def test_category_forecast_names_the_category_and_gives_no_stock_verdict(shop):
    res = forecast(open_store(shop), category="Mugs", what="sales", horizon=4)
    assert res["category"] == "Mugs"
    assert "not recorded" not in res["reorder"]["text"] and "per product" in res["reorder"]["text"]
    assert res["reorder"]["order"] is None
    assert forecast(open_store(shop), sku="SKU1")["category"] is None


def test_the_picker_takes_percent_and_underscore_in_category_names_literally(db_path):
    from shopai.forecast.api import choices
    from shopai.store import open_store, products

    db = open_store(db_path)
    products.add(db, sku="C1", title="Cup", category="50% off")
    products.add(db, sku="C2", title="Pot", category="Kitchen_ware")
    products.add(db, sku="C3", title="Pan", category="Kitchen")
    cats = lambda text: sorted(v for kind, v, _t in choices(db, text) if kind == "category")
    assert cats("%") == ["50% off"]
    assert cats("n_w") == ["Kitchen_ware"]


def test_the_picker_finds_chinese_inside_titles_as_the_catalog_search_does(db_path):
    """The picker matched Chinese only at the start of a word: 瓷杯 found nothing, 青花 missed 景德镇青花瓷杯."""
    from shopai.forecast.api import choices
    from shopai.store import open_store, products

    db = open_store(db_path)
    ids = {sku: products.add(db, sku=sku, title=title) for sku, title in
           [("JDZ-001", "景德镇青花瓷杯"), ("JDZ-002", "青花瓷马克杯"), ("TEA-1", "西湖龙井 250克")]}
    order = db.conn.execute("INSERT INTO orders (external_id, ordered_at, status) "
                            "VALUES ('1', '2024-01-02T10:00:00', 'paid')").lastrowid
    for sku, n in (("JDZ-001", 3), ("JDZ-002", 1), ("TEA-1", 1)):
        for _ in range(n):
            db.conn.execute("INSERT INTO order_lines (order_id, product_id, quantity, unit_price, ordered_at) "
                            "VALUES (?, ?, 1, 10, '2024-01-02T10:00:00')", (order, ids[sku]))
    skus = lambda text: [v for kind, v, _t in choices(db, text) if kind == "sku"]  # noqa: E731
    assert skus("瓷杯") == ["JDZ-001"]
    assert skus("青花") == ["JDZ-001", "JDZ-002"]  # best seller first
    assert skus("景德镇 青花") == ["JDZ-001"]
    assert skus("龙井 250") == ["TEA-1"]


def test_fit_all_leaves_archived_products_out(db_path):
    _fill(db_path, n_products=4, weeks=26, seed=2)
    db = open_store(db_path)
    db.conn.execute("UPDATE products SET status = 'archived' WHERE sku = 'SKU1'")
    db.conn.execute("UPDATE products SET status = 'draft' WHERE sku = 'SKU2'")
    db.conn.commit()
    keys = {s.key for s in load_all(db, "sales")}
    assert "SKU1" not in keys and {"SKU0", "SKU2", "SKU3"} <= keys  # a draft may be about to sell again
    assert len(forecast(db, sku="SKU1", what="sales", horizon=4)["forecast"]) == 4  # still forecast when asked


def test_an_order_dated_in_the_future_is_left_out_and_said(shop):
    db = open_store(shop)
    before = last_week(db)
    res = forecast(db, sku="SKU1", what="sales", horizon=4)
    db.conn.execute("INSERT INTO orders (id, external_id, customer_id, ordered_at, status, total) "
                    "VALUES (500, 'TYPO', 1, '2031-12-08T10:00:00', 'paid', 2.5)")  # a year typed wrong
    db.conn.execute("INSERT INTO order_lines (order_id, product_id, quantity, unit_price, ordered_at) "
                    "VALUES (500, 2, 1, 3.5, '2031-12-08T10:00:00')")
    db.conn.commit()
    assert last_week(db) == before  # forecasts still start after the last real order
    typo = forecast(db, sku="SKU1", what="sales", horizon=4)
    assert [r["value"] for r in typo["forecast"]] == [r["value"] for r in res["forecast"]]
    assert "1 order is dated after today and left out" in typo["notes"]
    assert not any("dated after today" in n for n in forecast(db, sku="SKU2", what="sales")["notes"])
    assert next(s for s in load_all(db, "sales") if s.key == "SKU1").notes[-1] == \
        "1 order is dated after today and left out"

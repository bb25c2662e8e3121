"""The sample shop: built from resources/sample_shop through the normal import, once."""
from __future__ import annotations

import csv
import gzip
from pathlib import Path

from shopai.sample import ensure_sample_shop, sample_files
from shopai.store import open_store
from shopai.store.orders import stats

RES = Path(__file__).resolve().parents[2] / "resources" / "sample_shop"


def test_sample_files_are_small_and_cited():
    catalog, orders = sample_files()
    assert catalog.stat().st_size + orders.stat().st_size < 2_000_000
    readme = (RES / "README.md").read_text()
    assert "CC BY 4.0" in readme and "10.24432/C5BW33" in readme and "made up" in readme
    with gzip.open(orders, "rt") as f:
        header = f.readline().strip().split(",")
    assert header == ["invoice", "stock_code", "description", "quantity", "invoice_date", "unit_price",
                      "customer_id", "country"]
    with open(catalog, newline="") as f:
        rows = list(csv.DictReader(f))
    assert 200 <= len(rows) <= 600
    assert len({r["category"] for r in rows}) >= 6


def test_ensure_sample_shop_builds_once(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPAI_DATA_DIR", str(tmp_path))
    path = ensure_sample_shop()
    assert Path(path) == tmp_path / "sample-shop" / "shop.sqlite"
    db = open_store(path)
    counts = stats(db)
    assert 200 <= counts["products"] <= 600
    assert 200 <= counts["customers"] <= 400
    assert counts["orders"] > 1000 and counts["order_lines"] > 10_000
    first, last = db.conn.execute("SELECT min(ordered_at), max(ordered_at) FROM orders").fetchone()
    assert first[:7] == "2010-12" and last[:7] == "2011-12"
    assert db.conn.execute("SELECT count(*) FROM orders WHERE status = 'cancelled'").fetchone()[0] > 0
    assert db.conn.execute("SELECT count(DISTINCT category) FROM products").fetchone()[0] >= 6
    db.conn.close()
    mtime = Path(path).stat().st_mtime_ns
    assert ensure_sample_shop() == path
    assert Path(path).stat().st_mtime_ns == mtime


def test_build_job_returns_counts_and_path_and_cancel_leaves_nothing(tmp_path):
    from shopai.jobs import run_job
    from shopai.sample import build_sample_shop_job, is_built

    target = tmp_path / "demo" / "shop.sqlite"
    job = build_sample_shop_job(target)
    for progress in job:
        if progress.done >= 1:  # catalog in, orders under way
            break
    job.close()
    assert not target.exists() and list(target.parent.iterdir()) == []
    assert not is_built(target)
    result = run_job(build_sample_shop_job(target))
    assert str(result) == str(target) and result["orders"] > 1000 and result["products"] >= 200
    assert is_built(target)

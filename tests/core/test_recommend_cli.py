"""``shopai-cli train recommend``, ``recommend`` and ``similar``: JSON shape, order, and plain errors."""
from __future__ import annotations

import json

from recommend_shop import make_shop

from shopai.cli.main import main
from shopai.store import open_store


def test_cli_train_recommend_similar(db_path, capsys):
    make_shop(open_store(db_path))
    assert main(["recommend", "--db", db_path, "--customer", "10000"]) == 2
    assert "train recommend" in capsys.readouterr().err
    assert main(["train", "recommend", "--db", db_path, "--quiet"]) == 0
    capsys.readouterr()
    assert main(["recommend", "--db", db_path, "--customer", "10000", "-k", "4", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 4 and all({"sku", "score", "reason"} <= set(r) for r in rows)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert main(["similar", "--db", db_path, "--product", "P00", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["kind"] == "bought_with" and rows[0]["reason"].startswith("bought together in")
    assert any(r["kind"] == "similar" for r in rows)
    assert main(["similar", "--db", db_path, "--product", "NOPE"]) == 2
    assert "no product with SKU NOPE" in capsys.readouterr().err
    assert main(["recommend", "--db", db_path, "--customer", "ghost"]) == 2


def test_cli_columns_line_up_with_chinese_text():
    """A Chinese character takes two terminal columns: padding by characters misaligned every later column."""
    from shopai.cli.common import cell

    assert cell("景德镇青花瓷杯", 10) == "景德镇青花"
    assert cell("青花杯", 8) == "青花杯  " and cell("White heart", 8) == "White he" and cell(12, 4) == "12  "

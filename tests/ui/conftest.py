"""UI fixtures: a ShopContext over a fresh shop; Qt runs offscreen."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def ctx(qapp, db_path):
    from shopai_ui.context import ShopContext

    context = ShopContext(db_path)
    yield context
    context.close()

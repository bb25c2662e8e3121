"""The Catalog tests' fixtures: ``shop`` (six products, catalog_shop.ITEMS) and ``tab`` (the Catalog tab over it,
shown)."""
from __future__ import annotations

import pytest

from catalog_shop import fill, shown_tab


@pytest.fixture
def shop(ctx):
    return fill(ctx)


@pytest.fixture
def tab(shop, qtbot):
    yield from shown_tab(shop, qtbot)

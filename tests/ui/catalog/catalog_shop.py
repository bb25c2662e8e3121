"""The Catalog tab's test shop: six products from the UCI log (one with a Chinese title) and the tab over it."""
from __future__ import annotations

from shopai.store import products
from shopai_ui.tabs.catalog import CatalogTab

ITEMS = [
    ("84029E", "RED WOOLLY HOTTIE WHITE HEART", "Home", 3.39, 12),
    ("22752", "SET 7 BABUSHKA NESTING BOXES", "Toys", 7.65, 4),
    ("21730", "GLASS STAR FROSTED T-LIGHT HOLDER", "Home", 4.25, 30),
    ("22633", "HAND WARMER UNION JACK", "Gifts", 1.85, 0),
    ("71053", "WHITE METAL LANTERN", "Home", 3.39, 8),
    ("CN001", "景德镇 青花 瓷杯", "Kitchen", 12.0, 5),
]


def fill(ctx):
    """The six products in the shop of ``ctx``; returns ``ctx``."""
    for sku, title, cat, price, stock in ITEMS:
        products.add(ctx.db, sku=sku, title=title, category=cat, price=price, stock=stock)
    return ctx


def shown_tab(shop, qtbot):
    """A Catalog tab over ``shop``, shown (a generator for a fixture: it shuts the tab down after)."""
    widget = CatalogTab(shop)
    qtbot.addWidget(widget)
    widget.resize(1100, 600)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()


def titles(tab):
    return [tab.model.data(tab.model.index(r, 1)) for r in range(tab.model.rowCount())]


def row_of_sku(tab, sku):
    for r in range(tab.model.rowCount()):
        if tab.model.data(tab.model.index(r, 0)) == sku:
            return r
    raise AssertionError(sku)

"""A small shop for the voice tests (titles from the sample shop, with near-identical neighbours)."""
from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "voice"

TITLES = [
    ("85123A", "White Hanging Heart T-light Holder", "Candles & lights"),
    ("21733", "Red Hanging Heart T-light Holder", "Candles & lights"),
    ("22727", "Alarm Clock Bakelike Red", "Home decor"),
    ("22726", "Alarm Clock Bakelike Green", "Home decor"),
    ("22728", "Alarm Clock Bakelike Pink", "Home decor"),
    ("21770", "Open Closed Metal Sign", "Home decor"),
    ("21210", "Set of 72 Retrospot Paper Doilies", "Kitchen"),
    ("22384", "Lunch Bag Pink Polkadot", "Bags"),
    ("20685", "Doormat Red Retrospot", "Home decor"),
    ("22423", "Regency Cakestand 3 Tier", "Kitchen"),
    ("84879", "Assorted Colour Bird Ornament", "Garden"),
    ("22086", "Paper Chain Kit 50's Christmas", "Christmas"),
    ("47566", "Party Bunting", "Party"),
    ("22720", "Set of 3 Cake Tins Pantry Design", "Kitchen"),
    ("22457", "Natural Slate Heart Chalkboard", "Home decor"),
    ("23203", "Jumbo Bag Vintage Doily", "Bags"),
]


def fill(db_path: str, titles=TITLES) -> None:
    from shopai.store import open_store
    from shopai.store.db import transaction

    db = open_store(db_path)
    with transaction(db) as conn:
        conn.executemany(
            "INSERT INTO products (sku, title, category, price, stock) VALUES (?, ?, ?, 1.0, 1)", titles
        )
    db.conn.close()

"""Shopify's open product taxonomy (first three levels, English + Simplified Chinese) as a starting
point for a shop's category tree, next to the shop's own categories."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import sqlite_utils

from shopai.jobs import UserError


@dataclass(frozen=True)
class TaxonomyCategory:
    id: str
    path: str  # "Apparel & Accessories > Clothing > Shirts & Tops"
    path_zh: str

    @property
    def name(self) -> str:
        return self.path.split(" > ")[-1]

    @property
    def depth(self) -> int:
        return self.path.count(" > ") + 1


@lru_cache(maxsize=1)
def load() -> tuple[TaxonomyCategory, ...]:
    text = resources.files("shopai_resources").joinpath("taxonomy/shopify_categories_depth3.tsv").read_text("utf-8")
    out = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            out.append(TaxonomyCategory(*parts))
    return tuple(out)


def search(text: str, limit: int = 20, lang: str = "en") -> list[TaxonomyCategory]:
    """Categories whose path contains every word of ``text`` (English or Chinese), shallow ones first."""
    words = [w for w in (text or "").lower().split() if w]
    if not words:
        return []
    hits = [c for c in load() if all(w in (c.path_zh if lang.startswith("zh") else c.path).lower() for w in words)]
    hits.sort(key=lambda c: (c.depth, c.path))
    return hits[:limit]


def offers(shop: list[str], text: str, limit: int = 40) -> list[str]:
    """Category names to offer for ``text`` typed in a fix box: the ``shop``'s own categories that contain it,
    then taxonomy names in the language typed (Chinese when it has Chinese characters), each name once."""
    typed = text.strip().casefold()
    out = [c for c in shop if typed in c.casefold()]
    if not typed:
        return out
    zh = re.search(r"[\u3400-\u9fff]", text) is not None
    seen = {c.casefold() for c in out}
    for c in search(text, limit=limit, lang="zh" if zh else "en"):
        name = (c.path_zh if zh else c.path).split(" > ")[-1].strip()
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            out.append(name)
    return out


def shop_categories(db: sqlite_utils.Database) -> list[str]:
    """The shop's category names, each once whatever its case ("Mugs" and "mugs "), sorted."""
    from shopai.store.products import categories

    names: dict[str, str] = {}
    for c in categories(db):
        names.setdefault(c.strip().casefold(), c.strip())
    return sorted(names.values(), key=str.casefold)


def add_to_shop(db: sqlite_utils.Database, category_id: str, lang: str = "en") -> str:
    """Add a taxonomy category (by id, e.g. "aa-1-13") to the shop's own categories; returns its name."""
    match = [c for c in load() if c.id == category_id]
    if not match:
        raise UserError(f"No taxonomy category {category_id}.")
    cat = match[0]
    name = (cat.path_zh if lang.startswith("zh") else cat.path).split(" > ")[-1]
    db.conn.execute("INSERT OR IGNORE INTO categories (name, source) VALUES (?, 'shopify')", (name,))
    return name

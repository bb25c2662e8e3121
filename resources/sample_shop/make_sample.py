"""Make the sample shop from the UCI Online Retail log (../shared/data/retail/transactions.csv.gz).

Run from the repository root:  .venv/bin/python resources/sample_shop/make_sample.py [path/to/transactions.csv.gz]

It writes, beside this script:
- ``orders.csv.gz``: every line (sales, cancellations) of 300 real customers, limited to 400 products;
  the columns and values exactly as in the source file.
- ``catalog.csv``: one row per product: sku, title (the most common description in title case), category
  (keyword rules below), price (the most common unit price customers paid), stock (made up, deterministic).

Selection is deterministic (no randomness): customers with at least 4 clean invoices, every k-th by id; products
= the 400 stock codes these customers bought on the most invoices.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[1].parent / "shared" / "data" / "retail" / "transactions.csv.gz"
N_CUSTOMERS = 300
N_PRODUCTS = 400
PRODUCT_CODE = re.compile(r"^\d{5}[A-Za-z]?$")

# Category by keywords in the description, first match wins. Transparent on purpose: the sample's categories
# are these rules, not the shop's own.
CATEGORY_RULES: list[tuple[str, tuple[str, ...]]] = [
    ("Candles & lights", ("CANDLE", "T-LIGHT", "TLIGHT", "LIGHT", "LANTERN", "LAMP", "NIGHT LIGHT")),
    ("Bags", ("BAG", "TOTE", "SHOPPER", "PURSE")),
    ("Cards & wrap", ("CARD", "WRAP", "PAPER", "TISSUE", "RIBBON", "GIFT TAG", "ENVELOPE", "STICKER")),
    ("Kitchen", ("MUG", "CUP", "PLATE", "BOWL", "JAR", "TEA", "CAKE", "BAKING", "LUNCH BOX", "KITCHEN", "TIN",
                 "NAPKIN", "APRON", "SPOON", "JUG", "BOTTLE", "GLASS", "TRAY", "CUTLERY", "PANTRY", "EGG")),
    ("Christmas", ("CHRISTMAS", "XMAS", "ADVENT", "SNOWFLAKE", "REINDEER", "SANTA", "BAUBLE")),
    ("Garden", ("GARDEN", "PLANT", "FLOWER POT", "WATERING", "BIRD", "HERB", "PARASOL")),
    ("Toys & games", ("TOY", "GAME", "DOLL", "PUZZLE", "SKITTLES", "DOMINOES", "SPACEBOY", "PLAYHOUSE",
                      "JIGSAW", "CHILDREN", "CHILDS")),
    ("Stationery", ("PEN", "PENCIL", "NOTEBOOK", "ERASER", "RUBBER", "CHALK", "MEMO", "JOURNAL", "DIARY")),
    ("Home decor", ("HEART", "SIGN", "FRAME", "CLOCK", "CUSHION", "DOORMAT", "HOOK", "HANGER", "MIRROR", "VASE",
                    "BUNTING", "GARLAND", "WICKER", "DECORATION", "ORNAMENT", "BOX", "DRAWER", "CABINET")),
]
OTHER = "Other"


def category_for(description: str) -> str:
    text = description.upper()
    for name, words in CATEGORY_RULES:
        if any(re.search(r"\b" + re.escape(w), text) for w in words):
            return name
    return OTHER


def stock_for(sku: str) -> int:
    """Made-up stock level, the same on every run: 0-119 from a hash of the SKU."""
    return int(hashlib.sha256(sku.encode()).hexdigest()[:6], 16) % 120


def title_case(text: str) -> str:
    words = text.strip().split()
    small = {"of", "and", "in", "on", "with", "the", "a", "for", "to"}
    out = []
    for i, w in enumerate(words):
        low = w.lower()
        out.append(low if i and low in small else low[:1].upper() + low[1:])
    return " ".join(out)


def main(source: Path = DEFAULT_SOURCE) -> None:
    with gzip.open(source, "rt", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    inv, code, desc, qty, date, price, cust = range(7)

    def clean(r: list[str]) -> bool:
        return (r[cust] != "" and r[inv][:1] not in ("C", "A") and PRODUCT_CODE.match(r[code]) is not None
                and float(r[qty]) > 0 and float(r[price]) > 0)

    invoices_by_customer: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if clean(r):
            invoices_by_customer[r[cust]].add(r[inv])
    eligible = sorted((c for c, s in invoices_by_customer.items() if len(s) >= 4), key=int)
    step = max(1, len(eligible) // N_CUSTOMERS)
    customers = set(eligible[::step][:N_CUSTOMERS])

    product_invoices: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if r[cust] in customers and clean(r):
            product_invoices[r[code]].add(r[inv])
    ranked = sorted(product_invoices, key=lambda c: (-len(product_invoices[c]), c))
    products = set(ranked[:N_PRODUCTS])

    kept = [r for r in rows if r[cust] in customers and r[code] in products]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(kept)
    with open(HERE / "orders.csv.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                                  compresslevel=9) as gz:
        gz.write(buf.getvalue().encode("utf-8"))

    descriptions: dict[str, Counter] = defaultdict(Counter)
    prices: dict[str, Counter] = defaultdict(Counter)
    for r in kept:
        if clean(r):
            descriptions[r[code]][r[desc].strip()] += 1
            prices[r[code]][r[price]] += 1
    with open(HERE / "catalog.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["sku", "title", "category", "price", "stock"])
        for sku in sorted(products):
            description = descriptions[sku].most_common(1)[0][0]
            # most common price; ties to the lower one
            best = max(prices[sku].items(), key=lambda kv: (kv[1], -float(kv[0])))[0]
            w.writerow([sku, title_case(description), category_for(description), f"{float(best):.2f}",
                        stock_for(sku)])
    print(f"{len(customers)} customers, {len(products)} products, {len(kept)} order lines, "
          f"{len({r[inv] for r in kept})} invoices")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE)

"""Catalog import: products from a Shopify, WooCommerce, Square or any spreadsheet CSV.

Rows are checked first (missing title, bad or negative price, duplicate SKU in the file), then every valid
row is written in ONE transaction: new SKUs inserted, known SKUs updated (their old values kept in
``import_changes`` so the import can be undone), prices recorded in ``price_history`` (source 'import').
Image cells holding a local file path (relative to the CSV's folder) are copied into the shop's images folder;
web addresses are counted, never downloaded. In a known export an empty cell is read from the field's next
column (Shopify: "Variant Image", else "Image Src"; "Product Category", else "Type"), and a variant without a
photo of its own shows its product's.
"""
from __future__ import annotations

import functools
import hashlib
import html
import os
import re
import shutil
from pathlib import Path
from typing import Any

import sqlite_utils

from shopai.io import common, formats
from shopai.io.common import ImportPreview, ImportReport, RowProblem
from shopai.io.values import decimal_comma_from, listing_is_inverted, parse_listing, parse_number
from shopai.safety.backup import backup_before
from shopai.jobs import Job, Progress, UserError, run_job
from shopai.store.db import in_chunks, open_store, transaction
from shopai.store.products import FastProductInsert
from shopai.store.title_keys import fill_title_keys

_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<![^<>]*>")  # a tag starts with a letter: "3 < 4 and 5 > 2" stays
# what a browser never shows: scripts, style sheets, comments (an unclosed one runs to the end of the text)
_HIDDEN = re.compile(r"<(script|style|template)\b[^>]*>.*?(?:</\1\s*>|\Z)|<!--.*?(?:-->|\Z)",
                     re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")
_SLUG = re.compile(r"[^0-9a-zA-Z\u4e00-\u9fff]+")
_NO_VARIANT = {"", "default title", "regular", "default", "-"}
_NEUTRALISED = ("=", "+", "-", "@", "\t", "\r")
PRODUCT_FIELDS = ("sku", "title", "description", "category", "vendor", "price", "cost", "stock", "image_path",
                  "status")
SHOWN_MADE_SKUS = 3  # products named in the note about SKUs made from names


def _count(n: int, one: str, many: str) -> str:
    """ "1 product", "2 products", "13,589 products". """
    return f"{n:,} {one if n == 1 else many}"


def _text(html_or_text: str) -> str:
    """Plain text of an HTML description: tags become spaces, entities characters; scripts, style sheets and
    comments go with their contents."""
    if "<" in html_or_text and ">" in html_or_text:
        html_or_text = _HIDDEN.sub(" ", html_or_text)
        html_or_text = _TAG.sub(" ", html_or_text)
    if "&" in html_or_text:
        html_or_text = html.unescape(html_or_text)
    if "  " in html_or_text or "\n" in html_or_text or "\t" in html_or_text or "\r" in html_or_text:
        html_or_text = _SPACE.sub(" ", html_or_text)
    return html_or_text.strip()


def _unguard(text: str) -> str:
    """A cell of our own export without its formula guard ("'=SUM(A1)" -> "=SUM(A1)", "'-RT4" -> "-RT4")."""
    return text[1:] if text[:1] == "'" and text[1:2] in _NEUTRALISED else text


def _names(title: str, variant: str) -> bool:
    """True when the title already names the variant as a word ("Latte Small"; not "s" in "Classic")."""
    if not variant.isascii():
        return variant.lower() in title.lower()
    return re.search(r"(?<!\w)" + re.escape(variant) + r"(?!\w)", title, re.IGNORECASE) is not None


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.strip().lower()).strip("-")[:60] or "item"


@functools.lru_cache(maxsize=4096)
def _category_path(text: str) -> tuple[str, ...]:
    """WooCommerce "A > B, C" and Shopify "A > B > C": the first category's path, root first. "A | B" and
    "A / B" are paths too, but a slash inside a name ("新鲜/冷冻水果", "T-shirts/Tops", Shopify's Chinese
    taxonomy names) is part of the name: after a ">" path, or without spaces around it."""
    first = text.split(",")[0] if ">" in text or "," in text else text
    separator = r"\s*>\s*" if ">" in first else r"\s*\|\s*|\s+/\s+"
    return tuple(p.strip() for p in re.split(separator, first) if p.strip())


class _Parsed:
    def __init__(self) -> None:
        self.products: list[dict[str, Any]] = []
        self.problems: list[RowProblem] = []
        self.rows_total = 0
        self.rows_merged = 0
        self.notes: list[str] = []
        self.categories: list[list[str]] = []


def _parse(src: common.Source, progress_every: int = 20_000) -> Job[_Parsed]:
    out = _Parsed()
    idx = src.index
    folder = src.table.path.resolve().parent

    def col_at(i: int):
        # every text cell our export guarded gets its apostrophe taken off again (SKU, description, ...)
        return lambda v: _unguard(s) if (s := v[i].strip())[:1] == "'" else s

    def col(name: str):
        i = idx.get(name)
        if i is None:
            return lambda v: ""
        first, rest = col_at(i), [col_at(j) for j in src.fallback.get(name, ())]
        if not rest:
            return first
        # a known export's next column where this one is empty ("Variant Image", then "Image Src")
        return lambda v: first(v) or next((s for f in rest if (s := f(v))), "")

    get = {f: col(f) for f in formats.CATALOG_FIELDS}
    inverted = listing_is_inverted(src.mapping.get("listing") or "")  # Square's "Archived": Y means archived
    own_image = col_at(idx["image"]) if idx.get("image") is not None else (lambda v: "")
    header = src.table.header
    # Shopify: a variant is named by all its options ("S / Red"); "Type" stands in for an empty Product Category
    # (the mapping's next column for category, read by ``col``)
    options = [col_at(header.index(c)) for c in ("Option2 Value", "Option3 Value") if c in header] \
        if src.format == "shopify" and src.mapping.get("variant") == "Option1 Value" else []
    # a file whose numbers use decimal commas ("49,90") writes 1,299 as "1.299"
    comma = decimal_comma_from(get[f](v) for v in src.table.sample(2000) for f in ("price", "cost", "stock"))
    number = functools.partial(parse_number, decimal_comma=comma)
    groups: dict[str, dict[str, Any]] = {}
    seen_sku: dict[str, int] = {}
    missing_images = variable_prices = 0
    made_skus: list[tuple[str, str]] = []  # (title, the SKU made for it)
    variants_per_group: dict[str, int] = {}
    category_paths: dict[tuple[str, ...], None] = {}
    estimate = max(1, src.table.text.count("\n"))

    def photo(row: int, text: str) -> tuple[str | None, bool]:
        """(the local file an image cell names, whether it is a web address); a file not found is noted."""
        nonlocal missing_images
        first = text.split(",")[0].strip() if "," in text and "://" in text else text.strip()
        if "://" in first or first[:5].lower() == "data:":
            return None, True
        candidate = Path(first) if Path(first).is_absolute() else folder / first
        try:
            if candidate.is_file():
                return str(candidate), False
        except OSError:  # a name too long to be a file
            pass
        missing_images += 1
        out.problems.append(RowProblem(row, f"image {first[:200]!r} not found next to the file; "
                                            "imported without a photo", False))
        return None, False

    for n, (row, v) in enumerate(src.table.records(), 1):
        out.rows_total += 1
        if n % progress_every == 0:
            yield Progress(n, estimate, f"Reading row {n:,}")
        group = get["group"](v)
        title = get["title"](v)
        base = groups.get(group) if group else None
        sku = get["sku"](v)
        price_text = get["price"](v)
        variant = get["variant"](v)
        if options:
            variant = " / ".join(o for o in [variant, *(f(v) for f in options)] if o)
        image = get["image"](v)
        if base is not None and not title:
            if not sku and not price_text and variant.lower() in _NO_VARIANT:
                # an extra image row of a Shopify product: its photo, if the product has none yet
                first = base["product"]
                if image and not base["image"]:
                    base["image"] = image
                    if first is not None and not first["image"] and not first["web_image"]:
                        first["image"], first["web_image"] = photo(row, image)
                out.rows_merged += 1
                continue
            title = base["title"]
        if base is not None:
            # a variant's own photo (Shopify's Variant Image), else its product's, else what its row holds
            image = own_image(v) or base["image"] or image
        description = get["description"](v) or (base["description"] if base and not get["title"](v) else "")
        vendor = get["vendor"](v) or (base["vendor"] if base and not get["title"](v) else "")
        category = get["category"](v) or (base["category"] if base and not get["title"](v) else "")
        listing = get["listing"](v) or (base["listing"] if base and not get["title"](v) else "")
        if not title and not sku:
            out.problems.append(RowProblem(row, "no title; skipped"))
            continue
        # a row with a SKU but no title only updates a product the shop has (see _drop_new_untitled)
        if title and variant and variant.lower() not in _NO_VARIANT and not _names(title, variant):
            title = f"{title} - {variant}"
        sku_made = not sku
        if sku_made:
            key = group or title
            sku = _slug(key)
            if group:
                variants_per_group[group] = variants_per_group.get(group, 0) + 1
                if variants_per_group[group] > 1 or (variant and variant.lower() not in _NO_VARIANT):
                    sku = f"{sku}-{_slug(variant or str(variants_per_group[group]))}"
            made, k = sku, 1
            while group and sku in seen_sku:  # a variant's made-up SKU never collides with an earlier row's
                k += 1
                sku = f"{made}-{k}"
        price = None
        if price_text.lower() == "variable":  # Square: the price is typed in at the till
            variable_prices += 1
            out.problems.append(RowProblem(row, "price is 'variable' (set when sold); imported without a price",
                                           False))
        elif price_text:
            price = number(price_text)
            if price is None:
                out.problems.append(RowProblem(row, f"price {price_text!r} is not a number; skipped"))
                continue
            if price < 0:
                out.problems.append(RowProblem(row, f"price {price_text} is negative; skipped"))
                continue
        if sku in seen_sku:
            out.problems.append(RowProblem(row, f"duplicate SKU {sku} (first on row {seen_sku[sku]}); skipped"))
            continue
        seen_sku[sku] = row
        if sku_made:
            made_skus.append((title, sku))
        cost = number(get["cost"](v)) if get["cost"](v) else None
        if cost is not None and cost < 0:
            cost = None
        stock_text = get["stock"](v)
        stock = None
        if stock_text:
            num = number(stock_text)
            if num is None:
                out.problems.append(RowProblem(row, f"stock {stock_text!r} is not a number; left empty", False))
            else:
                stock = int(num)
        status = parse_listing(listing, inverted) if listing else None
        if listing and status is None:
            out.problems.append(RowProblem(row, f"status {listing!r} is not active, draft or archived; "
                                                "left as it was (a new product is active)", False))
        image_path, web_image = photo(row, image) if image else (None, False)
        cat_path = _category_path(category) if category else ()
        if cat_path:
            category_paths.setdefault(cat_path, None)
        product = {
            "row": row, "sku": sku, "title": title, "description": _text(description) if description else "",
            "category": cat_path[-1] if cat_path else None, "category_path": cat_path, "vendor": vendor or None,
            "price": price,
            "cost": cost, "stock": stock, "image": image_path, "web_image": web_image, "status": status,
        }
        out.products.append(product)
        if group and group not in groups:
            groups[group] = {"title": get["title"](v) or title, "description": description,
                             "category": category, "vendor": vendor, "image": image, "listing": listing,
                             "product": product}
    if made_skus:
        named = ", ".join(f"“{t}” → {s}" for t, s in made_skus[:SHOWN_MADE_SKUS])
        if len(made_skus) == 1:
            out.notes.append(f"1 product has no SKU; it gets one made from its name: {named}.")
        else:
            more = len(made_skus) - SHOWN_MADE_SKUS
            out.notes.append(f"{len(made_skus):,} products have no SKU; each gets one made from its name: {named}"
                             + (f", and {more:,} more." if more > 0 else "."))
    if variable_prices:
        out.notes.append(_count(variable_prices, "item has a variable price (set when sold); it is",
                                "items have a variable price (set when sold); they are")
                         + " imported without a price.")
    web = [p for p in out.products if p["web_image"] and not p["image"]]
    if web:
        out.notes.append(
            _count(len(web), "product's photo is a web address", "products' photos are web addresses")
            + f", which ShopAI does not download (nothing is fetched from the internet): to add the photos, save "
            f"each picture named by its SKU ({web[0]['sku']}.jpg) and use Import photos… on the Auto-categorize "
            "tab.")
    if missing_images:
        out.notes.append(_count(missing_images, "image file is", "image files are")
                         + " not found next to the file (the rows are listed).")
    if out.rows_merged:
        out.notes.append(_count(out.rows_merged, "extra image row is merged into its product.",
                                "extra image rows are merged into their products."))
    out.categories = [list(p) for p in category_paths]
    out.problems.extend(src.table.problems)
    out.rows_total += sum(1 for p in src.table.problems if p.skipped)  # rows the reader could not split
    out.problems.sort(key=lambda p: p.row)
    return out


def _place_categories(conn, parsed: _Parsed) -> None:
    """Give every category of the file's paths a name of its own in the shop's tree.

    Category names are unique in a shop, and a product names only its leaf, so "Women > Tops" and "Men > Tops"
    would merge into one "Tops". A name already placed under another parent (in the shop, or earlier in the
    file) becomes "Tops (Men)" for the second path, and the products of that path get it; a re-import of the
    same file finds the same names again. A name without a parent on either side (a flat category, or a file
    that only names the leaf) is the same category, as before.
    """
    if not parsed.categories:
        return
    parent_of: dict[str, str | None] = dict(conn.execute(
        "SELECT c.name, p.name FROM categories c LEFT JOIN categories p ON p.id = c.parent_id"))
    placed: dict[tuple[str, ...], list[str]] = {}
    renamed: dict[str, list[str]] = {}
    for path in parsed.categories:
        out: list[str] = []
        parent: str | None = None
        for depth, name in enumerate(path):
            final, k = name, 1
            # taken under another parent: "Tops (Men)", then "Tops (Men) 2" should that be taken too
            while parent is not None and parent_of.get(final) not in (None, parent):
                k += 1
                final = f"{name} ({path[depth - 1]})" + (f" {k - 1}" if k > 2 else "")
            if final != name:
                renamed.setdefault(name, []).append(final)
            parent_of.setdefault(final, parent)
            out.append(final)
            parent = final
        placed[tuple(path)] = out
    parsed.categories = [placed[tuple(p)] for p in parsed.categories]
    for p in parsed.products:
        if p["category_path"]:
            p["category"] = placed[tuple(p["category_path"])][-1]
    for name, finals in list(renamed.items())[:3]:
        finals = list(dict.fromkeys(finals))
        parsed.notes.append(f"“{name}” is the name of categories under different parents; "
                            + ", ".join(f"“{f}”" for f in finals) + (" keeps them apart." if len(finals) == 1
                                                                         else " keep them apart."))


def _drop_new_untitled(parsed: _Parsed, existing: dict[str, dict[str, Any]]) -> None:
    """Rows without a title are kept only for SKUs the shop has (they update what they set); a new SKU
    needs a title, so its row is skipped with that reason."""
    if all(p["title"] for p in parsed.products):
        return
    kept = []
    for p in parsed.products:
        if p["title"] or p["sku"] in existing:
            kept.append(p)
        else:
            parsed.problems.append(RowProblem(p["row"], f"no title; skipped (SKU {p['sku']} is not in the shop)"))
    parsed.products = kept
    parsed.problems.sort(key=lambda p: p.row)


def _existing(conn, skus: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    cols = ("id",) + PRODUCT_FIELDS + ("updated_at",)    # updated_at too, so an undo puts it back
    for chunk, marks in in_chunks(skus):
        for r in conn.execute(f"SELECT {', '.join(cols)} FROM products WHERE sku IN ({marks})", chunk):
            found[r[1]] = dict(zip(cols, r))
    return found


def _changes(product: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """Fields the file sets to a new value (an empty cell leaves the shop's value alone)."""
    out = {}
    for key in ("title", "description", "category", "vendor", "price", "cost", "stock", "status"):
        value = product[key]
        if value in (None, ""):
            continue
        if value != before[key]:
            out[key] = value
    return out


def preview(db: sqlite_utils.Database, path: str | os.PathLike,
            mapping: dict[str, str | None] | None = None) -> ImportPreview:
    """Dry run of a catalog import: mapping, counts, per-row problems, the first rows as they would be."""
    return run_job(preview_steps(db, path, mapping))


def preview_steps(db: sqlite_utils.Database, path: str | os.PathLike,
                  mapping: dict[str, str | None] | None = None) -> Job[ImportPreview]:
    """:func:`preview` as a job body (yields Progress while it reads a large file)."""
    yield Progress(0, None, "Reading the file")
    src, pv = common.start_preview(path, "catalog", mapping)
    if pv.problems:  # a required field has no column yet
        return pv
    parsed = yield from _parse(src)
    existing = _existing(db.conn, [p["sku"] for p in parsed.products])
    _drop_new_untitled(parsed, existing)
    _place_categories(db.conn, parsed)
    pv.rows_total = parsed.rows_total
    pv.rows_ok = len(parsed.products) + parsed.rows_merged
    pv.problems = parsed.problems
    pv.notes = parsed.notes
    pv.sample = [{k: p[k] for k in ("sku", "title", "description", "category", "vendor", "price", "cost", "stock",
                                    "status", "image")} for p in parsed.products[:common.SAMPLE_ROWS]]
    pv.would_update = sum(1 for p in parsed.products if p["sku"] in existing
                          and (_changes(p, existing[p["sku"]])
                               or p["image"] and not _same_image(p["image"], existing[p["sku"]]["image_path"])))
    pv.would_create = sum(1 for p in parsed.products if p["sku"] not in existing)
    return pv


def _digest(path: str | Path) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()[:12]


def _same_image(source: str, current: str | None) -> bool:
    """True when ``source`` is the product's current photo, or a file with the same content."""
    if not current:
        return False
    try:
        return os.path.samefile(source, current) or _digest(source) == _digest(current)
    except OSError:
        return False


def _copy_image(source: str, images_dir: Path, created: list[Path]) -> str:
    src = Path(source)
    if src.resolve().parent == images_dir.resolve():
        return str(src)  # already one of the shop's photos (an exported catalog read back in)
    digest = _digest(src)
    stem = src.stem if src.stem.endswith("-" + digest) else f"{_slug(src.stem)[:40]}-{digest}"
    dest = images_dir / f"{stem}{src.suffix.lower()}"
    if not dest.exists():
        shutil.copyfile(src, dest)
        created.append(dest)
    return str(dest)


def import_job(db_path: str, path: str | os.PathLike,
               mapping: dict[str, str | None] | None = None) -> Job[ImportReport]:
    """Import a catalog CSV into the shop at ``db_path``; all valid rows in one transaction."""
    yield Progress(0, None, "Reading the file")
    src = common.open_source(path, "catalog", mapping)
    common.require_mapping(src)
    parsed = yield from _parse(src)
    untitled = [p["sku"] for p in parsed.products if not p["title"]]
    if untitled:
        check = open_store(db_path)
        try:
            _drop_new_untitled(parsed, _existing(check.conn, untitled))
        finally:
            check.conn.close()
    if not parsed.products and not src.mapping.get("title"):
        raise UserError(f"{src.table.path.name}: no column found for {formats.FIELD_LABELS['title']}, and no "
                        f"SKU of the file is in the shop to update; choose one with --map title=COLUMN "
                        f"(columns: {', '.join(src.table.header[:12])}).")
    if not parsed.products:
        reasons = "; ".join(f"row {p.row}: {p.message}" for p in parsed.problems[:3])
        raise UserError(f"{src.table.path.name}: no product could be imported ({reasons or 'no rows'}).")
    yield Progress(0, None, "Backing up the shop first")
    backup_before(db_path, "import")  # throttled; raises UserError (nothing changed) if it fails
    db = open_store(db_path)
    copied: list[Path] = []
    try:
        report = yield from _write(db, db_path, src, parsed, copied)
    except BaseException:
        for f in copied:
            f.unlink(missing_ok=True)
        raise
    finally:
        db.conn.close()
    return report


def _write(db, db_path, src, parsed: _Parsed, copied: list[Path]) -> Job[ImportReport]:
    images_dir = None
    now = common.now_iso()
    with transaction(db) as conn:
        existing = _existing(conn, [p["sku"] for p in parsed.products])
        _drop_new_untitled(parsed, existing)  # again, inside the write transaction
        _place_categories(conn, parsed)
        products = parsed.products
        total = len(products)
        import_id = common.start_import(conn, "catalog", src.table.path, src.format)
        report = ImportReport(import_id=import_id, kind="catalog", format=src.format,
                              problems=parsed.problems, notes=list(parsed.notes))
        # categories (with their parents), new ones only
        known = {r[0]: r[1] for r in conn.execute("SELECT name, id FROM categories")}
        for path_parts in parsed.categories:
            parent = None
            for name in path_parts:
                if name not in known:
                    cur = conn.execute("INSERT INTO categories (name, parent_id, source) VALUES (?, ?, 'import')",
                                       (name, parent))
                    known[name] = cur.lastrowid
                    common.record_change(conn, import_id, "categories", cur.lastrowid, None)
                parent = known[name]
        fast = FastProductInsert(conn, import_id, sum(1 for p in products if p["sku"] not in existing))
        new_rows, done = [], 0
        for p in products:
            before = existing.get(p["sku"])
            if p["image"] and before is not None and _same_image(p["image"], before["image_path"]):
                p["image_path"] = before["image_path"]  # the photo it has: nothing copied, nothing changed
            elif p["image"]:
                images_dir = images_dir or _images_dir(db_path)
                p["image_path"] = _copy_image(p["image"], images_dir, copied)
            else:
                p["image_path"] = None
            if before is None:
                new_rows.append((p["sku"], p["title"], p["description"], p["category"], p["vendor"], p["price"],
                                 p["cost"], p["stock"], p["image_path"], p["status"] or "active", now, now,
                                 import_id))
            else:
                change = _changes(p, before)
                if p["image_path"] and p["image_path"] != before["image_path"]:
                    change["image_path"] = p["image_path"]
                if change:
                    common.record_change(conn, import_id, "products", before["id"], before)
                    sets = ", ".join(f"{k} = ?" for k in change)
                    conn.execute(f"UPDATE products SET {sets}, updated_at = ? WHERE id = ?",
                                 [*change.values(), now, before["id"]])
                    if "price" in change:
                        conn.execute("INSERT INTO price_history (product_id, price, changed_at, source, import_id)"
                                     " VALUES (?, ?, ?, 'import', ?)", (before["id"], change["price"], now,
                                                                        import_id))
                    report.updated += 1
            if len(new_rows) >= common.BATCH:
                _insert(conn, new_rows)
                done += len(new_rows)
                report.created += len(new_rows)
                new_rows = []
                yield Progress(done, total, f"Saving products: {done:,} of {total:,}")
        if new_rows:
            _insert(conn, new_rows)
            report.created += len(new_rows)
        yield Progress(total, total, "Indexing for search")
        fast.finish()
        fill_title_keys(conn)  # Chinese titles new or renamed: their pinyin, to sort by
        conn.execute("INSERT INTO price_history (product_id, price, changed_at, source, import_id) "
                     "SELECT id, price, ?, 'import', ? FROM products WHERE import_id = ? AND price IS NOT NULL",
                     (now, import_id, import_id))
        report.skipped = sum(1 for p in parsed.problems if p.skipped)
        common.finish_import(conn, import_id, report.created + report.updated, report.skipped)
        yield Progress(total, total, "Finishing", commit=True)  # the COMMIT is next: too late to cancel
    report.details = {"products_created": report.created, "products_updated": report.updated,
                      "unchanged": total - report.created - report.updated}
    return report


def _images_dir(db_path: str) -> Path:
    from shopai.paths import subdir

    return subdir(db_path, "images")


def _insert(conn, rows: list[tuple]) -> None:
    conn.executemany(
        "INSERT INTO products (sku, title, description, category, vendor, price, cost, stock, image_path, status, "
        "created_at, updated_at, import_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

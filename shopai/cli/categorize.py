"""``shopai-cli categorize``: category suggestions for a product, a photo, a text, or a CSV of them."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shopai.cli.common import add_command, db_path, drive, open_db, print_json
from shopai.jobs import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "categorize", "suggest categories (train first: shopai-cli train categorize)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--product", metavar="SKU", help="a product in the shop")
    what.add_argument("--image", metavar="FILE", help="a product photo")
    what.add_argument("--text", metavar="TEXT", help="a title and/or description")
    what.add_argument("--csv", metavar="FILE", help="columns id,title[,description][,image]; one JSON line per row")
    what.add_argument("--get-backbone", action="store_true",
                      help="download the pretrained photo model (MobileNetV3-small, ~10 MB, from download.pytorch.org); "
                           "the next training uses it")
    p.add_argument("--top", type=int, default=3, help="how many suggestions (default 3)")
    p.set_defaults(func=run)


def _print(suggestions: list[dict], as_json: bool) -> None:
    if as_json:
        print_json(suggestions)
        return
    for s in suggestions:
        print(f"{s['confidence'] * 100:5.1f}%  {s['category']}")


def run(args: argparse.Namespace) -> int:
    from shopai.categorize import review
    from shopai.categorize.models import load_bundle

    if args.get_backbone:
        from shopai.categorize.pretrained import download_job

        print(drive(download_job(), args))
        return 0
    path = db_path(args)
    if not 1 <= args.top <= 100:
        raise UserError("--top must be between 1 and 100.")
    k = args.top
    if args.csv:
        return _run_csv(args, path, k)
    bundle = load_bundle(path)
    if args.text is not None:
        _print(review.suggest_text(path, args.text, k, bundle), args.json)
    elif args.image:
        _print(review.suggest_image(path, args.image, None, k, bundle), args.json)
    else:
        from shopai.store import products

        db = open_db(args)
        row = products.get(db, sku=args.product)
        if row is not None and (row["category"] or "").strip():  # said on stderr: --json stays a list
            print(f"shopai-cli: {row['sku']} already has category {row['category'].strip()}; "
                  "the model would suggest:", file=sys.stderr)
        _print(review.suggest_product(db, path, args.product, k, bundle), args.json)
    return 0


def _columns(header: list[str]) -> dict[str, str]:
    """The file's columns for id, title, description and image: those names first, else the header names
    the catalog import knows (SKU, Name, Body (HTML), 货号, 商品名称, 描述, 图片, ...)."""
    from shopai.io.formats import ALIASES, norm

    exact = {c.strip().lower(): c for c in header if c}
    by_norm = {norm(c): c for c in header if c}
    out: dict[str, str] = {}
    for field, alias_of in (("id", "sku"), ("title", "title"), ("description", "description"), ("image", "image")):
        if field in exact:
            out[field] = exact[field]
            continue
        for alias in ALIASES["catalog"][alias_of]:
            col = by_norm.get(alias)
            if col is not None and col not in out.values() and not (field == "title" and alias == "description"):
                out[field] = col
                break
    return out


def _run_csv(args: argparse.Namespace, path: str, k: int) -> int:
    from shopai.categorize import review
    from shopai.categorize.models import load_bundle
    from shopai.categorize.train import NOTHING_TO_GO_ON

    bundle = load_bundle(path)
    src = Path(args.csv)
    if not src.is_file():
        raise UserError(f"{src.name}: the file does not exist.")
    from shopai.io.sniff import read_table

    table = read_table(src)  # any encoding, BOM, comma, semicolon or tab
    rows = [dict(zip(table.header, values)) for _, values in table.records()]
    if not rows:
        raise UserError(f"{src.name}: no rows.")
    for bad in table.problems:  # rows the reader could not split
        print(f"shopai-cli: row {bad.row}: {bad.message}", file=sys.stderr)
    cols = _columns(table.header)
    if "id" not in cols or ("title" not in cols and "image" not in cols):
        raise UserError(f"{src.name}: needs columns id,title[,description][,image] (or names the catalog import "
                        "knows for them, such as SKU, Name, 货号, 商品名称).")
    problems = len(table.problems)  # rows with a problem
    batch: list[tuple[str, str | None, object]] = []

    def flush() -> None:
        if not batch:
            return
        tops = review.suggest_texts(bundle, [b[1] for b in batch], [b[2] for b in batch], k)
        for (rid, _, _), top in zip(batch, tops):
            print_json({"id": rid, "suggestions": top})
        batch.clear()

    for row in rows:
        rid = (row.get(cols["id"]) or "").strip()
        title = (row.get(cols.get("title", ""), "") or "").strip()
        desc = (row.get(cols.get("description", ""), "") or "").strip() if "description" in cols else ""
        image = (row.get(cols.get("image", ""), "") or "").strip() if "image" in cols else ""
        emb = None
        if image and bundle.photo is not None:
            img_path = Path(image) if Path(image).is_absolute() else src.parent / image
            try:
                emb = review.image_embedding(bundle, img_path)
            except UserError as exc:
                print(f"shopai-cli: row {rid}: {exc}", file=sys.stderr)
                problems += 1
        text = f"{title} {desc}".strip() or None
        if text is None and emb is None:
            flush()
            print_json({"id": rid, "suggestions": [], "error": NOTHING_TO_GO_ON})
            problems += not (image and bundle.photo is not None)  # a photo that failed was counted above
            continue
        batch.append((rid, text, emb))
        if len(batch) >= 2000:
            flush()
    flush()
    if problems:  # every row was printed; the exit code tells a script that some went wrong
        print(f"shopai-cli: {problems} of {len(rows) + len(table.problems)} rows had a problem (see above)",
              file=sys.stderr)
        return 1
    return 0

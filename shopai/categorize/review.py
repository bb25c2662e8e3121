"""The review queue and everything that asks the trained model: suggestions, accept/fix/skip, undo,
photo import (matched to a product by file name/SKU, else a new draft product), similar and duplicate photos.

A correction becomes a label at once (products.category) and nudges the saved models, so the next
suggestions already reflect it; the next full training learns it properly.
"""
from __future__ import annotations

import filecmp
import json
import re
import shutil
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import sqlite_utils

from shopai.categorize.images import dhash, hamming, is_image_name, letterbox, load_image
from shopai.categorize.models import Bundle, has_model, load_bundle, model_dir, save_bundle
from shopai.categorize.train import (NOTHING_TO_GO_ON, _write_suggestions, decode_embedding, encode_embedding,
                                    product_text, resolve_image, stored_embedding)
from shopai.jobs import Job, Progress, UserError
from shopai.paths import subdir
from shopai.store.db import in_chunks, open_store, transaction
from shopai.store.title_keys import title_key

DUPLICATE_BITS = 4


# SQL: the product (p) has no category yet, so it waits for a suggestion
_UNCATEGORISED = "(p.category IS NULL OR trim(p.category) = '')"

def _now() -> str:
    return datetime.now().strftime("%Y-%m-%dT%H:%M:%S")


# --- asking the model -------------------------------------------------------------------------------

def suggest_text(db_path: str, text: str, k: int = 3, bundle: Bundle | None = None) -> list[dict]:
    if not (text or "").strip():
        raise UserError("Give some text (a title or description) to categorize.")
    bundle = bundle or load_bundle(db_path)
    return bundle.top(bundle.probabilities([text], [None])[0], k)


def suggest_texts(bundle: Bundle, texts: list[str], embeddings: list | None = None, k: int = 3) -> list[list[dict]]:
    return bundle.suggestions(texts, embeddings or [None] * len(texts), k)


def image_embedding(bundle: Bundle, path: str | Path) -> np.ndarray:
    if bundle.photo is None:
        raise UserError(bundle.meta.get("photo_problem")
                        or "The category model was trained without photos: add labelled product photos and train again.")
    img = load_image(path)
    return bundle.photo.embed(letterbox(img, bundle.photo.size)[None])[0]


def suggest_image(db_path: str, path: str | Path, text: str | None = None, k: int = 3,
                  bundle: Bundle | None = None) -> list[dict]:
    bundle = bundle or load_bundle(db_path)
    emb = image_embedding(bundle, path)
    return bundle.top(bundle.probabilities([text], [emb])[0], k)


def _photo_embeddings(db: sqlite_utils.Database, db_path: str, bundle: Bundle,
                      rows: list[tuple[int, bytes | None, str | None, str | None]]) -> list[np.ndarray | None]:
    """Photo embeddings from ``bundle``'s photo model for rows of (product id, stored embedding, its stamp,
    photo file): the stored one when that model made it, else the photo read again (kept in
    categorize_photos, so a photo that could not be read at the last Train is read once it can be), else None."""
    out: list[np.ndarray | None] = []
    fresh: list[tuple[bytes, str | None, int]] = []
    for product_id, blob, stamp, image_path in rows:
        emb = stored_embedding(blob, stamp, bundle)
        if emb is None and bundle.photo is not None and image_path:
            try:
                emb = image_embedding(bundle, resolve_image(db_path, image_path))
            except UserError:
                emb = None
            else:
                fresh.append((encode_embedding(emb), bundle.stamp, product_id))
        out.append(emb)
    if fresh:
        with transaction(db) as conn:
            conn.executemany("UPDATE categorize_photos SET embedding = ?, model_stamp = ? WHERE product_id = ?", fresh)
    return out


def _photo_row(db: sqlite_utils.Database, db_path: str, bundle: Bundle, product_id: int,
               image_path: str | None) -> tuple[np.ndarray | None, bool]:
    """(the product's photo embedding for ``bundle``, whether it is a draft made from a photo)."""
    row = db.conn.execute("SELECT embedding, model_stamp, draft FROM categorize_photos WHERE product_id = ?",
                          (product_id,)).fetchone()
    blob, stamp, draft = row if row else (None, None, 0)
    return _photo_embeddings(db, db_path, bundle, [(product_id, blob, stamp, image_path)])[0], bool(draft)


def suggest_product(db: sqlite_utils.Database, db_path: str, sku: str, k: int = 3,
                    bundle: Bundle | None = None) -> list[dict]:
    from shopai.store import products

    row = products.get(db, sku=sku)
    if row is None:
        raise UserError(f"No product with SKU {sku}.")
    bundle = bundle or load_bundle(db_path)
    emb, draft = _photo_row(db, db_path, bundle, row["id"], row["image_path"])
    text = None if draft else product_text(row)
    top = bundle.suggestions([text], [emb], k)[0]
    if not top:
        raise UserError(f"{sku}: nothing to suggest a category from ({NOTHING_TO_GO_ON}).")
    return top


# --- the queue --------------------------------------------------------------------------------------

def refresh_suggestions(db: sqlite_utils.Database, db_path: str, bundle: Bundle | None = None,
                        product_ids: list[int] | None = None) -> int:
    """Recompute suggestions for products without a category (all, or the given ones). Returns how many."""
    if bundle is None:
        if not has_model(db_path):
            return 0
        bundle = load_bundle(db_path)
    sql = ("SELECT p.id, p.title, p.description, cp.embedding, coalesce(cp.draft, 0), cp.model_stamp, "
           "CASE WHEN cp.product_id IS NOT NULL THEN p.image_path END FROM products p "
           "LEFT JOIN categorize_photos cp ON cp.product_id = p.id "
           "LEFT JOIN categorize_suggestions s ON s.product_id = p.id "
           f"WHERE {_UNCATEGORISED} AND coalesce(s.status, 'pending') = 'pending'")
    if product_ids is None:
        rows = db.conn.execute(sql).fetchall()
    else:
        rows = [r for chunk, marks in in_chunks(product_ids)
                for r in db.conn.execute(f"{sql} AND p.id IN ({marks})", chunk)]
    if not rows:
        return 0
    texts = [None if r[4] else f"{r[1] or ''} {r[2] or ''}".strip() or None for r in rows]
    tops = bundle.suggestions(texts, _photo_embeddings(db, db_path, bundle, [(r[0], r[3], r[5], r[6]) for r in rows]))
    with transaction(db) as conn:
        _write_suggestions(conn, [(r[0], top) for r, top in zip(rows, tops)], _now())
    return len(rows)


def queue(db: sqlite_utils.Database, status: str = "pending", limit: int | None = None) -> list[dict]:
    """Suggestions waiting for the owner, most confident first, with the product's title and photo."""
    sql = ("SELECT s.product_id, p.sku, p.title, p.image_path, s.suggestions_json, s.top_category, s.confidence, "
           "s.status, coalesce(cp.draft, 0) FROM categorize_suggestions s JOIN products p ON p.id = s.product_id "
           "LEFT JOIN categorize_photos cp ON cp.product_id = p.id WHERE s.status = ? "
           # a product given a category since (in the Catalog, by an import) no longer waits for one
           f"AND (s.status != 'pending' OR {_UNCATEGORISED}) "
           "ORDER BY s.confidence DESC, p.id")
    if limit:
        sql += f" LIMIT {int(limit)}"
    out = []
    for r in db.conn.execute(sql, (status,)):
        out.append({"product_id": r[0], "sku": r[1], "title": r[2], "image_path": r[3],
                    "suggestions": json.loads(r[4]), "category": r[5], "confidence": r[6], "status": r[7],
                    "draft": bool(r[8])})
    return out


def _decide(db: sqlite_utils.Database, items: list[tuple[int, str | None, str]], action: str) -> str:
    at = _now() + f".{time.time_ns() % 1_000_000_000:09d}"
    with transaction(db) as conn:
        for product_id, category, status in items:
            row = conn.execute(
                "SELECT p.category, s.status FROM products p LEFT JOIN categorize_suggestions s "
                "ON s.product_id = p.id WHERE p.id = ?", (product_id,)).fetchone()
            if row is None:
                raise UserError("That product no longer exists.")
            conn.execute(
                "INSERT INTO categorize_decisions (product_id, action, category, previous_category, previous_status, at) "
                "VALUES (?, ?, ?, ?, ?, ?)", (product_id, action, category, row[0], row[1], at))
            if category is not None:
                conn.execute("UPDATE products SET category = ?, updated_at = ? WHERE id = ?",
                             (category, _now(), product_id))
            conn.execute(
                "UPDATE categorize_suggestions SET status = ?, decided_category = ?, decided_at = ? WHERE product_id = ?",
                (status, category, _now(), product_id))
    return at


def accept(db: sqlite_utils.Database, product_id: int) -> str:
    """Take the top suggestion as the product's category."""
    row = db.conn.execute("SELECT top_category FROM categorize_suggestions WHERE product_id = ?", (product_id,)).fetchone()
    if not row or not row[0]:
        raise UserError(f"There is no suggestion for that product ({NOTHING_TO_GO_ON}): type its category instead.")
    _decide(db, [(product_id, row[0], "accepted")], "accept")
    return row[0]


def record_fix(db: sqlite_utils.Database, product_id: int, category: str) -> bool:
    """Set the right category (a label at once). True when it differs from the top suggestion."""
    category = (category or "").strip()
    if not category:
        raise UserError("Choose or type a category.")
    row = db.conn.execute("SELECT top_category FROM categorize_suggestions WHERE product_id = ?", (product_id,)).fetchone()
    status = "accepted" if row and row[0] == category else "fixed"
    _decide(db, [(product_id, category, status)], "fix")
    return status == "fixed"


def fix(db: sqlite_utils.Database, db_path: str, product_id: int, category: str) -> int:
    """Set the right category; the correction is learnt at once. Returns how many suggestions changed."""
    if record_fix(db, product_id, category) and has_model(db_path):
        return learn_correction(db, db_path, product_id, category.strip())
    return 0


def learn_correction(db: sqlite_utils.Database, db_path: str, product_id: int, category: str) -> int:
    """Nudge the saved models towards the product's fix (its latest decision); what it changes is kept
    beside the models so that undoing the fix takes it out again. Returns how many suggestions changed
    (0, learning nothing, when the fix was undone or decided again before it came to be learnt)."""
    last = db.conn.execute("SELECT id, action, category FROM categorize_decisions WHERE product_id = ? "
                           "ORDER BY id DESC LIMIT 1", (product_id,)).fetchone()
    if not last or last[1] != "fix" or last[2] != category:
        return 0
    bundle = load_bundle(db_path)
    from shopai.store import products

    row = products.get(db, product_id=product_id)
    emb, draft = _photo_row(db, db_path, bundle, product_id, row["image_path"])
    text = None if draft else product_text(row)
    before = _learnt_part(bundle, text)
    bundle.learn(text, emb, category)
    folder = _undo_dir(db_path)
    for old in folder.glob("*.npz"):  # made for a model an earlier Train replaced
        if not old.name.startswith(_model_id(bundle) + "-"):
            old.unlink(missing_ok=True)
    np.savez(folder / f"{_model_id(bundle)}-{last[0]}.npz", **before)
    save_bundle(db_path, bundle)
    return refresh_suggestions(db, db_path, bundle)


def _undo_dir(db_path: str) -> Path:
    folder = model_dir(db_path) / "corrections"
    folder.mkdir(exist_ok=True)
    return folder


def _model_id(bundle: Bundle) -> str:
    return str(bundle.meta.get("stamp") or bundle.meta.get("trained_at") or "model").replace(":", "")


def _learnt_part(bundle: Bundle, text: str | None) -> dict[str, np.ndarray]:
    """The parts of the models that learning a correction from ``text`` (and the photo) changes."""
    out = bundle.text.snapshot(text)
    if bundle.photo is not None:
        out.update(bundle.photo.snapshot())
    return out


def unlearn(db: sqlite_utils.Database, db_path: str, decision_ids: list[int]) -> bool:
    """Put back the models as they were before these fixes (their decision ids, newest first) were learnt,
    also after the fixes were undone without ``db_path`` (while a Train ran). False when there was nothing to
    take back (never learnt, or learnt by a model the next Train has replaced)."""
    if not has_model(db_path):
        return False
    bundle = load_bundle(db_path)
    files = [_undo_dir(db_path) / f"{_model_id(bundle)}-{d}.npz" for d in decision_ids]
    files = [f for f in files if f.exists()]
    if not files:
        return False
    for f in files:
        with np.load(f) as z:
            part = {k: z[k] for k in z.files}
        bundle.text.restore(part)
        if bundle.photo is not None and "photo_w" in part:
            bundle.photo.restore(part)
    save_bundle(db_path, bundle)
    for f in files:
        f.unlink(missing_ok=True)
    refresh_suggestions(db, db_path, bundle)
    return True


def skip(db: sqlite_utils.Database, product_id: int) -> None:
    _decide(db, [(product_id, None, "skipped")], "skip")


def batch_accept(db: sqlite_utils.Database, threshold: float) -> int:
    """Accept every pending suggestion at or above ``threshold`` confidence (one undo step), for products
    still without a category (one given elsewhere since is never overwritten)."""
    rows = db.conn.execute(
        "SELECT s.product_id, s.top_category FROM categorize_suggestions s JOIN products p ON p.id = s.product_id "
        "WHERE s.status = 'pending' AND s.confidence >= ? AND s.top_category IS NOT NULL "
        f"AND {_UNCATEGORISED}", (threshold,)).fetchall()
    if rows:  # none: nothing is recorded, so Undo still takes back the decision before
        _decide(db, [(r[0], r[1], "accepted") for r in rows], "batch")
    return len(rows)


def undo(db: sqlite_utils.Database, db_path: str | None = None) -> int:
    """Undo the last decision (a whole batch-accept at once). Returns how many products went back; one whose
    category was changed elsewhere since (the Catalog, an import) keeps that category.
    With ``db_path``, undoing a fix also takes what the models learnt from it back out (and refreshes the
    suggestions), unless a Train has replaced that model since."""
    last = db.conn.execute("SELECT action, at FROM categorize_decisions ORDER BY id DESC LIMIT 1").fetchone()
    if not last:
        raise UserError("Nothing to undo.")
    rows = db.conn.execute(
        "SELECT d.id, d.product_id, d.previous_category, d.previous_status, d.action, "
        "coalesce(d.category, d.previous_category) IS p.category FROM categorize_decisions d "
        "LEFT JOIN products p ON p.id = d.product_id WHERE d.at = ? ORDER BY d.id DESC", (last[1],)).fetchall()
    put_back = 0
    with transaction(db) as conn:
        for did, pid, prev_cat, prev_status, _action, untouched in rows:
            conn.execute("DELETE FROM categorize_decisions WHERE id = ?", (did,))
            if not untouched:  # its category was changed since: the owner's later choice stays
                continue
            put_back += 1
            conn.execute("UPDATE products SET category = ?, updated_at = ? WHERE id = ?", (prev_cat, _now(), pid))
            conn.execute(
                "UPDATE categorize_suggestions SET status = ?, decided_category = NULL, decided_at = NULL "
                "WHERE product_id = ?", (prev_status or "pending", pid))
    fixes = [r[0] for r in rows if r[4] == "fix"]
    if db_path is not None and fixes:
        unlearn(db, db_path, fixes)
    return put_back


def next_undo(db: sqlite_utils.Database) -> list[dict]:
    """What the next :func:`undo` takes back (a whole batch-accept at once), newest first: each decision's
    ``id``, ``product_id``, ``sku``, ``action`` and ``category`` (None for a skip)."""
    last = db.conn.execute("SELECT at FROM categorize_decisions ORDER BY id DESC LIMIT 1").fetchone()
    if not last:
        return []
    rows = db.conn.execute(
        "SELECT d.id, d.product_id, p.sku, d.action, d.category FROM categorize_decisions d "
        "JOIN products p ON p.id = d.product_id WHERE d.at = ? ORDER BY d.id DESC", (last[0],)).fetchall()
    return [dict(zip(("id", "product_id", "sku", "action", "category"), r)) for r in rows]


def can_undo(db: sqlite_utils.Database) -> bool:
    return db.conn.execute("SELECT 1 FROM categorize_decisions LIMIT 1").fetchone() is not None


# --- photos ------------------------------------------------------------------------------------------

_SAFE = re.compile(r"[^\w.-]+", re.UNICODE)


def collect_photos(paths: list[str | Path]) -> tuple[list[Path], list[Path]]:
    """(photos, other files): files given directly, plus the files inside given folders, where hidden files
    and everything inside hidden folders (``.thumbnails/``) are left out and files that are not images
    by name are the other files (named and skipped by the import)."""
    photos: list[Path] = []
    others: list[Path] = []
    seen: set[Path] = set()  # a folder and a file from it dropped together: the file once

    def add(f: Path, to: list[Path]) -> None:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            to.append(f)

    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*"), key=_photo_order):
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts):
                    add(f, photos if is_image_name(f) else others)
        else:
            add(p, photos)
    return photos, others


def _photo_order(f: Path) -> tuple:
    """Folder by folder, a name's words in turn: "G001.jpg" before "G001 3.jpg" and "G001-2.jpg", so the photo
    named by the SKU alone is the one that becomes the product's photo."""
    return (str(f.parent), re.split(r"[ _-]+", f.stem.lower()), f.name)


# a photo goes to a product when its name is the SKU, or the SKU then _, - or a space and a photo number or
# view ("G001-2", "G001_front", "G001 back 2"); anything else ("G001 copy") starts a new draft
_PHOTO_SUFFIX = re.compile(r"[ _-]+(?:\d{1,3}|(?:front|back|side|top|bottom|left|right|detail|main|alt)(?:[ _-]*\d{1,3})?)",
                           re.IGNORECASE)


def _match_product(conn, stem: str) -> tuple[int, str] | None:
    row = conn.execute("SELECT id, sku FROM products WHERE sku = ? COLLATE NOCASE", (stem,)).fetchone()
    if row:
        return row[0], row[1]
    for m in _PHOTO_SUFFIX.finditer(stem):
        if m.end() == len(stem) and m.start() > 0:
            row = conn.execute("SELECT id, sku FROM products WHERE sku = ? COLLATE NOCASE",
                               (stem[:m.start()],)).fetchone()
            if row:
                return row[0], row[1]
    return None


def _draft_from(conn, stem: str) -> tuple[int, str] | None:
    """The draft an earlier import made from a photo of this name ("My photo.jpg" made the draft SKU
    "My-photo"), so that importing the folder again does not make it twice."""
    row = conn.execute("SELECT p.id, p.sku FROM products p JOIN categorize_photos cp ON cp.product_id = p.id "
                       "WHERE cp.draft = 1 AND p.sku = ? COLLATE NOCASE", (_SAFE.sub("-", stem).strip("-"),)).fetchone()
    return (row[0], row[1]) if row else None


def _free_name(folder: Path, base: str, suffix: str, source: Path) -> Path:
    """``base + suffix`` in ``folder``, or ``base-2 + suffix``… when that file is taken (never overwritten)."""
    dest, n = folder / f"{base}{suffix}", 1
    while dest.exists() and dest.resolve() != source.resolve():
        n += 1
        dest = folder / f"{base}-{n}{suffix}"
    return dest


def import_photos_job(db_path: str, paths: list[str | Path]) -> Job[dict]:
    """Import product photos: each is checked, matched to a product by file name/SKU or made a draft product,
    copied into the shop's images folder, hashed (duplicate flag) and embedded; suggestions follow."""
    db = open_store(db_path)
    try:
        files, others = collect_photos(paths)
        if not files:
            named = f" Not photos: {', '.join(f.name for f in others[:5])}" + (
                f" and {len(others) - 5} more." if len(others) > 5 else ".") if others else ""
            raise UserError("No photos found there (jpg, png, webp, gif, bmp or tiff)." + named)
        bundle = load_bundle(db_path) if has_model(db_path) else None
        images_dir = subdir(db_path, "images")
        existing = {pid: int(h, 16) for pid, h in db.conn.execute(
            "SELECT product_id, dhash FROM categorize_photos WHERE dhash IS NOT NULL")}
        accepted: list[dict] = []
        problems = [f"{f.name}: not a photo (jpg, png, webp, gif, bmp or tiff); skipped" for f in others]
        last = time.monotonic()
        for k, f in enumerate(files):
            try:
                img = load_image(f)
            except UserError as exc:
                problems.append(str(exc))
                continue
            emb = None
            if bundle is not None and bundle.photo is not None:
                emb = bundle.photo.embed(letterbox(img, bundle.photo.size)[None])[0]
            accepted.append({"file": f, "hash": dhash(img), "emb": emb})
            if time.monotonic() - last > 0.2:
                last = time.monotonic()
                yield Progress(k + 1, len(files), f"Checking photos ({k + 1} of {len(files)})")
        yield Progress(len(files), len(files), "Saving", commit=True)  # the photos go in now: too late to cancel
        matched = drafts = 0
        duplicates: list[str] = []
        notes: list[str] = []
        new_ids: list[int] = []
        copied: list[Path] = []
        try:
            with transaction(db) as conn:
                for item in accepted:
                    f: Path = item["file"]
                    stem = f.stem.strip()
                    hit = _match_product(conn, stem) or _draft_from(conn, stem)
                    stored = None  # set: the product already has this very photo
                    if hit:
                        current = conn.execute("SELECT image_path FROM products WHERE id = ?", (hit[0],)).fetchone()[0]
                        current_file = resolve_image(db_path, current) if current else None
                        if current_file is not None and current_file.is_file():
                            if filecmp.cmp(f, current_file, shallow=False):
                                stored = current
                            else:  # never replace a product's photo: this one starts a draft
                                notes.append(f"{f.name}: {hit[1]} already has another photo, so this one is a new draft")
                                hit = None
                    draft = 0
                    if hit:
                        pid, sku = hit
                        matched += 1
                    else:
                        sku = _SAFE.sub("-", stem).strip("-") or "photo"
                        base, n = sku, 1
                        while conn.execute("SELECT 1 FROM products WHERE sku = ?", (sku,)).fetchone():
                            n += 1
                            sku = f"{base}-{n}"
                        title = re.sub(r"[_\-]+", " ", stem).strip() or sku
                        # a draft: not offered to customers until the owner makes it active (it has no price)
                        pid = conn.execute("INSERT INTO products (sku, title, title_key, status) "
                                           "VALUES (?, ?, ?, 'draft')", (sku, title, title_key(title))).lastrowid
                        drafts += 1
                        draft = 1
                    if stored is None:
                        dest = _free_name(images_dir, _SAFE.sub("-", sku), f.suffix.lower(), f)
                        if f.resolve() != dest.resolve():
                            copied.append(dest)
                            shutil.copyfile(f, dest)
                        stored = dest.name
                    conn.execute("UPDATE products SET image_path = ? WHERE id = ?", (stored, pid))
                    for other, h in existing.items():
                        if other != pid and hamming(h, item["hash"]) <= DUPLICATE_BITS:
                            osku = conn.execute("SELECT sku FROM products WHERE id = ?", (other,)).fetchone()
                            duplicates.append(f"{f.name} looks like the photo of {osku[0] if osku else other}")
                            break
                    existing[pid] = item["hash"]
                    conn.execute(
                        "INSERT INTO categorize_photos (product_id, image_path, dhash, embedding, model_stamp, draft, "
                        "added_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(product_id) DO UPDATE SET "
                        "image_path = excluded.image_path, dhash = excluded.dhash, embedding = excluded.embedding, "
                        "model_stamp = excluded.model_stamp",
                        (pid, stored, format(item["hash"], "016x"),
                         None if item["emb"] is None else encode_embedding(item["emb"]),
                         None if item["emb"] is None else bundle.stamp, draft, _now()))
                    new_ids.append(pid)
        except BaseException:
            for p in copied:
                p.unlink(missing_ok=True)
            raise
        n_sugg = refresh_suggestions(db, db_path, bundle, new_ids) if bundle is not None else 0
        return {"photos": len(accepted), "matched": matched, "drafts": drafts, "problems": problems,
                "duplicates": duplicates, "notes": notes, "suggestions": n_sugg, "product_ids": new_ids}
    finally:
        db.conn.close()


def similar_products(db: sqlite_utils.Database, product_id: int, k: int = 6) -> list[dict]:
    """Products whose photos look most alike (cosine of the photo model's embeddings; only embeddings made
    by the same photo model as this product's are compared)."""
    mine = db.conn.execute("SELECT model_stamp FROM categorize_photos WHERE product_id = ? AND embedding IS NOT NULL",
                           (product_id,)).fetchone()
    if mine is None:
        raise UserError("That product has no photo the model has seen yet: import it or train again.")
    rows = db.conn.execute(
        "SELECT cp.product_id, p.sku, p.title, cp.embedding FROM categorize_photos cp JOIN products p "
        "ON p.id = cp.product_id WHERE cp.embedding IS NOT NULL AND cp.model_stamp IS ?", (mine[0],)).fetchall()
    vecs = {r[0]: decode_embedding(r[3]) for r in rows}
    ids = [r[0] for r in rows if r[0] != product_id]
    if not ids:
        return []
    mat = np.stack([vecs[i] for i in ids])
    q = vecs[product_id]
    sims = mat @ q / (np.linalg.norm(mat, axis=1) * np.linalg.norm(q) + 1e-9)
    order = np.argsort(-sims)[:k]
    info = {r[0]: r for r in rows}
    return [{"product_id": ids[j], "sku": info[ids[j]][1], "title": info[ids[j]][2], "similarity": round(float(sims[j]), 4)}
            for j in order]


def duplicate_photos(db: sqlite_utils.Database, max_bits: int = DUPLICATE_BITS) -> list[tuple[int, int, int]]:
    """Pairs of products whose photos are near-identical (dHash within ``max_bits`` bits)."""
    rows = [(pid, int(h, 16)) for pid, h in db.conn.execute(
        "SELECT product_id, dhash FROM categorize_photos WHERE dhash IS NOT NULL ORDER BY product_id")]
    out = []
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            d = hamming(rows[i][1], rows[j][1])
            if d <= max_bits:
                out.append((rows[i][0], rows[j][0], d))
    return out


def duplicate_of(db: sqlite_utils.Database, product_id: int, max_bits: int = DUPLICATE_BITS) -> str | None:
    """SKU of another product whose photo is near-identical to this product's, if any."""
    row = db.conn.execute("SELECT dhash FROM categorize_photos WHERE product_id = ?", (product_id,)).fetchone()
    if not row or not row[0]:
        return None
    mine = int(row[0], 16)
    for pid, h, sku in db.conn.execute(
            "SELECT cp.product_id, cp.dhash, p.sku FROM categorize_photos cp JOIN products p ON p.id = cp.product_id "
            "WHERE cp.dhash IS NOT NULL AND cp.product_id != ?", (product_id,)):
        if hamming(mine, int(h, 16)) <= max_bits:
            return sku
    return None

"""``train_job``: learn the shop's categories from its labelled products (text, and photos where present).

A stratified part of the labelled products (20%) is held out: it calibrates the models (temperature
scaling), sets the fusion weights and gives the per-category accuracy the tab shows. Nothing is written
until the end: model files, then embeddings and fresh suggestions in one transaction.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from collections import Counter
from datetime import datetime

import numpy as np

from shopai.categorize.calibrate import ece, fit_fusion, fit_temperature
from shopai.categorize.images import dhash, letterbox, load_image
from shopai.categorize.models import Bundle, save_bundle
from shopai.categorize.photo import DEFAULT_EPOCHS, DEFAULT_SIZE, train_photo
from shopai.categorize import pretrained
from shopai.categorize.text import train_text
from shopai.jobs import Job, Progress, UserError
from shopai.store.db import open_store

MIN_PER_CATEGORY = 2
log = logging.getLogger(__name__)


def product_text(row: dict) -> str:
    return f"{row.get('title') or ''} {row.get('description') or ''}".strip()


def resolve_image(db_path: str, image_path: str | None):
    """A product's image path: absolute, or relative to the shop's images folder."""
    from pathlib import Path

    from shopai.paths import shop_dir

    if not image_path:
        return None
    p = Path(image_path)
    if not p.is_absolute():
        for base in (shop_dir(db_path) / "images", shop_dir(db_path)):
            if (base / p).exists():
                return base / p
        return shop_dir(db_path) / "images" / p
    return p


def check_labels(categories: list[str]) -> tuple[list[str], list[str]]:
    """(usable categories, left-out categories); raises UserError when there is nothing to learn."""
    if not categories:
        raise UserError(
            "No product has a category yet, so there is nothing to learn from. Give a few products in each "
            "category their category (Catalog tab, or import a file with a category column), then train."
        )
    counts = Counter(categories)
    usable = sorted(c for c, n in counts.items() if n >= MIN_PER_CATEGORY)
    left_out = sorted(c for c, n in counts.items() if n < MIN_PER_CATEGORY)
    if len(usable) < 2:
        detail = ""
        if left_out:
            detail = " Only one product has " + ", ".join(f"'{c}'" for c in left_out[:5]) + "."
        only = f" Only '{usable[0]}' has enough products." if usable else ""
        raise UserError(
            "Need at least two categories with at least two labelled products each to learn the difference."
            + only + detail
        )
    return usable, left_out


def labelled_counts(conn) -> tuple[int, int]:
    """(products Train would learn from, their categories): only categories with enough products count."""
    counts = conn.execute(
        "SELECT trim(category), count(*) FROM products WHERE trim(coalesce(category, '')) <> '' "
        "GROUP BY trim(category)").fetchall()
    usable = [n for _c, n in counts if n >= MIN_PER_CATEGORY]
    return sum(usable), len(usable)


HOLDOUT = 0.2  # share of each category held out to calibrate, fuse and measure


def split_holdout(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of held-out items: about ``fraction`` of each category that has 3 or more items."""
    rng = np.random.default_rng(seed)
    held = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        if len(idx) >= 3:
            k = max(1, int(round(fraction * len(idx))))
            held[rng.choice(idx, size=k, replace=False)] = True
    return held


def encode_embedding(vec: np.ndarray) -> bytes:
    return np.asarray(vec, dtype=np.float16).tobytes()


def decode_embedding(blob: bytes | None) -> np.ndarray | None:
    if not blob:
        return None
    return np.frombuffer(blob, dtype=np.float16).astype(np.float32)


NOTHING_TO_GO_ON = "no title and no photo that can be read"  # why an item gets no suggestion


def stored_embedding(blob: bytes | None, stamp: str | None, bundle: Bundle) -> np.ndarray | None:
    """A stored photo embedding when ``bundle``'s photo model made it (same stamp), else None."""
    if blob is None or bundle.stamp is None or stamp != bundle.stamp:
        return None
    return decode_embedding(blob)


def train_job(db_path: str, *, holdout: float = HOLDOUT, text_epochs: int = 6, photo_epochs: int = DEFAULT_EPOCHS,
              photo_seconds: float = 600.0, photos: bool = True, seed: int = 0, threads: int = 2,
              backbone: bool = True, **_ignored) -> Job[dict]:
    """Train on the shop's labelled products; with ``backbone`` (default) the photo model is a head on the
    pretrained backbone when that is on this computer (:mod:`shopai.categorize.pretrained`), else the CNN
    trained from scratch. Returns a summary for the owner."""
    started = time.monotonic()
    db = open_store(db_path)
    try:
        yield Progress(0, 100, "Reading labelled products")
        cur = db.conn.execute(
            "SELECT p.id, p.sku, p.title, p.description, p.category, p.image_path, coalesce(cp.draft, 0) "
            "FROM products p LEFT JOIN categorize_photos cp ON cp.product_id = p.id ORDER BY p.id"
        )
        rows = [dict(zip(("id", "sku", "title", "description", "category", "image_path", "draft"), r)) for r in cur]
        labelled = [r for r in rows if r["category"] and r["category"].strip()]
        usable, left_out = check_labels([r["category"].strip() for r in labelled])
        labelled = [r for r in labelled if r["category"].strip() in usable]
        classes = usable
        cidx = {c: i for i, c in enumerate(classes)}
        y = np.array([cidx[r["category"].strip()] for r in labelled])
        held = split_holdout(y, holdout, seed)
        texts = [product_text(r) if not r["draft"] else "" for r in labelled]

        # text
        tr = np.flatnonzero(~held & np.array([bool(t) for t in texts]))
        if len(set(y[tr])) < 2:
            raise UserError("The labelled products have no titles to learn from.")
        text_model = yield from _scaled(train_text([texts[i] for i in tr], y[tr], classes, epochs=text_epochs,
                                                   seed=seed), 2, 20)
        ho = np.flatnonzero(held)
        ho_text = [i for i in ho if texts[i]]
        t_logits = text_model.logits([texts[i] for i in ho_text]) if ho_text else np.zeros((0, len(classes)))
        text_model.temperature = fit_temperature(t_logits, y[ho_text]) if ho_text else 1.0
        t_logits = t_logits / text_model.temperature

        # photos (all products with one: labelled ones train, the rest get embeddings)
        problems: list[str] = []
        arrays: dict[int, np.ndarray] = {}  # letterboxed photos for the CNN trained from scratch
        all_emb: dict[int, np.ndarray] = {}  # photo embeddings (the backbone's at once, the CNN's after training)
        hashes: dict[int, int] = {}
        with_photo = [r for r in rows if r["image_path"]] if photos else []
        use_backbone, backbone_note = _backbone_state() if with_photo and backbone else (False, None)
        pending: list[tuple[int, np.ndarray]] = []  # photos waiting to go through the backbone together

        def embed_pending() -> None:
            ids, batch = zip(*pending)
            all_emb.update(zip(ids, pretrained.features(np.stack(batch))))
            pending.clear()

        last = time.monotonic()
        for k, r in enumerate(with_photo):
            path = resolve_image(db_path, r["image_path"])
            try:
                img = load_image(path)
            except UserError as exc:
                named = path.stem == r["sku"]  # the message starts with the file's name
                problems.append(str(exc) if named else f"{r['sku']}: {exc}")
                continue
            if use_backbone:
                pending.append((r["id"], letterbox(img, pretrained.SIZE)))
                if len(pending) >= 32:
                    embed_pending()
            else:
                arrays[r["id"]] = letterbox(img, DEFAULT_SIZE)
            hashes[r["id"]] = dhash(img)
            if time.monotonic() - last > 0.2:
                last = time.monotonic()
                how = " through the pretrained model" if use_backbone else ""
                yield Progress(20 + 10 * k / max(1, len(with_photo)), 100,
                               f"Reading photos{how} ({k + 1} of {len(with_photo)})")
        if pending:
            embed_pending()
        photo_model = None
        ph_tr = [i for i in np.flatnonzero(~held) if labelled[i]["id"] in hashes]
        ph_ho = [i for i in ho if labelled[i]["id"] in hashes]
        photo_note = "no photos"
        fusion = (1.0, 1.0)
        photo_acc = None  # the photo model alone on the held-out photos (what a photo-only draft gets)
        if ph_tr and len(Counter(y[ph_tr]).keys()) >= 2 and min(Counter(y[ph_tr]).values()) >= 1:
            if use_backbone:
                photo_model = yield from _scaled(
                    pretrained.fit_head(np.stack([all_emb[labelled[i]["id"]] for i in ph_tr]), y[ph_tr], classes),
                    30, 90)
                photo_note = f"{len(ph_tr)} photos, pretrained MobileNetV3-small"
            else:
                photo_model = yield from _scaled(
                    train_photo(np.stack([arrays[labelled[i]["id"]] for i in ph_tr]), y[ph_tr], classes,
                                epochs=photo_epochs, max_seconds=photo_seconds, seed=seed, threads=threads),
                    30, 90)
                photo_note = f"{len(ph_tr)} photos, {photo_model.info.get('epochs')} passes"
                ids = list(arrays)
                all_emb = dict(zip(ids, photo_model.embed(np.stack([arrays[i] for i in ids]))))
            if ph_ho:
                p_logits = photo_model.head_logits(np.stack([all_emb[labelled[i]["id"]] for i in ph_ho]))
                photo_model.temperature = fit_temperature(p_logits, y[ph_ho])
                photo_acc = float((p_logits.argmax(1) == y[ph_ho]).mean())
                both = [i for i in ph_ho if texts[i]]
                if both:
                    tl = text_model.logits([texts[i] for i in both])
                    pl = photo_model.head_logits(np.stack([all_emb[labelled[i]["id"]] for i in both]))
                    fusion = fit_fusion(tl, pl, y[both])
        elif photos and with_photo:
            photo_note = "too few labelled photos to learn from"
        if photo_model is None:
            all_emb = {}

        bundle = Bundle(text=text_model, photo=photo_model, fusion=fusion)
        yield Progress(92, 100, "Measuring on held-out products")
        # held-out evaluation with everything each product has
        per_cat: dict[str, dict] = {c: {"n": 0, "correct": 0} for c in classes}
        acc = ece_value = None
        if len(ho):
            probs = bundle.probabilities([texts[i] or None for i in ho], [all_emb.get(labelled[i]["id"]) for i in ho])
            pred = probs.argmax(1)
            for i, p in zip(ho, pred):
                c = classes[y[i]]
                per_cat[c]["n"] += 1
                per_cat[c]["correct"] += int(p == y[i])
            acc = float((pred == y[ho]).mean())
            ece_value = ece(probs, y[ho])
        for c in classes:
            per_cat[c]["train"] = int(((~held) & (y == classes.index(c))).sum())
        bundle.meta = {
            "trained_at": datetime.now().strftime("%Y-%m-%dT%H:%M:%S"),
            "stamp": uuid.uuid4().hex,  # carried by each photo embedding this photo model makes
            "classes": classes,
            "left_out": left_out,
            "per_category": per_cat,
            "holdout_accuracy": acc,
            "holdout_ece": ece_value,
            "holdout_photo_accuracy": photo_acc,
            "holdout_photos": len(ph_ho) if photo_acc is not None else 0,
            "labelled": len(labelled),
            "photos": photo_note,
        }

        # suggestions for products without a category
        unl = [r for r in rows if not (r["category"] and r["category"].strip())]
        sugg = []
        if unl:
            tops = bundle.suggestions([None if r["draft"] else product_text(r) or None for r in unl],
                                      [all_emb.get(r["id"]) for r in unl])
            sugg = list(zip([r["id"] for r in unl], tops))
        yield Progress(97, 100, "Saving", commit=True)  # from here on the model lands: too late to cancel
        save_bundle(db_path, bundle)
        now = datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
        from shopai.store.db import transaction

        with transaction(db) as conn:
            for pid in hashes:
                emb = all_emb.get(pid)
                conn.execute(
                    "INSERT INTO categorize_photos (product_id, image_path, dhash, embedding, model_stamp, added_at) "
                    "SELECT id, image_path, ?, ?, ?, ? FROM products WHERE id = ? "
                    "ON CONFLICT(product_id) DO UPDATE SET dhash = excluded.dhash, embedding = excluded.embedding, "
                    "model_stamp = excluded.model_stamp",
                    (format(hashes[pid], "016x"), None if emb is None else encode_embedding(emb),
                     None if emb is None else bundle.stamp, now, pid),
                )
            # a photo this Train could not read keeps its hash, not an older photo model's embedding
            conn.execute("UPDATE categorize_photos SET embedding = NULL, model_stamp = NULL "
                         "WHERE model_stamp IS NOT ?", (bundle.stamp,))
            _write_suggestions(conn, sugg, now)
        summary = {
            "categories": len(classes),
            "labelled products": len(labelled),
            "held-out accuracy": None if acc is None else round(acc, 4),
            "held-out ECE": None if ece_value is None else round(ece_value, 4),
            "photos": photo_note,
            "held-out photo-only accuracy": None if photo_acc is None else round(photo_acc, 4),
            "suggestions": len(sugg),
            "seconds": round(time.monotonic() - started, 1),
        }
        if left_out:
            summary["left out (one product only)"] = ", ".join(left_out)
        if backbone_note:
            summary["pretrained photo model"] = backbone_note
        if problems:
            summary["photos skipped"] = len(problems)
            summary["problems"] = problems[:20]
        return summary
    finally:
        db.conn.close()


def _backbone_state() -> tuple[bool, str | None]:
    """(use it, note for the summary): whether the pretrained backbone is here and loads; no note when it was
    never downloaded."""
    path = pretrained.find_backbone()
    if path is None:
        return False, None
    try:
        pretrained.load_backbone(path)
    except pretrained.BackboneUnavailable as exc:
        log.warning("pretrained backbone not used: %s", exc)
        return False, f"not used: {exc}"
    return True, f"used ({path})"


def _write_suggestions(conn, sugg: list[tuple[int, list[dict]]], now: str) -> None:
    """Upsert pending suggestions; products already accepted or fixed keep their decision, skipped ones come
    back to the queue (only Train passes them: a refresh after a correction gives pending ones only). A product
    deleted meanwhile (the owner may delete while Train runs) gets none."""
    for pid, top in sugg:
        conn.execute(
            "INSERT INTO categorize_suggestions (product_id, suggestions_json, top_category, confidence, status, "
            "created_at) SELECT id, ?, ?, ?, 'pending', ? FROM products WHERE id = ? "
            "ON CONFLICT(product_id) DO UPDATE SET suggestions_json = excluded.suggestions_json, "
            "top_category = excluded.top_category, "
            "confidence = excluded.confidence, created_at = excluded.created_at, status = 'pending' "
            "WHERE categorize_suggestions.status IN ('pending', 'skipped')",
            (json.dumps(top, ensure_ascii=False), top[0]["category"] if top else None,
             top[0]["confidence"] if top else None, now, pid),
        )


def _scaled(job, lo: float, hi: float):
    """Re-yield a sub-job's progress mapped into [lo, hi] of 100; returns its result."""
    try:
        while True:
            p = next(job)
            frac = p.fraction or 0.0
            yield Progress(lo + (hi - lo) * frac, 100, p.message)
    except StopIteration as stop:
        return stop.value

"""The trained categorizer as one bundle: text model, photo model (optional), fusion weights, metadata.

Files under ``<shop>/models/``: ``categorize_text.npz``, ``categorize_photo.pt`` + ``.json``,
``categorize.json``. Predictions are calibrated probabilities over the shop's categories.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from shopai.categorize.calibrate import fuse_logits, softmax
from shopai.categorize.photo import PhotoModel
from shopai.categorize.pretrained import BackboneUnavailable
from shopai.categorize.text import TextModel
from shopai.jobs import UserError
from shopai.paths import new_file_name, remove_files_except, subdir

log = logging.getLogger(__name__)

FORMAT = 1
META = "categorize.json"
TEXT = "categorize_text.npz"
PHOTO = "categorize_photo.pt"


@dataclass
class Bundle:
    text: TextModel
    photo: PhotoModel | None = None
    fusion: tuple[float, float] = (1.0, 1.0)
    meta: dict = field(default_factory=dict)

    @property
    def classes(self) -> list[str]:
        return self.text.classes

    @property
    def stamp(self) -> str | None:
        """Names this training's photo model; a stored photo embedding is this model's when it carries it."""
        return self.meta.get("stamp") if self.photo is not None else None

    def ensure_class(self, category: str) -> None:
        """Add a category the models have not seen (a correction to a new category)."""
        if category not in self.text.classes:
            self.text.classes.append(category)
            self.text.weight = np.concatenate(
                [self.text.weight, np.zeros((self.text.weight.shape[0], 1), np.float32)], axis=1)
            self.text.bias = np.append(self.text.bias, np.float32(self.text.bias.min()))
        if self.photo is not None and category not in self.photo.classes:
            import torch

            w = self.photo.state["head.weight"].numpy()
            b = self.photo.state["head.bias"].numpy()
            self.photo.state["head.weight"] = torch.from_numpy(np.concatenate([w, np.zeros((1, w.shape[1]), np.float32)]))
            self.photo.state["head.bias"] = torch.from_numpy(np.append(b, np.float32(b.min())))
            self.photo.classes.append(category)
            self.photo._net = None

    def _photo_logits(self, emb: np.ndarray) -> np.ndarray:
        """Photo logits reordered to the text model's class order."""
        raw = self.photo.head_logits(emb)
        out = np.full((len(emb), len(self.classes)), raw.min() - 5.0 if raw.size else 0.0, dtype=np.float64)
        for j, c in enumerate(self.photo.classes):
            if c in self.classes:
                out[:, self.classes.index(c)] = raw[:, j]
        return out

    def probabilities(self, texts: list[str | None], embeddings: list[np.ndarray | None]) -> np.ndarray:
        """Calibrated probabilities [n, classes]; each item uses what it has (text, photo or both)."""
        n = len(texts)
        out = np.zeros((n, len(self.classes)))
        t_idx = [i for i in range(n) if texts[i] and texts[i].strip()]
        p_idx = [i for i in range(n) if embeddings[i] is not None]
        if p_idx and self.photo is None:
            raise ValueError("photo embeddings given to a bundle without a photo model")
        dims = self.photo.state["head.weight"].shape[1] if p_idx else None
        if any(len(embeddings[i]) != dims for i in p_idx):  # callers keep only this model's (see Bundle.stamp)
            raise ValueError(f"a photo embedding from another photo model (this one takes {dims} features)")
        t_log = dict(zip(t_idx, self.text.logits([texts[i] for i in t_idx]))) if t_idx else {}
        p_log = dict(zip(p_idx, self._photo_logits(np.stack([embeddings[i] for i in p_idx])))) if p_idx else {}
        for i in range(n):
            tl, pl = t_log.get(i), p_log.get(i)
            if tl is not None and pl is not None:
                z = fuse_logits(tl[None], pl[None], self.fusion)
            elif tl is not None:
                z = tl[None]
            elif pl is not None:
                z = pl[None]
            else:
                out[i] = 1.0 / len(self.classes)
                continue
            out[i] = softmax(z)[0]
        return out

    def top(self, probs: np.ndarray, k: int = 3) -> list[dict]:
        order = np.argsort(-probs)[:k]
        return [{"category": self.classes[j], "confidence": round(float(probs[j]), 4)} for j in order]

    def suggestions(self, texts: list[str | None], embeddings: list[np.ndarray | None], k: int = 3) -> list[list[dict]]:
        """The top ``k`` categories for each item, best first; none for an item with neither text nor photo
        (its probabilities would be uniform, and a category picked from a tie is not a suggestion)."""
        probs = self.probabilities(texts, embeddings)
        return [self.top(p, k) if (t and t.strip()) or e is not None else []
                for t, e, p in zip(texts, embeddings, probs)]

    def learn(self, text: str | None, emb: np.ndarray | None, category: str) -> None:
        """Take a correction into account at once (before the next full training)."""
        self.ensure_class(category)
        if text and text.strip():
            self.text.learn_one(text, category)
        if emb is not None and self.photo is not None:
            self.photo.learn_one(emb, category)


def model_dir(db_path: str) -> Path:
    return subdir(db_path, "models")


def save_bundle(db_path: str, bundle: Bundle) -> None:
    """Save the models as one whole: the text and photo models go to files of their own (new names each time),
    then ``categorize.json``, which names them, is replaced in one step. Stopped anywhere before that (a
    cancelled Train ended, the computer off), the shop keeps the models it had, whole. The files of the
    bundle before are kept too (a reader may have just read the old ``categorize.json``); older ones go."""
    folder = model_dir(db_path)
    before = _bundle_files(folder)
    text_file, photo_file = new_file_name("categorize_text", ".npz"), new_file_name("categorize_photo", ".pt")
    bundle.text.save(folder / text_file)
    if bundle.photo is not None:
        bundle.photo.save(folder / photo_file)
    meta = dict(bundle.meta, format=FORMAT, fusion=list(bundle.fusion), has_photo=bundle.photo is not None,
                text_temperature=bundle.text.temperature, text_file=text_file,
                photo_file=photo_file if bundle.photo is not None else None)
    tmp = folder / (META + ".tmp")
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), "utf-8")
    os.replace(tmp, folder / META)
    remove_files_except(folder, ("categorize_text*.npz", "categorize_photo*.pt", "categorize_photo*.json"),
                        before | _bundle_files(folder))


def _bundle_files(folder: Path) -> set[str]:
    """The model files ``categorize.json`` names now (none when there is none, or it cannot be read)."""
    try:
        meta = json.loads((folder / META).read_text("utf-8"))
    except (OSError, ValueError):
        return set()
    text = meta.get("text_file") or TEXT  # bundles saved before the files had names of their own
    photo = (meta.get("photo_file") or PHOTO) if meta.get("has_photo") else None
    names = {text}
    if photo:
        names |= {photo, str(Path(photo).with_suffix(".json"))}
    return names


def has_model(db_path: str) -> bool:
    return (model_dir(db_path) / META).exists()


def load_bundle(db_path: str) -> Bundle:
    folder = model_dir(db_path)
    if not (folder / META).exists():
        raise UserError("No category model yet: train it first (Train button, or `shopai-cli train categorize`).")
    try:
        meta = json.loads((folder / META).read_text("utf-8"))
    except (OSError, ValueError):
        raise UserError("The saved category model is damaged: train categorize again.") from None
    if meta.get("format") != FORMAT:
        raise UserError("The saved category model is from another ShopAI version: train categorize again.")
    text = TextModel.load(folder / (meta.get("text_file") or TEXT))
    text.temperature = float(meta.get("text_temperature", text.temperature))
    photo = None
    if meta.get("has_photo"):
        try:
            photo = PhotoModel.load(folder / (meta.get("photo_file") or PHOTO))
        except BackboneUnavailable as exc:  # the pretrained backbone went: text still works, photos say why
            log.warning("photo model not loaded: %s", exc)
            meta = dict(meta, photo_problem=str(exc))
    return Bundle(text=text, photo=photo, fusion=tuple(meta.get("fusion", (1.0, 1.0))), meta=meta)

"""What an undo made while Train runs means for the category models.

Train reads every product's category as it starts and makes a new model from them; the model in use stays
until it ends (and stays for good if Train is cancelled or fails). So an undo while Train runs:

- takes a fix the model in use had learnt back out of it when Train ends, if that model is still the one in
  use (Train cancelled or failed);
- cannot take a category Train had already read out of the model Train makes: those products are named, and
  the next Train leaves them out. What the new model still knows is kept in the shop's settings, so that it is
  still said after a restart.
"""
from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from shopai.jobs import Progress
from shopai.store.db import in_chunks

KNOWS_UNDONE_KEY = "categorize.learnt_undone"  # the model Train made from categories undone while it ran


def stamp_of(meta: dict[str, Any]) -> str | None:
    """Which training a saved model's description is from."""
    return str(meta.get("stamp") or meta.get("trained_at") or "") or None


def model_stamp(db_path: str) -> str | None:
    """Which model is saved now (None: none, or one that cannot be read)."""
    from shopai.categorize.models import META, model_dir

    try:
        return stamp_of(json.loads((model_dir(db_path) / META).read_text("utf-8")))
    except (OSError, ValueError, AttributeError):
        return None


class UndoDuringTrain:
    """The bookkeeping of one shop's undos while its Train runs: call :meth:`started`, :meth:`progressed` with
    Train's progress, :meth:`undone` with what each undo took back, and :meth:`ended` once Train is over."""

    def __init__(self, db: sqlite_utils.Database, db_path: str) -> None:
        self.db, self.db_path = db, db_path
        # the decisions there were once Train had read the labels (None: it may not have yet), fixes undone
        # meanwhile, and categories undone that Train had read (product id, SKU, category)
        self.labels_read: set[int] | None = None
        self.unlearn_later: list[int] = []
        self.read_then_undone: list[tuple[int, str, str]] = []
        self.model_before: str | None = None  # the model in use when Train started
        # the model (its stamp) Train made from categories undone while it ran, and those categories
        self.knows_undone: tuple[str | None, list[tuple[int, str, str]]] = self._load()

    def started(self) -> None:
        self.labels_read, self.unlearn_later, self.read_then_undone = None, [], []
        self.model_before = model_stamp(self.db_path)

    def progressed(self, progress: Progress) -> None:
        """Note which decisions there were once Train had read the labels: train_job reads them all before its
        first step above 0, so a category decided after that is not in its model."""
        if self.labels_read is None and progress.fraction:
            self.labels_read = {r[0] for r in self.db.conn.execute("SELECT id FROM categorize_decisions")}

    def undone(self, taken: list[dict]) -> tuple[list[dict], bool]:
        """An undo while Train runs took back ``taken`` (``review.next_undo``'s decisions). Returns those whose
        category Train has read (or may have: the bool is whether surely) and its model will learn anyway."""
        # a fix the model in use had learnt comes out of it when Train ends, if Train leaves that model in place
        self.unlearn_later += [d["id"] for d in taken if d["action"] == "fix"]
        surely = self.labels_read is not None
        read = [d for d in taken if d["category"] is not None and (not surely or d["id"] in self.labels_read)]
        if self.labels_read is not None:  # gone: a decision made from now on may be given the same id
            self.labels_read -= {d["id"] for d in taken}
        self.read_then_undone += [(d["product_id"], d["sku"], d["category"]) for d in read]
        return read, surely

    def ended(self) -> bool:
        """After Train (done, failed or cancelled): what was undone while it ran comes out of the model in use
        where it can; a new model that learnt undone categories is remembered (see :meth:`still_known`).
        True when suggestions or the model changed."""
        from shopai.categorize import review

        changed = False
        stamp = model_stamp(self.db_path)
        if stamp != self.model_before:  # a new model, from the labels as they were when Train read them
            self.knows_undone = (stamp, self.read_then_undone)
            self._save()
            ids = [pid for pid, _sku, _cat in self.read_then_undone]
            if ids:  # Train gave them no suggestions (they had a category then): the new model's now
                changed = review.refresh_suggestions(self.db, self.db_path, product_ids=ids) > 0
        elif self.unlearn_later:  # the model before is still in use: the fixes undone come out of it now
            changed = review.unlearn(self.db, self.db_path, self.unlearn_later)
        self.labels_read, self.unlearn_later, self.read_then_undone = None, [], []
        return changed

    def still_known(self, stamp: str | None = None) -> list[str]:
        """SKUs whose category, undone while Train ran, the model ``stamp`` (default: the saved one) learnt all
        the same (one decided again with that category since is no longer named)."""
        stamp = model_stamp(self.db_path) if stamp is None else stamp
        model, items = self.knows_undone
        if not items or stamp is None or stamp != model:
            return []
        now = {pid: cat for chunk, marks in in_chunks(pid for pid, _sku, _cat in items)
               for pid, cat in self.db.conn.execute(f"SELECT id, category FROM products WHERE id IN ({marks})", chunk)}
        return [sku for pid, sku, cat in items if (now.get(pid) or "").strip() != cat]

    def _load(self) -> tuple[str | None, list[tuple[int, str, str]]]:
        row = self.db.conn.execute("SELECT value FROM settings WHERE key = ?", (KNOWS_UNDONE_KEY,)).fetchone()
        try:
            data = json.loads(row[0]) if row else {}
            return data.get("stamp"), [(int(p), str(s), str(c)) for p, s, c in data.get("items", [])]
        except (ValueError, TypeError):
            return None, []

    def _save(self) -> None:
        stamp, items = self.knows_undone
        with self.db.conn:
            self.db.conn.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (KNOWS_UNDONE_KEY, json.dumps({"stamp": stamp, "items": [list(i) for i in items]})))

"""What the Auto-categorize tab says about its model, a Train and a photo import: plain sentences built
from the core's summaries, kept apart from the widgets."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication

from shopai_ui.widgets.sql_table import fmt_datetime
from shopai_ui.widgets.wording import count


def _tr(text: str) -> str:
    return QCoreApplication.translate("CategorizeTab", text)


def no_model_line(products: int, categories: int) -> str:
    """The model line before any Train: what Train would learn from, or what it still needs."""
    if categories >= 2:
        return _tr("No model yet: press Train to learn from the {0:,} products in {1} categories.").format(
            products, categories)
    return _tr("No model yet: give products in at least two categories their category, then Train.")


def model_line(meta: dict[str, Any]) -> str:
    """One line on the saved model: when, how many categories, how often right on held-out products."""
    acc = meta.get("holdout_accuracy")
    acc_text = "—" if acc is None else f"{acc * 100:.0f}%"
    if meta.get("holdout_photo_accuracy") is not None:  # what a draft with only a photo can expect
        acc_text += " " + _tr("(photo alone: {0} of {1} held-out photos)").format(
            f"{meta['holdout_photo_accuracy'] * 100:.0f}%", meta.get("holdout_photos", "?"))
    return _tr("Model of {0}: {1} categories, {2} right on held-out products; photos: {3}").format(
        fmt_datetime(meta.get("trained_at")) or "?", len(meta.get("classes", [])), acc_text,
        meta.get("photos", "—"))


def trained_message(summary: dict[str, Any]) -> tuple[str, bool]:
    """(what Train did, whether something is left for the owner to put right)."""
    text = _tr("Trained on {0} products in {1} categories.").format(
        summary.get("labelled products"), summary.get("categories"))
    acc = summary.get("held-out accuracy")
    if acc is not None:
        text += " " + _tr("Right on {0}% of held-out products.").format(f"{acc * 100:.0f}")
    if summary.get("left out (one product only)"):
        text += " " + _tr("Left out (only one product): {0}.").format(summary["left out (one product only)"])
    to_fix = []  # what the owner can put right before the next Train
    backbone = summary.get("pretrained photo model") or ""
    if backbone.startswith("not used"):
        to_fix.append(_tr("The pretrained photo model was {0}").format(backbone.rstrip(".") + "."))
    if summary.get("photos skipped"):
        problems = summary.get("problems") or []
        more = summary["photos skipped"] - min(3, len(problems))
        to_fix.append(_tr("Photos left out, as they could not be read: {0}").format(" ".join(problems[:3]))
                      + (" " + _tr("(and {0} more)").format(more) if more > 0 else ""))
    return " ".join([text, *to_fix]), bool(to_fix)


def _skus(skus: list[str], shown: int = 3) -> str:
    more = (" " + _tr("(and {0} more)").format(len(skus) - shown)) if len(skus) > shown else ""
    return ", ".join(skus[:shown]) + more


def read_by_train(skus: list[str], surely: bool) -> str:
    """Said when an undo while Train runs takes back categories Train has (``surely``) or may have read
    already: the model it is making learns them, and only another Train leaves them out."""
    one = len(skus) == 1
    if surely:
        text = (_tr("Train had already read the category of {0}, so the model it is making learns it anyway: "
                    "when Train has finished, press Train again to leave it out.") if one else
                _tr("Train had already read the categories of {0}, so the model it is making learns them anyway: "
                    "when Train has finished, press Train again to leave them out."))
    else:
        text = (_tr("Train may already have read the category of {0}, so the model it is making may learn it: "
                    "when Train has finished, press Train again to be sure it is left out.") if one else
                _tr("Train may already have read the categories of {0}, so the model it is making may learn them: "
                    "when Train has finished, press Train again to be sure they are left out."))
    return text.format(_skus(skus))


def still_learnt(skus: list[str]) -> str:
    """Said of a model Train made from categories undone while it ran (after the model line and a Train)."""
    return (_tr("This model has still learnt the category of {0}, undone while Train ran: press Train again to "
                "leave it out.") if len(skus) == 1 else
            _tr("This model has still learnt the categories of {0}, undone while Train ran: press Train again to "
                "leave them out.")).format(_skus(skus))


def imported_message(result: dict[str, Any], shown: int = 8) -> tuple[str, bool]:
    """(what a photo import did, whether some files need a look), naming the first ``shown`` problems."""
    text = "{0}: {1}, {2}.".format(
        count(result["photos"], _tr("1 photo"), _tr("{0:,} photos")),
        count(result["matched"], _tr("1 matched to a product"), _tr("{0:,} matched to products")),
        count(result["drafts"], _tr("1 new draft product"), _tr("{0:,} new draft products")))
    details = result["problems"] + result.get("notes", []) + result["duplicates"]
    if not details:
        return text, False
    more = (" " + _tr("(and {0} more)").format(len(details) - shown)) if len(details) > shown else ""
    listed = "; ".join(d.rstrip(".") for d in details[:shown])  # "format).;" read badly
    return text + " " + _tr("Look at:") + " " + listed + "." + more, True


def backbone_question(size_mb: float, licence: str) -> str:
    """The question asked before downloading the optional pretrained photo model."""
    return _tr("Download a pretrained photo model (MobileNetV3-small, about {0} MB) from download.pytorch.org?\n\n"
               "It has learned from over a million pictures, so it tells your products apart from fewer labelled "
               "photos. Only the model file is downloaded; nothing about your shop is sent. Licence: {1}.\n\n"
               "The next Train uses it.").format(f"{size_mb:.0f}", licence)

"""The right-hand panel of the Auto-categorize tab: the selected product and what to do with it.

It shows the product's photo and title, its three suggestions as buttons, Accept/Skip, the Fix box (the
shop's categories first, then taxonomy names, offered as one types), similar-looking products and the
model's accuracy per category on held-out products. It only displays: the tab connects the buttons and keys
to its decisions and says which row to show.
"""
from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QSize, QStringListModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QCompleter, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QPushButton,
    QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from shopai.jobs import UserError
from shopai_ui.context import ShopContext
from shopai_ui.widgets.photo import read_scaled
from shopai_ui.widgets.tables import filling
from shopai_ui.widgets.wording import chance

BIG = QSize(200, 200)


def _tr(text: str) -> str:
    return QCoreApplication.translate("CategorizeTab", text)  # the tab's words, under the tab's name


class SuggestionDetail(QWidget):
    """Photo, title, the three suggestion buttons, Accept/Skip, the Fix box, similar products and the
    per-category accuracy table for the product selected in the review queue."""

    def __init__(self, ctx: ShopContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.cats: list[str] = []  # the shop's categories, offered first in the Fix box
        self.photo = QLabel()
        self.photo.setFixedSize(BIG)
        self.photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.photo.setStyleSheet("background: palette(base); border: 1px solid palette(mid);")
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.choice_buttons = [QPushButton() for _ in range(3)]
        self.accept_button = QPushButton(_tr("&Accept (Enter)"))
        self.skip_button = QPushButton(_tr("&Skip (S)"))
        self.fix_box = QComboBox()
        self.fix_box.setEditable(True)
        self.fix_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.fix_box.lineEdit().setPlaceholderText(_tr("Right category… (F)"))
        self.fix_box.setToolTip(_tr("The shop's categories first, then Shopify taxonomy names in the language you "
                                    "type (English or Chinese); a new category is created only once you confirm it"))
        self.offer_model = QStringListModel(self)
        completer = QCompleter(self.offer_model, self.fix_box)
        completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.fix_box.setCompleter(completer)
        self.fix_box.lineEdit().textEdited.connect(self._offer)
        self.fix_button = QPushButton(_tr("Fi&x"))
        self.similar = QLabel()
        self.similar.setWordWrap(True)
        detail = QVBoxLayout(self)
        detail.addWidget(self.photo, 0, Qt.AlignmentFlag.AlignHCenter)
        detail.addWidget(self.title)
        for i, b in enumerate(self.choice_buttons):
            b.setToolTip(_tr("Key %1").replace("%1", str(i + 1)))
            detail.addWidget(b)
        row = QHBoxLayout()
        row.addWidget(self.accept_button)
        row.addWidget(self.skip_button)
        detail.addLayout(row)
        fix_row = QHBoxLayout()
        fix_row.addWidget(self.fix_box, 1)
        fix_row.addWidget(self.fix_button)
        detail.addLayout(fix_row)
        detail.addWidget(self.similar)
        self.accuracy = QTableWidget(0, 3)
        self.accuracy.setHorizontalHeaderLabels([_tr("Category"), _tr("Held-out"), _tr("Right")])
        self.accuracy.verticalHeader().hide()
        self.accuracy.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.accuracy.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in (1, 2):  # the numbers take what they need; the category names get the rest
            self.accuracy.horizontalHeader().setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        acc_box = QGroupBox(_tr("Accuracy on held-out products"))
        acc_layout = QVBoxLayout(acc_box)
        acc_layout.addWidget(self.accuracy)
        detail.addWidget(acc_box, 1)

    # --- the Fix box ------------------------------------------------------------------------------
    def set_categories(self, cats: list[str]) -> None:
        """Offer the shop's ``cats`` in the Fix box, keeping what is typed if it is one of them."""
        self.cats = cats
        text = self.fix_box.currentText()
        self.fix_box.clear()
        self.fix_box.addItems(cats)
        self.fix_box.setEditText(text if text in cats else "")
        self._offer(self.fix_box.currentText())

    def offers(self, text: str) -> list[str]:
        """What the Fix box offers for ``text`` (:func:`shopai.categorize.taxonomy.offers`)."""
        from shopai.categorize import taxonomy

        return taxonomy.offers(self.cats, text)

    def _offer(self, text: str) -> None:
        self.offer_model.setStringList(self.offers(text))

    # --- showing ----------------------------------------------------------------------------------
    def show_row(self, row: dict | None) -> None:
        """Show a queue row (None: nothing selected, the buttons off)."""
        enabled = row is not None
        for w in (self.accept_button, self.skip_button, self.fix_button, *self.choice_buttons):
            w.setEnabled(enabled)
        if row is None:
            self.title.setText("")
            self.photo.clear()
            for b in self.choice_buttons:
                b.setText("")
            return
        self.title.setText(f"<b>{row['title']}</b><br>{row['sku']}")
        pix = None
        if row.get("image_path"):
            from shopai.categorize.train import resolve_image

            pix = read_scaled(str(resolve_image(self.ctx.db_path, row["image_path"])), BIG)
        if pix is not None and not pix.isNull():
            self.photo.setPixmap(pix)
        else:
            self.photo.setText(_tr("the photo cannot be read") if row.get("image_path") else _tr("no photo"))
        self.similar.setText(self._similar_text(row["product_id"]))
        for i, b in enumerate(self.choice_buttons):
            if i < len(row["suggestions"]):
                s = row["suggestions"][i]
                name = s["category"].replace("&", "&&")  # not a mnemonic
                b.setText(f"{i + 1}  {name}  ({chance(s['confidence'])})")
                b.setToolTip("")
                b.setEnabled(True)
            else:
                b.setText(_tr("Nothing to go on: type the category below (F)") if i == 0 else "")
                b.setToolTip(_tr("No title and no photo that can be read") if i == 0 else "")
                b.setEnabled(False)
        self.accept_button.setEnabled(bool(row["suggestions"]))

    def _similar_text(self, product_id: int) -> str:
        """Similar-looking products (CNN embedding) and a duplicate-photo flag (difference hash)."""
        from shopai.categorize import review

        try:
            sims = review.similar_products(self.ctx.db, product_id, k=3)
        except UserError:
            return ""
        parts = []
        dup = review.duplicate_of(self.ctx.db, product_id)
        if dup:
            parts.append(_tr("Possible duplicate photo of %1.").replace("%1", dup))
        if sims:
            looks = ", ".join(f"{s['title']} ({s['sku']})" for s in sims)
            parts.append(_tr("Looks like: %1").replace("%1", looks))
        return "\n".join(parts)

    def show_accuracy(self, per_category: dict) -> None:
        """The model's held-out accuracy per category (``meta["per_category"]``), the worst first; {} empties it."""
        items = sorted(per_category.items(), key=lambda kv: (kv[1]["correct"] / kv[1]["n"]) if kv[1]["n"] else 2.0)
        self.accuracy.setRowCount(0)
        with filling(self.accuracy):  # one row per category: hundreds in a big shop
            self.accuracy.setRowCount(len(items))
            for r, (cat, v) in enumerate(items):
                self.accuracy.setItem(r, 0, QTableWidgetItem(cat))
                self.accuracy.setItem(r, 1, QTableWidgetItem(str(v["n"])))
                right = "—" if not v["n"] else f"{v['correct'] / v['n'] * 100:.0f}%"
                self.accuracy.setItem(r, 2, QTableWidgetItem(right))

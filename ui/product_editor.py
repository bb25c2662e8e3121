"""The product editor: add or change one product, with its photo.

Validation is the core's (``shopai.store.products.validate/add/update`` raise ``UserError``); the
dialog shows those messages inline and stays open so the owner can fix the field.
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSize, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QPlainTextEdit, QPushButton, QVBoxLayout, QWidget,
)

from shopai.jobs import UserError
from shopai.paths import shop_dir, subdir
from shopai.store import products
from shopai_ui.context import ShopContext
from shopai_ui.widgets.message import MessageBar
from shopai_ui.widgets.photo import read_scaled

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.gif *.bmp *.webp);;All files (*)"
THUMB = QSize(220, 220)


def _tr(text: str) -> str:
    return QCoreApplication.translate("ProductEditor", text)


def resolve_image(db_path: str, image_path: str | None) -> Path | None:
    """A product's photo on disk: stored paths are relative to the shop folder (or absolute)."""
    if not image_path:
        return None
    path = Path(image_path)
    if not path.is_absolute():
        path = shop_dir(db_path) / path
    return path


def load_thumbnail(path: Path | str | None, size: QSize = THUMB) -> tuple[QPixmap | None, str]:
    """(pixmap scaled to fit ``size``, "") or (None, a plain-words reason)."""
    if not path:
        return None, ""
    path = Path(path)
    if not path.is_file():
        return None, _tr("The photo file is missing: {0}").format(path.name)
    pixmap = read_scaled(str(path), size)
    if pixmap.isNull():
        return None, _tr("Can't read this image ({0}).").format(path.name)
    return pixmap, ""


def copy_photo(db_path: str, source: Path) -> str:
    """Copy a chosen photo into the shop's images folder; returns the path to store (relative)."""
    data = source.read_bytes()
    name = hashlib.sha1(data).hexdigest()[:16] + source.suffix.lower()
    dest = subdir(db_path, "images") / name
    if not dest.exists():
        shutil.copyfile(source, dest)
    return str(dest.relative_to(shop_dir(db_path)))


class ProductEditorDialog(QDialog):
    """Add (``product_id=None``) or edit a product. ``saved(id)`` after a successful save."""

    saved = Signal(int)

    def __init__(self, ctx: ShopContext, product_id: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.product_id = product_id
        self._photo_source: Path | None = None  # a newly chosen file, copied on save
        self._image_path: str | None = None  # what is stored now
        self.setWindowTitle(self.tr("New product") if product_id is None else self.tr("Edit product"))

        self.message = MessageBar(self)
        self.sku = QLineEdit()
        self.title_edit = QLineEdit()
        self.description = QPlainTextEdit()
        self.description.setTabChangesFocus(True)
        self.description.setFixedHeight(90)
        self.category = QComboBox()
        self.category.setEditable(True)
        self.category.addItem("")
        self.category.addItems(products.categories(ctx.db))
        self.vendor = QLineEdit()
        self.vendor.setPlaceholderText(self.tr("optional: brand or supplier"))
        self.status = QComboBox()
        for key, label in (("active", self.tr("Active: for sale")), ("draft", self.tr("Draft: not for sale yet")),
                           ("archived", self.tr("Archived: no longer sold"))):
            self.status.addItem(label, key)
        self.status.setToolTip(self.tr("Drafts and archived products stay in the catalog with their sales, "
                                       "but are never offered to customers"))
        self.price = QLineEdit()
        self.cost = QLineEdit()
        self.stock = QLineEdit()
        for edit, hint in ((self.price, "0.00"), (self.cost, self.tr("optional")), (self.stock, "0")):
            edit.setPlaceholderText(hint)
            edit.setAlignment(Qt.AlignmentFlag.AlignRight)

        form = QFormLayout()
        form.addRow(self.tr("&SKU"), self.sku)
        form.addRow(self.tr("&Title"), self.title_edit)
        form.addRow(self.tr("&Description"), self.description)
        form.addRow(self.tr("&Category"), self.category)
        form.addRow(self.tr("&Vendor"), self.vendor)
        form.addRow(self.tr("&Price"), self.price)
        form.addRow(self.tr("C&ost"), self.cost)
        form.addRow(self.tr("St&ock"), self.stock)
        form.addRow(self.tr("Stat&us"), self.status)

        self.photo = QLabel(self.tr("No photo"))
        self.photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.photo.setFixedSize(THUMB)
        self.photo.setStyleSheet("QLabel { border: 1px dashed #aaa; color: #777; }")
        self.photo_message = QLabel()
        self.photo_message.setWordWrap(True)
        self.photo_message.setStyleSheet("color: #a00;")
        self.photo_message.setMaximumWidth(THUMB.width())
        choose = QPushButton(self.tr("Choose &photo…"))
        choose.clicked.connect(self._choose_photo)
        self.remove_photo_button = QPushButton(self.tr("&Remove photo"))
        self.remove_photo_button.clicked.connect(self.remove_photo)
        photo_box = QVBoxLayout()
        photo_box.addWidget(self.photo)
        photo_box.addWidget(self.photo_message)
        photo_box.addWidget(choose)
        photo_box.addWidget(self.remove_photo_button)
        photo_box.addStretch(1)

        body = QHBoxLayout()
        body.addLayout(form, 1)
        body.addLayout(photo_box)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addLayout(body)
        layout.addWidget(self.buttons)

        if product_id is not None:
            self._load(product_id)
        self._show_photo()
        self.resize(680, 420)

    # -- loading / photo --------------------------------------------------------------------
    def _load(self, product_id: int) -> None:
        row = products.get(self.ctx.db, product_id=product_id)
        if row is None:
            self.message.show_error(self.tr("That product no longer exists."))
            self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(False)
            return
        self.sku.setText(row["sku"] or "")
        self.title_edit.setText(row["title"] or "")
        self.description.setPlainText(row["description"] or "")
        self.category.setCurrentText(row["category"] or "")
        self.vendor.setText(row.get("vendor") or "")
        self.price.setText(_num_text(row["price"]))
        self.cost.setText(_num_text(row["cost"]))
        self.stock.setText("" if row["stock"] is None else str(row["stock"]))
        self.status.setCurrentIndex(max(0, self.status.findData(row.get("status") or "active")))
        self._image_path = row["image_path"]

    def _choose_photo(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Choose a photo"), str(Path.home()), self.tr(IMAGE_FILTER))
        if path:
            self.set_photo(path)

    def set_photo(self, path: str | Path) -> bool:
        """Use ``path`` as the product's photo (copied on save). False and a message if unreadable."""
        pixmap, problem = load_thumbnail(path)
        if pixmap is None:
            self.photo_message.setText(problem or self.tr("Can't read this image."))
            return False
        self._photo_source = Path(path)
        self.photo_message.clear()
        self.photo.setPixmap(pixmap)
        self.remove_photo_button.setEnabled(True)
        return True

    def remove_photo(self) -> None:
        self._photo_source = None
        self._image_path = None
        self._show_photo()

    def _show_photo(self) -> None:
        path = self._photo_source or resolve_image(self.ctx.db_path, self._image_path)
        pixmap, problem = load_thumbnail(path)
        self.photo.clear()
        if pixmap is not None:
            self.photo.setPixmap(pixmap)
        else:
            self.photo.setText(self.tr("No photo"))
        self.photo_message.setText(problem)
        self.remove_photo_button.setEnabled(path is not None)

    # -- saving -------------------------------------------------------------------------------
    def fields(self) -> dict:
        return {
            "sku": self.sku.text(),
            "title": self.title_edit.text(),
            "description": self.description.toPlainText(),
            "category": self.category.currentText().strip() or None,
            "vendor": self.vendor.text().strip() or None,
            "price": _number(self.price.text()),
            "cost": _number(self.cost.text()),
            "stock": self.stock.text().strip() or None,
            "status": self.status.currentData(),
        }

    def save(self) -> bool:
        """Validate and write; on a problem show it inline and keep the dialog open."""
        fields = self.fields()
        for edit in (self.sku, self.title_edit, self.price, self.cost, self.stock):
            edit.setStyleSheet("")
        try:
            products.validate(fields)
            if self._photo_source is not None:
                try:
                    fields["image_path"] = copy_photo(self.ctx.db_path, self._photo_source)
                except OSError as exc:
                    raise UserError(self.tr("The photo could not be copied: {0}").format(exc.strerror or exc)) from None
            else:
                fields["image_path"] = self._image_path
            if self.product_id is None:
                self.product_id = products.add(self.ctx.db, **fields)
            else:
                products.update(self.ctx.db, self.product_id, **fields)
        except UserError as exc:
            self.message.show_error(str(exc))
            self._focus_field_for(str(exc))
            return False
        self.message.clear()
        self.ctx.notify_changed({"products", "price_history", "categories"})
        self.ctx.show_status(self.tr("Saved {0}").format(fields["title"].strip()))
        self.saved.emit(self.product_id)
        self.accept()
        return True

    def _focus_field_for(self, message: str) -> None:
        """Put the cursor in the field the message is about and outline it in red."""
        text = message.lower()
        for words, widget in ((("sku",), self.sku), (("title",), self.title_edit), (("price",), self.price),
                              (("cost",), self.cost), (("stock",), self.stock)):
            if any(w in text for w in words):
                widget.setStyleSheet("QLineEdit { border: 1px solid #c0392b; border-radius: 2px; }")
                widget.setFocus()
                widget.selectAll()
                return


def _number(text: str) -> float | str | None:
    """A price typed as the importer reads one ("1,50", "1.234,50", "1,234.50", "£2.50"); text that is no
    (finite) number is passed on as typed, for ``products.validate`` to refuse in plain words."""
    from shopai.io.values import parse_number  # shopai.io is not needed until a save

    text = text.strip()
    if not text:
        return None
    value = parse_number(text)
    return text if value is None else value


def _num_text(value) -> str:
    """A stored price as the editor shows it: two decimals, or every decimal it has (0.125 stays 0.125, so
    saving a title change does not round the price and add a price change to its history)."""
    if value is None:
        return ""
    value = float(value)
    text = f"{value:.2f}"
    if float(text) != value:
        text = repr(value)  # the shortest text that reads back as the same number
        if "e" in text or "E" in text:
            text = f"{value:.10f}".rstrip("0")
    return text

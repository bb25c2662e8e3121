"""The Catalog's side panel: the current product's photo and details, read-only and selectable."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

from shopai_ui.product_editor import load_thumbnail, resolve_image
from shopai_ui.widgets.sql_table import fmt_datetime, fmt_int, fmt_money

FIELDS = (("sku", "SKU"), ("title", "Title"), ("category", "Category"), ("vendor", "Vendor"), ("price", "Price"),
          ("cost", "Cost"), ("stock", "Stock"), ("status", "Status"), ("updated_at", "Updated"),
          ("description", "Description"))


def status_label(status: str | None) -> str:
    """A product's status in words: Active, Draft or Archived."""
    label = {"draft": "Draft", "archived": "Archived"}.get(status or "active", "Active")
    return QCoreApplication.translate("ProductDetails", label)


class ProductDetails(QWidget):
    """``photo`` (240×240) above a form of ``details`` labels (by field); :meth:`show_product` fills them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.photo = QLabel(self.tr("No product selected"))
        self.photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.photo.setFixedSize(240, 240)
        self.photo.setStyleSheet("QLabel { border: 1px solid #ddd; color: #777; background: #fafafa; }")
        self.details: dict[str, QLabel] = {}
        form = QFormLayout()
        for key, label in FIELDS:
            value = QLabel()
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.details[key] = value
            form.addRow(f"<b>{self.tr(label)}</b>", value)
        layout = QVBoxLayout(self)
        layout.addWidget(self.photo, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(form)
        layout.addStretch(1)
        self.setMinimumWidth(260)
        self.setMaximumWidth(380)

    def show_product(self, row: dict[str, Any] | None, db_path: str) -> None:
        """Show ``row`` (a product as ``products.get`` gives it), or nothing selected for None."""
        self.photo.clear()
        if row is None:
            self.photo.setText(self.tr("No product selected"))
            for label in self.details.values():
                label.clear()
            return
        status = status_label(row.get("status"))
        values = {
            "sku": row["sku"], "title": row["title"], "category": row["category"] or "—",
            "vendor": row.get("vendor") or "—",
            "price": fmt_money(row["price"]) or "—", "cost": fmt_money(row["cost"]) or "—",
            "stock": fmt_int(row["stock"]) or "—", "updated_at": fmt_datetime(row["updated_at"]),
            "status": status, "description": (row["description"] or "—")[:600],
        }
        for key, label in self.details.items():
            label.setText(str(values[key]))
        pixmap, problem = load_thumbnail(resolve_image(db_path, row["image_path"]), self.photo.size())
        if pixmap is not None:
            self.photo.setPixmap(pixmap)
        else:
            self.photo.setText(problem or self.tr("No photo"))
            self.photo.setWordWrap(True)

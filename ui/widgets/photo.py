"""Reading product photos for the screen: scaled while decoding, so a camera's 72 MP photo stays under Qt's
256 MB image allocation limit; Pillow reads what Qt cannot scale while reading (a huge PNG)."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QImageReader, QPixmap


def read_scaled(path: str, size: QSize) -> QPixmap:
    """The photo at ``path`` fitted into ``size`` (EXIF rotation applied); a null pixmap when unreadable."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    full = reader.size()
    if full.isValid() and (full.width() > size.width() or full.height() > size.height()):
        reader.setScaledSize(full.scaled(size, Qt.AspectRatioMode.KeepAspectRatio))
    img = reader.read()
    if img.isNull():
        try:
            from PIL import Image, ImageOps

            with Image.open(path) as im:
                im.draft("RGB", (size.width(), size.height()))
                im = ImageOps.exif_transpose(im)
                im.thumbnail((size.width(), size.height()))
                im = im.convert("RGBA")
                img = QImage(im.tobytes(), im.width, im.height, 4 * im.width, QImage.Format.Format_RGBA8888).copy()
        except Exception:  # noqa: BLE001 (any unreadable file: the caller says so)
            return QPixmap()
    return QPixmap.fromImage(img).scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation)

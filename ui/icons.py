"""Icons shipped under resources/icons, found through importlib.resources."""
from __future__ import annotations

from importlib import resources

from PySide6.QtGui import QIcon


def resource_icon(name: str) -> QIcon:
    """The icon ``resources/icons/<name>``; an empty QIcon if it is missing (a broken install shows no icon)."""
    try:
        icon_file = resources.files("shopai_resources") / "icons" / name
        if icon_file.is_file():
            return QIcon(str(icon_file))
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    return QIcon()


def app_icon() -> QIcon:
    return resource_icon("shopai.svg")


def mic_icon() -> QIcon:
    """The microphone (an SVG: no font needs a microphone glyph)."""
    return resource_icon("mic.svg")

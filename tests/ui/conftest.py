"""UI fixtures: a ShopContext over a fresh shop; Qt runs offscreen."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session", autouse=True)
def _isolated_qsettings(tmp_path_factory):
    """Window geometry and other QSettings go to a temporary folder, never the user's config."""
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                      str(tmp_path_factory.mktemp("qsettings")))


@pytest.fixture
def ctx(qapp, db_path):
    from shopai_ui.context import ShopContext

    context = ShopContext(db_path)
    yield context
    context.close()

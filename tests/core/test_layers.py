"""The core stays Qt-free and starts without torch: checked by import-linter and by importing it blind."""
from __future__ import annotations

import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import shopai

ROOT = Path(__file__).resolve().parents[2]


def _core_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(shopai.__path__, "shopai."))


def test_every_core_module_imports_without_qt_and_without_torch():
    code = (
        "import sys, importlib\n"
        "for blocked in ('PySide6', 'superqt', 'shopai_ui'):\n"
        "    sys.modules[blocked] = None\n"
        f"for name in {_core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "heavy = sorted(m for m in ('torch', 'torchvision', 'sklearn') if m in sys.modules)\n"
        "print('ok' if not heavy else f'imported at module level: {heavy}')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_import_linter_contract_holds():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is part of the test extra"
    result = subprocess.run([exe], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_source_has_no_qt_imports():
    offenders = []
    for path in (ROOT / "shopai").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")) and any(
                q in stripped.split()[1] for q in ("PySide6", "superqt", "shopai_ui")
            ):
                offenders.append(f"{path.relative_to(ROOT)}: {stripped}")
    assert not offenders, offenders


def test_opening_a_shop_does_not_load_pandas(tmp_path):
    """pandas costs about half a second of start-up; the store and the catalog queries don't need it."""
    code = (
        "import sys\n"
        "from shopai.store import open_store, products\n"
        f"db = open_store({str(tmp_path / 's.sqlite')!r})\n"
        "products.add(db, sku='A', title='Mug', price=1)\n"
        "assert products.search(db, 'mug')\n"
        "assert 'pandas' not in sys.modules, 'pandas loaded'\n"
        "import pandas\n"  # still there for the code that does need it
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"

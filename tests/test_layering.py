"""The engine runs without Qt: importing every engine module must not pull in PySide6/pyqtgraph."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ("headblock", "capture", "qc", "metadata", "resources")

PROBE = """
import importlib, pkgutil, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6'):
            raise ImportError('engine imported ' + name)
        return None
sys.meta_path.insert(0, Block())
failed = []
for pkg in %r:
    mod = importlib.import_module(pkg)
    for info in pkgutil.walk_packages(mod.__path__, pkg + '.'):
        if info.name.endswith('__main__'):
            continue
        try:
            importlib.import_module(info.name)
        except ImportError as exc:
            if 'engine imported' in str(exc):
                failed.append(f'{info.name}: {exc}')
print('\\n'.join(failed))
sys.exit(1 if failed else 0)
"""


def test_engine_imports_without_qt():
    proc = subprocess.run(
        [sys.executable, "-c", PROBE % (ENGINE,)], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_only_app_mentions_qt():
    offenders = []
    for pkg in ENGINE:
        for path in (ROOT / pkg).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for bad in ("import PySide6", "from PySide6", "import pyqtgraph", "from pyqtgraph"):
                if bad in text:
                    offenders.append(f"{path.relative_to(ROOT)}: {bad}")
    assert not offenders, offenders

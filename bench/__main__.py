"""Benchmarks of the station, outside the test run: ``python -m bench [NAME [ARGS...]]``.

Every module ``bench/NAME.py`` with a ``main(argv) -> int`` is a benchmark. Without a name,
all run one after the other with their defaults; ``python -m bench --list`` names them.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> dict[str, object]:
    found = {}
    if str(HERE.parent) not in sys.path:
        sys.path.insert(0, str(HERE.parent))
    for info in sorted(pkgutil.iter_modules([str(HERE)]), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if callable(getattr(module, "main", None)):
            found[info.name] = module
    return found


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    benches = discover()
    if argv and argv[0] in ("-h", "--help", "--list"):
        print("benchmarks: " + ", ".join(benches))
        print("usage: python -m bench [NAME [ARGS...]]")
        return 0
    if argv:
        name = argv[0]
        if name not in benches:
            print(f"bench: no benchmark {name!r} (have: {', '.join(benches)})", file=sys.stderr)
            return 2
        return int(benches[name].main(argv[1:]) or 0)
    status = 0
    for name, module in benches.items():
        print(f"== {name}", flush=True)
        status |= int(module.main([]) or 0)
    return status


if __name__ == "__main__":
    sys.exit(main())

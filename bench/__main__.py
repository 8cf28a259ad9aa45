"""`python -m bench NAME [options]`: run one benchmark; with no name, list them.

Each benchmark is a module `bench/<name>.py` with a docstring and `main(argv) -> int`.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def _benchmarks() -> list[str]:
    modules = pkgutil.iter_modules([str(Path(__file__).parent)])
    return sorted(module.name for module in modules if not module.name.startswith("_"))


def main(argv: list[str]) -> int:
    names = _benchmarks()
    if not argv or argv[0] in {"-h", "--help"}:
        print("usage: python -m bench NAME [options]\n\nbenchmarks:")
        for name in names:
            doc = (importlib.import_module(f"bench.{name}").__doc__ or "").strip().splitlines()
            print(f"  {name:<12} {doc[0] if doc else ''}")
        return 0
    if argv[0] not in names:
        print(f"unknown benchmark {argv[0]!r}; known: {', '.join(names)}", file=sys.stderr)
        return 2
    return int(importlib.import_module(f"bench.{argv[0]}").main(argv[1:]) or 0)


raise SystemExit(main(sys.argv[1:]))

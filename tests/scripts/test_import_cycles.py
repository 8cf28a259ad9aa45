"""No two modules of `scripts` import each other, not even for type hints only.

A circle of imports means neither module can be read, moved or tested without the other. Imports
made at module level count, those under `if TYPE_CHECKING:` too (a circle for the type checker is
still a circle for the reader); imports inside functions do not (they are deferred on purpose).
"""

from __future__ import annotations

import ast
from pathlib import Path

from scripts.paths import REPO_ROOT


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_level_imports(path: Path, known: set[str]) -> set[str]:
    """The modules of `known` that `path` imports at module level or under a module-level `if`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    statements = [*tree.body, *(node for top in tree.body if isinstance(top, ast.If) for node in top.body)]
    found = set()
    for node in statements:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                # `from scripts.github import runner` imports the module scripts.github.runner;
                # `from scripts.experiments import load`, the package's own __init__.
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found & known


def import_circles(root: Path) -> list[list[str]]:
    """Each circle of module-level imports among the modules under `root`, as the modules in it."""
    paths = {module_name(path, root): path for path in sorted(root.rglob("*.py"))}
    graph = {name: module_level_imports(path, set(paths)) - {name} for name, path in paths.items()}
    circles, done = [], set()
    for start in graph:
        # Every module that `start` reaches and that reaches `start` back is in a circle with it.
        reached = _reachable(graph, start)
        circle = sorted(name for name in reached if start in _reachable(graph, name))
        if circle and start not in done:
            circles.append(sorted({start, *circle}))
            done |= {start, *circle}
    return circles


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for name in graph[todo.pop()]:
            if name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


def test_no_module_of_scripts_imports_one_that_imports_it_back():
    assert import_circles(REPO_ROOT / "scripts") == []


def test_a_circle_for_type_hints_only_is_found(tmp_path):
    package = tmp_path / "scripts"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from scripts.b import render\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from scripts.a import Thing\n"
    )
    (package / "c.py").write_text("def later():\n    from scripts import a\n")  # deferred: no circle

    assert import_circles(package) == [["scripts.a", "scripts.b"]]

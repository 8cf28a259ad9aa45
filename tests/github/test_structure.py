"""The flows call the library in-process: one module of scripts/github starts a child, none runs our CLI."""

from __future__ import annotations

import ast

from scripts.paths import REPO_ROOT

GITHUB = REPO_ROOT / "scripts" / "github"
PROCESS_MODULES = {"subprocess", "multiprocessing", "pty"}


def imported(path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return names


def test_only_the_sandbox_starts_a_child_process():
    starting = sorted(
        path.name
        for path in GITHUB.glob("*.py")
        if {name.split(".")[0] for name in imported(path)} & PROCESS_MODULES
        or "os.system" in path.read_text(encoding="utf-8")
    )
    assert starting == ["sandbox.py"]


def test_the_flows_do_not_import_the_command_line():
    for path in GITHUB.glob("*.py"):
        ours = {name for name in imported(path) if name.startswith(("scripts.cli", "scripts.commands"))}
        assert not ours, f"{path.name} imports {sorted(ours)}"

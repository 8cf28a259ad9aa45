"""The shape of the product code: the numbers issue 23 sets targets for.

    python -m bench structure [--json]

Counts, over `scripts/` and `trainer/` (the product; tests and benchmarks are not):
lines, the largest modules, modules that read `os.environ`, modules that name the emulator
variable, function-level imports of the project's own modules, and module-global registries of
clients. Read from the source with `ast`, so it runs anywhere in a second.
"""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("scripts", "trainer")
EMULATOR_VARIABLE = "VERTEX_AI_EMULATOR_HOST"
EMULATOR_CONSTANT = "EMULATOR_HOST_ENV"
LARGEST = 5
TARGETS = {
    "lines": 15_500,
    "largest_module_lines": 450,
    "modules_reading_os_environ": 4,
    "modules_naming_emulator_variable": 2,
    "client_registries": 0,
}


def _modules() -> list[Path]:
    return sorted(path for package in PRODUCT for path in (ROOT / package).rglob("*.py"))


def _reads_environ(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        is_os = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"
        if is_os and node.attr in {"environ", "getenv"}:
            return True
    return False


def _names_emulator_variable(tree: ast.AST) -> bool:
    """The variable's name, or the constant that holds it (`EMULATOR_HOST_ENV`)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value == EMULATOR_VARIABLE:
            return True
        if isinstance(node, ast.Name | ast.alias) and EMULATOR_CONSTANT in (
            getattr(node, "id", None),
            getattr(node, "name", None),
        ):
            return True
    return False


def _own_function_imports(tree: ast.AST) -> int:
    count = 0
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            count += any(name.split(".")[0] in PRODUCT for name in names)
    return count


def _client_registries(tree: ast.Module) -> int:
    """Module-level assignments of a WeakKeyDictionary or dict keyed by client objects."""
    count = 0
    for node in tree.body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if isinstance(value, ast.Call) and "WeakKeyDictionary" in ast.unparse(value.func):
            count += 1
    return count


def measure() -> dict[str, object]:
    sizes: dict[str, int] = {}
    environ, emulator, registries, function_imports = [], [], 0, 0
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT).as_posix()
        sizes[name] = len(text.splitlines())
        tree = ast.parse(text)
        if _reads_environ(tree):
            environ.append(name)
        if _names_emulator_variable(tree):
            emulator.append(name)
        registries += _client_registries(tree)
        function_imports += _own_function_imports(tree)
    largest = sorted(sizes.items(), key=lambda item: -item[1])[:LARGEST]
    return {
        "lines": sum(sizes.values()),
        "modules": len(sizes),
        "largest_module_lines": largest[0][1],
        "largest_modules": largest,
        "modules_reading_os_environ": len(environ),
        "modules_naming_emulator_variable": len(emulator),
        "emulator_variable_in": emulator,
        "client_registries": registries,
        "own_function_level_imports": function_imports,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench structure", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = parser.parse_args(argv)
    found = measure()
    if args.json:
        print(json.dumps({"measured": found, "targets": TARGETS}, indent=2))
        return 0
    for key, value in found.items():
        if key in ("largest_modules", "emulator_variable_in"):
            continue
        target = TARGETS.get(key)
        print(f"{key:<36} {value:>8}" + (f"   (target at most {target:,})" if target is not None else ""))
    print("largest: " + ", ".join(f"{name} ({lines})" for name, lines in found["largest_modules"]))
    print("emulator variable named in: " + ", ".join(found["emulator_variable_in"]))
    return 0

"""The shape of the product code: the numbers issue 23 sets targets for.

    python -m bench structure [--walk] [--json]

Counts, over `scripts/` and `trainer/` (the product; tests and benchmarks are not):
lines, the largest modules, modules that read `os.environ`, modules that name the emulator
variable, function-level imports of the project's own modules, function-level imports with no
comment saying why they are there (on the line, or just above the block of imports it is in),
module-global registries of clients, and the modules whose tests sit in a same-named file where
tests/ mirrors the product (`scripts/commands/run.py`: `tests/scripts/commands/test_run.py`).
Read from the source with `ast`, so it runs anywhere in a second.

`--walk` also measures the walk of `run` (`bench/_walk.py`): a real
`python -m scripts run horses-humans --backend local --profile offline`, traced in its process
(about 10 s; the trials run a stand-in trainer): the product files it enters, its stops (distinct
calls from one file into another) and its climbs (calls into a layer above the caller's).
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import tokenize
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
    "walk_files_entered": 22,
    "walk_climbs_from_results_into_vertex": 0,
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


def _function_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Each import inside a function (once, however deeply the functions nest)."""
    found: dict[int, ast.Import | ast.ImportFrom] = {}
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found[id(node)] = node
    return sorted(found.values(), key=lambda node: node.lineno)


def _is_own(node: ast.Import | ast.ImportFrom) -> bool:
    names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
    return any(name.split(".")[0] in PRODUCT for name in names)


# A comment that only steers a tool says nothing of why the import is where it is.
PRAGMAS = ("# noqa", "# type:", "# pragma", "# fmt:")


def _reasons(text: str) -> set[int]:
    """The lines that hold a comment saying something (not a tool's pragma)."""
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return {
        token.start[0]
        for token in tokens
        if token.type == tokenize.COMMENT and not token.string.startswith(PRAGMAS)
    }


def _without_reason(imports: list[ast.Import | ast.ImportFrom], reasons: set[int]) -> list[ast.AST]:
    """The imports with no comment on their lines, nor just above the block of imports they are in."""
    import_lines = {line for node in imports for line in range(node.lineno, node.end_lineno + 1)}
    missing = []
    for node in imports:
        if any(line in reasons for line in range(node.lineno, node.end_lineno + 1)):
            continue
        above = node.lineno - 1
        # An import just above (or a blank line between two groups of imports): the block's
        # comment is above it.
        while above in import_lines or (above not in reasons and above - 1 in import_lines):
            above -= 1
        if above not in reasons:
            missing.append(node)
    return missing


def _client_registries(tree: ast.Module) -> int:
    """Module-level assignments of a WeakKeyDictionary or dict keyed by client objects."""
    count = 0
    for node in tree.body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if isinstance(value, ast.Call) and "WeakKeyDictionary" in ast.unparse(value.func):
            count += 1
    return count


def _test_file(path: Path) -> Path:
    """Where a module's own tests live: tests/ mirrors the product, `test_` before the module's name."""
    relative = path.relative_to(ROOT)
    return ROOT / "tests" / relative.with_name(f"test_{relative.name}")


def _mirrored(paths: list[Path]) -> str:
    """The modules (not a package's __init__ or __main__) with a same-named test file, as "N of M"."""
    modules = [path for path in paths if path.name not in ("__init__.py", "__main__.py")]
    return f"{sum(_test_file(path).is_file() for path in modules)} of {len(modules)}"


def measure() -> dict[str, object]:
    sizes: dict[str, int] = {}
    environ, emulator, registries, function_imports = [], [], 0, 0
    own_unexplained = all_imports = all_unexplained = 0
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
        imports = _function_imports(tree)
        unexplained = _without_reason(imports, _reasons(text))
        function_imports += sum(map(_is_own, imports))
        own_unexplained += sum(map(_is_own, unexplained))
        all_imports += len(imports)
        all_unexplained += len(unexplained)
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
        "modules_with_a_same_named_test": _mirrored(_modules()),
        "own_function_level_imports": function_imports,
        "own_function_level_imports_without_reason": own_unexplained,
        "function_level_imports": all_imports,
        "function_level_imports_without_reason": all_unexplained,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench structure", description=__doc__.splitlines()[0])
    parser.add_argument("--walk", action="store_true", help="also trace the walk of `run` (about 10 s)")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = parser.parse_args(argv)
    found = measure()
    if args.walk:
        from bench import _walk  # only here: it runs a traced `run`

        found.update(_walk.measure())
    if args.json:
        print(json.dumps({"measured": found, "targets": TARGETS}, indent=2))
        return 0
    for key, value in found.items():
        if isinstance(value, list | dict):
            continue
        target = TARGETS.get(key)
        print(f"{key:<44} {value:>8}" + (f"   (target at most {target:,})" if target is not None else ""))
    print("largest: " + ", ".join(f"{name} ({lines})" for name, lines in found["largest_modules"]))
    print("emulator variable named in: " + ", ".join(found["emulator_variable_in"]))
    if args.walk:
        packages = found["walk_files_per_package"]
        print("walk files per package: " + ", ".join(f"{name} {count}" for name, count in packages.items()))
        print("walk climbs:" + ("".join(f"\n  {climb}" for climb in found["walk_climb_list"]) or " none"))
    return 0

"""The structure benchmark's own rules: the layer order of the walk of `run`, what a climb is, and
which function-level imports say why they are there."""

from __future__ import annotations

import ast
import textwrap

from bench import _walk, structure


def test_every_product_module_has_a_layer_in_the_walk():
    """A new module the order does not place would stop `python -m bench structure --walk`."""
    for path in structure._modules():
        _walk.layer(path.relative_to(structure.ROOT).as_posix())  # raises for a module in no layer


def test_a_call_from_results_into_vertex_is_a_climb_and_the_other_way_is_not():
    edges = [
        ("scripts/commands/run.py", "_finish", "scripts/results/files.py", "write_summary"),
        ("scripts/vertex/progress.py", "_step_line", "scripts/results/trials.py", "metric_value"),
        ("scripts/results/summary.py", "links", "scripts/vertex/backend.py", "Backend.console_url"),
        ("scripts/results/summary.py", "links", "scripts/results/summary.py", "trial_record"),
        ("scripts/results/summary.py", "summary", "scripts/emulator/contract.py", "output_directory"),
    ]

    walk = _walk.summarize(edges)

    assert walk["walk_files_entered"] == 7
    assert walk["walk_stops"] == 4  # the call within summary.py is no stop
    assert walk["walk_climb_list"] == [
        "scripts/results/summary.py:links -> scripts/vertex/backend.py:Backend.console_url"
    ]
    assert walk["walk_climbs_from_results_into_vertex"] == 1


def test_the_emulator_contract_sits_below_results_and_the_emulator_server_above():
    results = _walk.layer("scripts/results/files.py")
    assert _walk.layer("scripts/emulator/contract.py") > results
    assert _walk.layer("scripts/emulator/trials.py") < results


def test_a_function_level_import_needs_a_comment_on_its_line_or_above_its_block():
    text = textwrap.dedent(
        """
        def explained():
            # Deferred: matplotlib takes half a second to import.
            import matplotlib

            from scripts.results import plots

        def on_the_line():
            import optuna  # a second to import; only the emulator needs it

        def unexplained():
            from scripts.jobs import labels

        def pragma_only():
            from scripts.jobs import states  # noqa: F401
        """
    )
    tree = ast.parse(text)

    missing = structure._without_reason(structure._function_imports(tree), structure._reasons(text))

    assert [node.lineno for node in missing] == [12, 15]


def test_a_module_is_mirrored_by_the_test_file_of_its_name_in_the_same_package(tmp_path, monkeypatch):
    monkeypatch.setattr(structure, "ROOT", tmp_path)
    for name in (
        "scripts/commands/__init__.py",
        "scripts/commands/run.py",
        "scripts/commands/list.py",
        "scripts/images.py",
        "trainer/task.py",
        "tests/scripts/commands/test_run.py",
        "tests/scripts/vertex/test_list.py",  # another package: no mirror of commands/list.py
        "tests/trainer/test_task.py",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")

    modules = sorted(tmp_path.glob("scripts/**/*.py")) + sorted(tmp_path.glob("trainer/*.py"))

    assert structure._mirrored(modules) == "2 of 4"

"""YAML with positions: anchors, merge keys, duplicate keys, odd keys."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from scripts.experiments import load_text
from scripts.experiments.source import dotted, parse, read_value
from scripts.paths import REPO_ROOT

from .helpers import EXPERIMENT, HEADER, problems


def test_positions_of_values_and_keys():
    source = parse("a:\n  b: [1, {c: 2}]\n", "f.yaml")
    assert source.data == {"a": {"b": [1, {"c": 2}]}}
    assert (source.values[("a", "b", 1, "c")].line, source.values[("a", "b", 1, "c")].column) == (2, 14)
    assert (source.keys[("a", "b")].line, source.keys[("a", "b")].column) == (2, 3)
    # an unknown path falls back to its nearest known parent
    assert source.where(("a", "b", 5, "zzz")).line == 2


def test_dotted_paths():
    assert (
        dotted(("experiments", "x", "worker_pools", 0, "accelerator"))
        == "experiments.x.worker_pools[0].accelerator"
    )


def test_anchors_and_merge_keys_share_settings_without_duplicate_errors():
    text = HEADER + EXPERIMENT.replace(
        "    worker_pools:\n      - machine_type: n1-standard-4\n",
        "    worker_pools:\n      - &pool {machine_type: n1-standard-4, replica_count: 1}\n"
        "      - <<: *pool\n        replica_count: 2\n",
    )
    pools = load_text(text, "f", {}).experiments["exp"].worker_pools
    assert [(pool.machine_type, pool.replica_count) for pool in pools] == [
        ("n1-standard-4", 1),
        ("n1-standard-4", 2),
    ]


def test_non_text_keys_are_problems_not_crashes():
    found = problems(HEADER + EXPERIMENT + "    ? [a, b]\n    : 1\n    3: x\n")
    messages = {problem.message for problem in found}
    assert "mapping keys must be plain scalars" in messages
    assert "keys must be text, got an integer (3)" in messages


def test_an_empty_file_needs_experiments():
    (problem,) = problems("")
    assert problem.message == "missing required key 'experiments'"


def test_a_document_that_is_not_a_mapping():
    (problem,) = problems("- just\n- a list\n")
    assert problem.message == "expected a mapping with an 'experiments' key, got a list"


def test_a_control_character_is_reported_where_it_is():
    (problem,) = problems('experiments:\n  a: "x\x01"\n')
    assert (problem.line, problem.column) == (2, 8)
    assert (
        problem.message
        == "YAML syntax error: character #x0001 is not allowed (control characters are not allowed)"
    )


# -- hostile YAML: every case ends fast, with one located problem ---------------------------------


def _alias_bomb(width: int = 9, levels: int = 9) -> str:
    text = 'a: &a ["lol"' + ', "lol"' * (width - 1) + "]\n"
    previous = "a"
    for index in range(1, levels):
        name = f"a{index}"
        text += f"{name}: &{name} [" + ", ".join([f"*{previous}"] * width) + "]\n"
        previous = name
    return text + f"experiments: *{previous}\n"


def _merge_chain(levels: int = 40) -> str:
    text = "m0: &m0 {a: 1, b: 2}\n"
    for index in range(1, levels):
        text += f"m{index}: &m{index} {{<<: [*m{index - 1}, *m{index - 1}], k{index}: *m{index - 1}}}\n"
    return text + f"experiments: *m{levels - 1}\n"


def _merge_fan(keys: int = 2000, merges: int = 2000) -> str:
    text = "base: &base {" + ", ".join(f"k{i}: {i}" for i in range(keys)) + "}\n"
    return text + "experiments: {<<: [" + ", ".join(["*base"] * merges) + "]}\n"


def _alias_chain(levels: int = 2000) -> str:
    text = "c0: &c0 [1]\n"
    for index in range(1, levels):
        text += f"c{index}: &c{index} [*c{index - 1}]\n"
    return text + f"experiments: *c{levels - 1}\n"


HOSTILE = {
    "alias bomb": (_alias_bomb(), "expands to more than"),
    "merge chain": (_merge_chain(), "expands to more than"),
    "merge fan": (_merge_fan(), "expands to more than"),
    "alias chain": (_alias_chain(), "levels deep (through aliases)"),
    "500 [": ("experiments: " + "[" * 500 + "]" * 500 + "\n", "nested more than 64 levels"),
    "100000 [": ("experiments: " + "[" * 100_000 + "]" * 100_000 + "\n", "nested more than 64 levels"),
    "100000 { unclosed": ("experiments: " + "{a: " * 100_000 + "\n", "nested more than 64 levels"),
    "1000 block levels": ("".join(" " * i + "a:\n" for i in range(1000)), "nested more than 64 levels"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_yaml_is_refused_fast_with_a_located_problem(name):
    text, expected = HOSTILE[name]
    started = time.perf_counter()
    found = problems(text)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"{name}: {elapsed:.2f}s"
    assert len(found) == 1, found
    (problem,) = found
    assert expected in problem.message
    assert problem.file == "experiments.yaml" and problem.line >= 1 and problem.column >= 1


# Runs a command and prints its exit status and peak memory (KB), measured apart from the tests'.
_MEASURE = (
    "import resource, subprocess, sys; "
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
    "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
    "print(done.stdout + done.stderr)"
)


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_yaml_stays_under_200_mb_through_validate(tmp_path, name):
    path = tmp_path / "hostile.yaml"
    path.write_text(HOSTILE[name][0])
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, sys.executable, "-m", "scripts", "validate", "--file", str(path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    status, peak_kb = map(int, result.stdout.split("\n", 1)[0].split())
    assert status == 1, result.stdout
    assert f"{path}:" in result.stdout
    assert peak_kb < 200 * 1024, f"{name}: {peak_kb} KB"


def test_a_nested_merge_applies_its_own_merges():
    source = parse("a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nc: {<<: *b, z: 3}\n", "f.yaml")
    assert source.problems == []
    assert source.data["c"] == {"y": 2, "x": 1, "z": 3}


def test_reasonable_anchors_stay_within_the_budget():
    text = "p: &p {type: double, min: 0, max: 1}\n" + "".join(f"k{i}: *p\n" for i in range(2000))
    source = parse(text, "f.yaml")
    assert source.problems == [] and len(source.data) == 2001


def test_an_override_value_is_read_within_the_same_limits():
    assert read_value("[1, 2]") == [1, 2]
    bomb = "[" * 100_000
    assert read_value(bomb) == bomb  # not YAML we read: kept as text, and the check says why


def test_a_variable_holding_hostile_yaml_stays_text():
    env = {"HPT_IMAGE": "[" * 100_000, "HPT_ARTIFACT_REPOSITORY": _alias_bomb().replace("\n", " ")}
    started = time.perf_counter()
    found = problems("experiments:\n  a: ${HPT_IMAGE}\n  b: ${HPT_ARTIFACT_REPOSITORY}\n", env)
    assert time.perf_counter() - started < 1.0
    assert {problem.field for problem in found} >= {"experiments.a", "experiments.b"}

"""YAML with positions: anchors, merge keys, duplicate keys, odd keys."""

from __future__ import annotations

from scripts.experiments import load_text
from scripts.experiments.source import dotted, parse

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

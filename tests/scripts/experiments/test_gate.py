"""`gate:` of an experiment: read and checked like every other field, judged against a comparison."""

from __future__ import annotations

import pytest

from scripts.experiments import load_text
from scripts.experiments.gate import describe, failed_conditions
from scripts.experiments.model import Gate

from .helpers import EXPERIMENT, HEADER, marked_line, the_problem


def with_gate(lines: str) -> str:
    return HEADER + EXPERIMENT + "    gate:" + lines


def test_a_gate_is_read_with_the_experiment_and_changes_nothing_in_its_job():
    from scripts.experiments import CompileContext, compile_experiment

    gated = load_text(with_gate("\n      verdict: not-worse\n      max_cost: 20\n"), "experiments.yaml", {})
    plain = load_text(HEADER + EXPERIMENT, "experiments.yaml", {})
    assert gated.experiments["exp"].gate == Gate(verdict="not-worse", max_cost=20.0)
    assert plain.experiments["exp"].gate is None
    context = CompileContext(image_tag="inputs-0", commit="a" * 40)
    # The gate is the reporter's: the same job, the same spec hash (a gate change submits nothing).
    assert compile_experiment(gated, "exp", context).job == compile_experiment(plain, "exp", context).job


@pytest.mark.parametrize(
    ("lines", "field", "message"),
    [
        ("\n      verdict: no-worse   # <-\n", "experiments.exp.gate.verdict",
         "'no-worse' is not one of better, not-worse (did you mean 'not-worse'?)"),
        ("\n      max_cost: -1   # <-\n", "experiments.exp.gate.max_cost", "must be at least 0, got -1"),
        ("\n      max_cost: cheap   # <-\n", "experiments.exp.gate.max_cost",
         "expected a number, got text ('cheap')"),
        ("\n      verdit: better   # <-\n", "experiments.exp.gate.verdit",
         "unknown key 'verdit' (did you mean 'verdict'?)"),
        (" {}   # <-\n", "experiments.exp.gate", "a gate needs verdict or max_cost"),
    ],
)  # fmt: skip
def test_a_bad_gate_is_reported_at_its_line_with_its_field(lines, field, message):
    text = with_gate(lines)
    problem = the_problem(text, field)
    assert (problem.line, problem.message) == (marked_line(text), message)
    assert str(problem).startswith(f"experiments.yaml:{marked_line(text)}:")


def _comparison(verdict: str, cost: float | None = 1.5) -> dict:
    return {"verdict": verdict, "job": {"cost": cost, "currency": "USD"}}


@pytest.mark.parametrize(
    ("gate", "verdict", "cost", "failed"),
    [
        (Gate(verdict="not-worse"), "no clear difference", 1.5, []),
        (Gate(verdict="not-worse"), "no baseline", 1.5, []),  # an experiment new in the pull request
        (Gate(verdict="not-worse"), "worse", 1.5, ["the verdict must not be worse, and it is worse"]),
        (Gate(verdict="better"), "better", 1.5, []),
        (Gate(verdict="better"), "no baseline", 1.5, ["the verdict must be better, and it is no baseline"]),
        (Gate(max_cost=2), "worse", 1.5, []),
        (Gate(max_cost=1), "better", 1.5,
         ["the job's cost must be at most 1 USD, and it is 1.50 USD"]),
        (Gate(max_cost=1), "better", None, ["the job's cost must be at most 1 USD, and it is unknown"]),
    ],
)  # fmt: skip
def test_a_gate_names_each_condition_the_comparison_fails(gate, verdict, cost, failed):
    assert failed_conditions(gate, _comparison(verdict, cost)) == failed


def test_a_gate_is_described_in_words():
    assert describe(Gate(verdict="not-worse", max_cost=20)) == (
        "the verdict must not be worse; the job's cost at most 20 USD"
    )

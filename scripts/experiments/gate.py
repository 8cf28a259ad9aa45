"""`gate:` of an experiment: what its pull-request check (`hpt / NAME`) requires to succeed.

    gate:
      verdict: not-worse   # or `better`: what the comparison with the base branch must say
      max_cost: 20         # this job's cost at most this much (USD)

Either key alone is a gate. With a gate the check concludes success or failure; without one it
is neutral. `not-worse` passes `no baseline` (an experiment new in the pull request has none),
`better` does not. The reporter reads the gate from the default branch's file, so a pull
request cannot loosen its own gate.
"""

from __future__ import annotations

from typing import Any

from scripts.experiments.checker import Checker
from scripts.experiments.model import Gate
from scripts.experiments.source import KeyPath

GATE_KEYS = ("verdict", "max_cost")
GATE_VERDICTS = ("better", "not-worse")


def check_gate(value: Any, path: KeyPath, checker: Checker) -> Gate | None:
    """The `gate:` mapping, each problem reported where it was written."""
    before = len(checker.problems)
    data = checker.mapping(value, path, GATE_KEYS)
    if data is None:
        return None
    verdict = checker.get(data, "verdict", path, checker.choice, GATE_VERDICTS)
    max_cost = checker.get(data, "max_cost", path, checker.number)
    if max_cost is not None and max_cost < 0:
        checker.report((*path, "max_cost"), f"must be at least 0, got {max_cost}")
    if not data:
        checker.report(path, f"a gate needs {' or '.join(GATE_KEYS)}")
    if len(checker.problems) > before:
        return None
    return Gate(verdict=verdict, max_cost=None if max_cost is None else float(max_cost))


def describe(gate: Gate) -> str:
    """The gate's conditions in words: `the verdict must not be worse; the cost at most 20 USD`."""
    conditions = []
    if gate.verdict == "better":
        conditions.append("the verdict must be better")
    elif gate.verdict == "not-worse":
        conditions.append("the verdict must not be worse")
    if gate.max_cost is not None:
        conditions.append(f"the job's cost at most {gate.max_cost:g} USD")
    return "; ".join(conditions)


def failed_conditions(gate: Gate, comparison: dict[str, Any]) -> list[str]:
    """The conditions `comparison` (`scripts.results.compare.comparison`) fails, each in a sentence."""
    failed = []
    verdict = comparison["verdict"]
    if gate.verdict == "better" and verdict != "better":
        failed.append(f"the verdict must be better, and it is {verdict}")
    if gate.verdict == "not-worse" and verdict == "worse":
        failed.append("the verdict must not be worse, and it is worse")
    if gate.max_cost is not None:
        job = comparison["job"]
        if job["cost"] is None:
            failed.append(f"the job's cost must be at most {gate.max_cost:g} USD, and it is unknown")
        elif job["cost"] > gate.max_cost:
            failed.append(
                f"the job's cost must be at most {gate.max_cost:g} USD, and it is "
                f"{job['cost']:.2f} {job['currency']}"
            )
    return failed

"""Small helpers for the experiments tests: a valid base document and problem lookups."""

from __future__ import annotations

import textwrap

import pytest

from scripts.experiments import InvalidExperiments, Problem, load_text

# A minimal valid file; tests build on it. `# <-` marks the line a test expects a problem on.
HEADER = """\
defaults:
  project: my-project
  region: us-central1
  staging_bucket: gs://my-bucket
  image: {repository: hpt, name: trainer}
"""

EXPERIMENT = """\
experiments:
  exp:
    metric: {id: accuracy, goal: maximize}
    parameters:
      learning_rate: {type: double, min: 0.001, max: 1, scale: log}
    max_trial_count: 4
    parallel_trial_count: 2
    worker_pools:
      - machine_type: n1-standard-4
"""


def document(body: str, header: str = HEADER) -> str:
    return header + textwrap.dedent(body)


def problems(text: str, env: dict[str, str] | None = None) -> list[Problem]:
    with pytest.raises(InvalidExperiments) as raised:
        load_text(text, "experiments.yaml", env or {})
    return raised.value.problems


def marked_line(text: str, marker: str = "# <-") -> int:
    lines = [number for number, line in enumerate(text.splitlines(), start=1) if marker in line]
    assert len(lines) == 1, f"expected one {marker!r} in the test document"
    return lines[0]


def the_problem(text: str, field: str, env: dict[str, str] | None = None) -> Problem:
    """The one problem reported for `field` (the test fails listing all problems otherwise)."""
    found = problems(text, env)
    matching = [problem for problem in found if problem.field == field]
    assert len(matching) == 1, "\n".join(map(str, found))
    return matching[0]

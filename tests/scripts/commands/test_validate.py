"""`python -m scripts validate`: exit codes and output formats (its import-light run: test_plan.py)."""

from __future__ import annotations

from scripts import cli
from tests.scripts.experiments.helpers import EXPERIMENT, HEADER


def test_validate_accepts_the_shipped_file(capsys):
    assert cli.main(["validate"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "OK (6 experiments, 1 profile)" in captured.err


def test_validate_prints_one_line_per_problem_and_exits_1(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        HEADER
        + EXPERIMENT.replace("max_trial_count: 4", "max_trial_count: -1").replace(
            "n1-standard-4", "n1-standard-4\n        accelerator: {type: NVIDIA_TESLA_V100, count: 3}"
        )
    )
    assert cli.main(["validate", "--file", str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{bad}:11:22: experiments.exp.max_trial_count: must be at least 1, got -1",
        f"{bad}:15:22: experiments.exp.worker_pools[0].accelerator: "
        "n1-standard-4 takes NVIDIA_TESLA_V100 in counts of 1, 2, 4, 8, not 3",
    ]


def test_validate_github_format_adds_annotations(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(HEADER + EXPERIMENT.replace("goal: maximize", "goal: up"))
    assert cli.main(["validate", "--file", str(bad), "--format", "github"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1] == (
        f"::error file={bad},line=8,col=34::experiments.exp.metric.goal: "
        "'up' is not one of maximize, minimize"
    )


def test_validate_a_missing_file_is_one_line_not_a_traceback(tmp_path, capsys):
    assert cli.main(["validate", "--file", str(tmp_path / "nope.yaml")]) == 1
    out = capsys.readouterr().out
    assert out == f"{tmp_path / 'nope.yaml'}:1:1: (file): cannot read the file: No such file or directory\n"

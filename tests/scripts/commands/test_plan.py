"""`python -m scripts plan`: exit codes, output formats, and (with `validate`) staying import-light."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from scripts import cli, images
from scripts.experiments import CompileContext, compile_experiment, load
from scripts.paths import EXPERIMENTS_FILE

# (`google` and `google.cloud` themselves are namespace stubs that site-packages .pth files register.)
HEAVY = (
    "tensorflow",
    "google.cloud.aiplatform",
    "google.cloud.aiplatform_v1",
    "google.protobuf",
    "grpc",
    "optuna",
    "matplotlib",
)
# Compiling builds the `aiplatform_v1` message; nothing more.
HEAVY_FOR_PLAN = ("tensorflow", "google.cloud.aiplatform", "optuna", "matplotlib")


def test_plan_json_prints_the_compiled_job(capsys):
    assert cli.main(["plan", "horses-humans", "--commit", "b" * 40]) == 0
    printed = json.loads(capsys.readouterr().out)
    commit, tag = images.commit_and_tag("b" * 40)
    expected = compile_experiment(
        load(EXPERIMENTS_FILE, os.environ), "horses-humans", CompileContext(commit=commit, image_tag=tag)
    )
    assert printed == expected.job_json
    assert printed["labels"]["hpt-commit"] == "b" * 40


def test_plan_takes_profile_and_overrides(capsys):
    assert (
        cli.main(
            [
                "plan",
                "horses-humans",
                "--profile",
                "offline",
                "--set",
                "max_trial_count=3",
                "--set",
                "parallel_trial_count=1",
                "--pr",
                "12",
            ]
        )
        == 0
    )
    job = json.loads(capsys.readouterr().out)
    assert (job["maxTrialCount"], job["parallelTrialCount"]) == (3, 1)
    assert job["labels"]["hpt-pr"] == "12"
    assert "--data=synthetic" in job["trialJobSpec"]["workerPoolSpecs"][0]["containerSpec"]["args"]


def test_plan_reports_bad_overrides_as_lines(capsys):
    assert cli.main(["plan", "horses-humans", "--set", "parallel_trial_count=9"]) == 1
    assert capsys.readouterr().err == (
        "--set:1:1: experiments.horses-humans.parallel_trial_count: "
        "9 parallel trials is more than max_trial_count (6)\n"
    )
    assert cli.main(["plan", "horses-humans", "--set", "max_trial_count"]) == 1
    assert "expected FIELD=VALUE" in capsys.readouterr().err


def test_plan_unknown_experiment_lists_the_known_ones(capsys):
    assert cli.main(["plan", "horses"]) == 1
    assert "unknown experiment 'horses'" in capsys.readouterr().err


def test_plan_markdown_shows_the_search_space_machines_and_cost(capsys):
    assert cli.main(["plan", "horses-humans", "--format", "markdown"]) == 0
    text = capsys.readouterr().out
    assert "| `--learning_rate` | double | 0.001 … 1 | log |  |" in text
    assert "| `--num_units` | discrete | 64, 128, 512 | — |  |" in text
    assert "| 0 (chief) | n1-standard-4 | 2 × NVIDIA_TESLA_V100 | 1 | default |" in text
    assert "Bayesian optimization" in text and "6 in total, 2 at a time" in text
    # no timeout: 6 trials x 7 days x 2 GPUs (the figures: tests/scripts/experiments/test_costs.py)
    assert "**2,016 GPU-hours**" in text and "#### Cost" in text


def test_validate_and_plan_json_import_no_heavy_library_and_need_no_cloud_environment(repo_root, tmp_path):
    probe = (
        "import sys, io, contextlib; from scripts import cli\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    assert cli.main(['validate']) == 0\n"
        f"    loaded = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "    assert cli.main(['plan', 'horses-humans']) == 0\n"
        f"print(loaded, [m for m in {HEAVY_FOR_PLAN!r} if m in sys.modules])\n"
    )
    # no project, region, credentials or gcloud configuration: the placeholders apply
    bare = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=repo_root, env=bare, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] []"


def test_plan_markdown_names_the_profile_and_overrides(capsys):
    args = [
        "plan",
        "horses-humans",
        "--format",
        "markdown",
        "--profile",
        "offline",
        "--set",
        "max_trial_count=3",
    ]
    assert cli.main(args) == 0
    text = capsys.readouterr().out
    assert "| Variant | profile `offline`, `--set max_trial_count=3` |" in text
    assert "| Trials | 3 in total, 2 at a time |" in text

"""What doctor says with no credentials at all, and the accelerator peaks it sizes quota from."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from scripts.doctor import needs
from scripts.doctor.report import Check, Status, table, verdict


def test_no_credentials_fails_fast_one_line_per_check_no_traceback(repo_root, tmp_path):
    keep = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(
        HOME=str(tmp_path),
        CLOUDSDK_CONFIG=str(tmp_path / "gcloud"),  # no `gcloud auth application-default login` file
        GCE_METADATA_HOST="127.0.0.1:9",  # no metadata server: refused at once, as off Google Cloud
        GCE_METADATA_IP="127.0.0.1:9",
        GOOGLE_CLOUD_PROJECT="demo-project",
        HPT_STAGING_BUCKET="gs://demo-bucket",
    )
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "scripts", "doctor", "horses-humans"],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 5, result.stdout + result.stderr
    assert elapsed < 15, f"took {elapsed:.1f} s"
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stdout.splitlines()
    marks = [text for text in lines if text and text[0] in "✓✗!–"]
    assert marks[0].startswith("✓ settings")
    credentials = next(text for text in marks if text.startswith("✗ credentials"))
    assert "no Application Default Credentials" in credentials
    assert any("$ gcloud auth application-default login" in text for text in lines)
    names = ("project", "APIs", "permissions", "service accounts", "identity bindings", "bucket")
    for name in (*names, "repository", "image"):
        assert any(text.startswith(f"– {name}") and "no usable credentials" in text for text in marks), name
    quota = next(text for text in marks if text.startswith("– quota NVIDIA_TESLA_V100 us-central1"))
    assert "needs 4 NVIDIA_TESLA_V100 in us-central1" in quota
    # One failure (credentials); everything after it that needs Google Cloud skipped, however many
    # checks there are.
    skipped = [text for text in marks if text.startswith("–")]
    assert [text.split()[1] for text in marks if not text.startswith("–")] == [
        "settings",
        "experiments",
        "credentials",
    ]
    assert lines[-1] == f"1 of {len(marks)} checks failed, {len(skipped)} skipped"


def _shipped_experiments():
    from scripts.experiments.compiler import CompileContext, compile_experiment
    from scripts.experiments.loader import load
    from scripts.paths import EXPERIMENTS_FILE

    env = {"GOOGLE_CLOUD_PROJECT": "demo-project", "GOOGLE_CLOUD_REGION": "us-central1"}
    experiments = load(EXPERIMENTS_FILE, env=env)
    context = CompileContext(env=env, commit="0" * 40, image_tag="inputs-0")
    return [compile_experiment(experiments, name, context) for name in experiments.names]


def test_the_peak_is_per_trial_accelerators_times_parallel_trials_the_largest_experiment_wins():
    demands = [demand for compiled in _shipped_experiments() for demand in needs.demands(compiled)]
    codelab = next(demand for demand in demands if demand.experiment == "horses-humans")
    assert (codelab.accelerator, codelab.per_trial, codelab.parallel, codelab.peak) == (
        "NVIDIA_TESLA_V100",
        2,
        2,
        4,
    )
    peaks = {(peak.accelerator, peak.spot): (peak.peak, peak.experiment) for peak in needs.peaks(demands)}
    assert peaks[("NVIDIA_TESLA_V100", False)] == (4, "horses-humans")
    # Three machines with two T4s each, two trials at once, on spot capacity: its own quota.
    assert peaks[("NVIDIA_TESLA_T4", True)] == (12, "horses-humans-multi-worker")
    assert peaks[("NVIDIA_TESLA_T4", False)] == (4, "horses-humans-early-stopping")


def test_quota_metric_names():
    assert (
        needs.quota_metric("NVIDIA_TESLA_V100")
        == "aiplatform.googleapis.com/custom_model_training_nvidia_v100_gpus"
    )
    assert (
        needs.quota_metric("NVIDIA_TESLA_T4", spot=True)
        == "aiplatform.googleapis.com/custom_model_training_preemptible_nvidia_t4_gpus"
    )
    assert needs.quota_metric("NVIDIA_L4") == "aiplatform.googleapis.com/custom_model_training_nvidia_l4_gpus"
    assert needs.quota_metric("NVIDIA_A100_80GB").endswith("/custom_model_training_nvidia_a100_80gb_gpus")


def test_the_verdict_counts_failures_warnings_and_skips():
    checks = [
        Check("a", Status.OK, "fine"),
        Check("b", Status.FAIL, "broken", "gcloud fix it\n# a note"),
        Check("c", Status.WARN, "unsure"),
        Check("d", Status.SKIP, "skipped: b failed"),
    ]
    assert verdict(checks) == "1 of 4 checks failed, 1 warning, 1 skipped"
    assert verdict(checks[:1]) == "all 1 checks passed"
    rendered = table(checks).splitlines()
    assert rendered[0] == "✓ a  fine"
    assert rendered[2] == "     $ gcloud fix it" and rendered[3] == "       # a note"


def test_with_the_emulator_as_backend_no_google_cloud_check_runs_and_nothing_fails(monkeypatch, capsys):
    from scripts import cli

    monkeypatch.setenv("VERTEX_AI_EMULATOR_HOST", "127.0.0.1:9")  # nothing listens: nothing is asked
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-project")
    assert cli.main(["doctor", "horses-humans"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("✓ experiments") and "4 NVIDIA_TESLA_V100" in lines[0]
    assert lines[1].startswith("✓ backend") and "emulator at 127.0.0.1:9" in lines[1]
    skipped = [text.split()[1] for text in lines[2:] if text.startswith("–")]
    assert skipped[:3] == ["credentials", "project", "APIs"] and "quota" in skipped

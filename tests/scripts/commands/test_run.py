"""`run`, `status`, `cancel` and `report` end to end: CLI, experiments.yaml, real client, fake service."""

from __future__ import annotations

import json

import grpc
import pytest
from google.cloud.aiplatform_v1 import JobState, Trial

from scripts import cli
from scripts.vertex.jobjson import from_json
from tests.fakes.job_service import Fault, Script, make_trial
from tests.scripts.pricing.fixtures import price_table_for, use_price_table

PARENT = "projects/demo-project/locations/europe-west4"
FAST_POLLS = ["--poll-interval", "0.01", "--max-poll-interval", "0.01"]
# A pinned image: the default tag hashes the trainer's files at HEAD, which may move during a test.
IMAGE = ["--set", "image={uri: europe-west4-docker.pkg.dev/demo-project/hpt/trainer:pinned}"]
RUN = ["run", "horses-humans", "--backend", "vertex", "--commit", "abc123", *IMAGE]


@pytest.fixture(autouse=True)
def environment(monkeypatch, tmp_path, fake):
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-project")
    monkeypatch.setenv("GOOGLE_CLOUD_REGION", "europe-west4")
    # `run --backend vertex` spends: it needs a cap, and prices for the region, to submit anything.
    use_price_table(monkeypatch, tmp_path, price_table_for("europe-west4"))  # HPT_STATE_DIR: tmp_path/state
    monkeypatch.setenv("HPT_MAX_COST", "100000")
    for name in ("GITHUB_SHA", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(name, raising=False)
    fake.script = Script(
        trials=[
            make_trial("1", {"learning_rate": 0.05, "momentum": 0.5, "num_units": 64.0}, 0.84),
            make_trial("2", {"learning_rate": 0.3, "momentum": 0.9, "num_units": 512.0}, 0.91),
        ]
    )


def test_run_wait_json_follows_to_the_end_and_prints_the_final_job(fake, capsys, tmp_path):
    assert cli.main([*RUN, "--wait", "--json", *FAST_POLLS]) == 0
    out, err = capsys.readouterr()

    job = from_json(out)
    assert job.state == JobState.JOB_STATE_SUCCEEDED
    assert [t.id for t in job.trials] == ["1", "2"]
    assert job.name == f"{PARENT}/hyperparameterTuningJobs/1000"
    # Where the job is comes first, as soon as it exists; progress and the result follow. The
    # fake is reached as an emulator, which has no console page to link.
    lines = err.splitlines()
    assert lines[0] == f"job {job.name}"
    assert lines[1].strip() == f"emulator at {fake.address}"
    assert "console.cloud.google.com" not in err
    assert "trial 2 succeeded accuracy=0.91" in err
    assert (
        "result: SUCCEEDED; best trial 2: accuracy=0.91 (learning_rate=0.3, momentum=0.9, num_units=512)"
        in err
    )
    run_dir = tmp_path / "state" / "runs" / "1000"
    assert f"wrote {run_dir / 'summary.md'}" in err
    assert json.loads((run_dir / "summary.json").read_text())["best_trial"]["id"] == "2"
    # What was sent is what `plan` prints for the same experiment and commit.
    assert cli.main(["plan", "horses-humans", "--commit", "abc123", *IMAGE]) == 0
    planned = from_json(capsys.readouterr().out)
    sent = fake.requests("CreateHyperparameterTuningJob")[0].hyperparameter_tuning_job
    assert type(sent).serialize(sent) == type(planned).serialize(planned)


def test_running_the_whole_command_twice_creates_one_job(fake, capsys):
    assert cli.main([*RUN, "--wait", *FAST_POLLS]) == 0
    assert cli.main([*RUN, "--wait", *FAST_POLLS]) == 0
    err = capsys.readouterr().err
    assert fake.count("CreateHyperparameterTuningJob") == 1 and len(fake.jobs) == 1
    assert (
        "reusing projects/demo-project/locations/europe-west4/hyperparameterTuningJobs/1000 (SUCCEEDED)"
        in err
    )


def test_run_without_wait_submits_and_returns(fake, capsys):
    assert cli.main([*RUN, "--json"]) == 0
    out, err = capsys.readouterr()
    assert from_json(out).state == JobState.JOB_STATE_PENDING
    assert fake.count("GetHyperparameterTuningJob") == 0
    assert "python -m scripts status projects/demo-project" in err


def test_a_lost_create_reply_during_run_still_makes_one_job(fake, capsys, monkeypatch):
    waits = []
    monkeypatch.setattr("scripts.vertex.calls._sleep", waits.append)
    fake.fail("CreateHyperparameterTuningJob", Fault(grpc.StatusCode.UNAVAILABLE, applied=True))
    assert cli.main([*RUN, "--wait", *FAST_POLLS]) == 0
    assert fake.count("CreateHyperparameterTuningJob") == 1 and len(fake.jobs) == 1
    assert len(waits) == 1 and "the lost create had been applied" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        (
            grpc.StatusCode.PERMISSION_DENIED,
            "Permission 'aiplatform.hyperparameterTuningJobs.create' denied",
            "workload identity of the workflow) `roles/aiplatform.user` on project demo-project",
        ),
        (
            grpc.StatusCode.INVALID_ARGUMENT,
            "Invalid machine_spec.accelerator_type for region europe-west4",
            "Vertex AI rejected the job: fix the field it names in experiments.yaml",
        ),
    ],
)
def test_errors_that_need_a_fix_exit_1_with_one_line_and_no_retry(fake, capsys, code, message, expected):
    fake.fail("CreateHyperparameterTuningJob", Fault(code, message))
    assert cli.main([*RUN, "--wait", "--json", *FAST_POLLS]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: submitting experiment 'horses-humans'")
    assert expected in err and f"({code.name}: {message})" in err
    assert fake.count("CreateHyperparameterTuningJob") == 1 and not fake.jobs


def test_a_failed_job_exits_4_and_still_writes_its_summary(fake, capsys, tmp_path):
    fake.script = Script(
        trials=[
            make_trial(
                "1",
                {"num_units": 64.0},
                None,
                state=Trial.State.INFEASIBLE,
                reason="The trial's process exited with status 1.",
            )
        ],
        state=JobState.JOB_STATE_FAILED,
        error="Too many trials failed.",
    )
    assert cli.main([*RUN, "--wait", *FAST_POLLS]) == 4
    err = capsys.readouterr().err
    assert "result: FAILED; no trial succeeded with a final accuracy" in err
    assert "error: Too many trials failed." in err
    summary = (tmp_path / "state" / "runs" / "1000" / "summary.md").read_text()
    assert "FAILED" in summary and "> **Error:** Too many trials failed." in summary


def test_local_backend_with_an_emulator_host_always_waits(fake, capsys, tmp_path):
    assert cli.main(["run", "horses-humans", "--backend", "local", "--commit", "abc123", *FAST_POLLS]) == 0
    err = capsys.readouterr().err
    assert f"emulator at {fake.address}" in err and "job SUCCEEDED" in err
    summary = (tmp_path / "state" / "runs" / "1000" / "summary.md").read_text()
    assert "console.cloud.google.com" not in summary and "(local emulator)" in summary


def submitted(fake) -> str:
    assert cli.main([*RUN]) == 0
    return next(iter(fake.jobs))


def test_status_accepts_a_bare_id_with_project_and_region(fake, capsys):
    name = submitted(fake)
    capsys.readouterr()
    assert cli.main(["status", "1000", "--project", "demo-project", "--region", "europe-west4"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{name} (horses-humans-abc123)"
    assert "job RUNNING: 0/6 trials done" in out


def test_a_bare_id_without_a_project_says_what_is_missing(fake, capsys, monkeypatch):
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT")
    assert cli.main(["status", "1000"]) == 1
    assert (
        "job id '1000' needs --project (or GOOGLE_CLOUD_PROJECT / GOOGLE_CLOUD_REGION)"
        in capsys.readouterr().err
    )


def test_report_prints_markdown_or_json_for_a_finished_job(fake, capsys):
    assert cli.main([*RUN, "--wait", *FAST_POLLS]) == 0
    name = next(iter(fake.jobs))
    capsys.readouterr()
    assert cli.main(["report", name]) == 0
    markdown = capsys.readouterr().out
    assert markdown.startswith("### Hyperparameter tuning `horses-humans-abc123`: SUCCEEDED")
    assert "**Best trial 2**: `accuracy` = **0.91** (maximize)" in markdown
    assert cli.main(["report", name, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["best_trial"]["parameters"] == {"learning_rate": 0.3, "momentum": 0.9, "num_units": 512}


def test_cancel_requests_cancellation_and_waits_for_it(fake, capsys):
    name = submitted(fake)
    assert cli.main(["cancel", name, "--wait"]) == 0
    assert fake.jobs[name].state == JobState.JOB_STATE_CANCELLED
    assert f"{name}: CANCELLED" in capsys.readouterr().err
    # A second cancel has nothing to do and says so, instead of failing.
    assert cli.main(["cancel", name]) == 0
    assert "already ended: CANCELLED" in capsys.readouterr().err
    assert fake.count("CancelHyperparameterTuningJob") == 1


def test_status_of_a_missing_job_is_an_error_not_a_traceback(fake, capsys):
    assert cli.main(["status", f"{PARENT}/hyperparameterTuningJobs/999"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: reading job") and "not found" in err and "Traceback" not in err


def test_an_invalid_experiment_is_reported_and_nothing_is_sent(fake, capsys):
    assert cli.main([*RUN, "--set", "max_trial_count=-1", "--wait"]) == 1
    err = capsys.readouterr().err
    assert "max_trial_count" in err and err.startswith("--set:")
    assert fake.calls == []


@pytest.mark.parametrize("backend", ["vertex", "local"])
def test_run_with_a_registry_submits_the_image_by_digest_and_without_one_in_it_submits_nothing(
    fake, capsys, registry, backend
):
    command = ["run", "horses-humans", "--backend", backend, "--commit", "abc123", *IMAGE, *FAST_POLLS]
    assert cli.main(command) == 1
    assert "no digest, no job" in capsys.readouterr().err
    assert fake.count("CreateHyperparameterTuningJob") == 0

    registry.push("europe-west4-docker.pkg.dev/demo-project/hpt/trainer:pinned", "sha256:" + "7" * 64)
    assert cli.main([*command, "--json"]) == 0
    sent = fake.requests("CreateHyperparameterTuningJob")[0].hyperparameter_tuning_job
    assert sent.trial_job_spec.worker_pool_specs[0].container_spec.image_uri == (
        "europe-west4-docker.pkg.dev/demo-project/hpt/trainer@sha256:" + "7" * 64
    )

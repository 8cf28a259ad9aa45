"""What a trial sees and how its end is recorded: the trial contract, failures, parallelism."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from google.cloud.aiplatform_v1 import ContainerSpec, EnvVar, GcsDestination, JobState, Trial

from scripts.emulator.trials import HOST_VARIABLE_PREFIXES, HOST_VARIABLES, VERTEX_VARIABLES

from .conftest import STANDIN, ParameterSpec, StudySpec, discrete, double, make_job


def _records(directory: Path) -> dict[str, dict]:
    paths = directory.glob("trial-*.json")
    return {path.stem.removeprefix("trial-"): json.loads(path.read_text()) for path in paths}


def test_a_trial_gets_vertex_argv_and_environment(emulator, repo_root):
    job = make_job(
        args=[f"--record={emulator.records}", "--steps=1"],
        parameters=[
            double("learning_rate", 0.001, 1.0, ParameterSpec.ScaleType.UNIT_LOG_SCALE),
            discrete("num_units", [64, 128, 512]),
            ParameterSpec(
                parameter_id="optimizer",
                categorical_value_spec=ParameterSpec.CategoricalValueSpec(values=["sgd"]),
            ),
            ParameterSpec(
                parameter_id="layers",
                integer_value_spec=ParameterSpec.IntegerValueSpec(min_value=2, max_value=3),
            ),
        ],
        max_trials=1,
    )
    job.trial_job_spec.base_output_directory = GcsDestination(output_uri_prefix="gs://bucket/runs/one")
    job.trial_job_spec.worker_pool_specs[0].container_spec.env = [EnvVar(name="EXTRA", value="yes")]
    job = emulator.wait(emulator.submit(job).name)
    trial = job.trials[0]
    record = _records(emulator.records)["1"]

    values = {p.parameter_id: p.value for p in trial.parameters}
    # The container args, then one flag per parameter; integers without ".0", as the codelab expects.
    assert record["argv"] == [
        f"--record={emulator.records}",
        "--steps=1",
        f"--learning_rate={values['learning_rate']!r}",
        f"--num_units={int(values['num_units'])}",
        "--optimizer=sgd",
        f"--layers={int(values['layers'])}",
    ]
    assert record["cwd"] == str(repo_root)
    env = record["env"]
    assert env["CLOUD_ML_TRIAL_ID"] == "1"
    metric_file = Path(env["CLOUD_ML_HP_METRIC_FILE"])
    assert metric_file.is_absolute() and metric_file.is_relative_to(emulator.state_dir)
    outputs = emulator.state_dir / "gcs" / "bucket" / "runs" / "one" / "1"
    # Vertex's form: directories end with a slash
    assert env["AIP_MODEL_DIR"] == f"{outputs / 'model'}/"
    assert env["AIP_CHECKPOINT_DIR"] == f"{outputs / 'checkpoints'}/"
    assert env["AIP_TENSORBOARD_LOG_DIR"] == f"{outputs / 'logs'}/"
    assert env["EXTRA"] == "yes"
    cluster = json.loads(env["CLUSTER_SPEC"])
    assert cluster["task"] == {"type": "workerpool0", "index": 0, "trial": "1"}
    assert len(cluster["cluster"]["workerpool0"]) == 1
    tf_config = json.loads(env["TF_CONFIG"])
    assert list(tf_config["cluster"]) == ["chief"] and tf_config["task"]["type"] == "chief"
    # Each trial's output goes to its own log file.
    log = emulator.state_dir / "jobs" / job.name.rsplit("/", 1)[-1] / "trials" / "1" / "trial.log"
    assert "--learning_rate=" in log.read_text()
    assert "stand-in trial 1 to stdout" in log.read_text() and "stand-in trial 1 to stderr" in log.read_text()


def test_more_reports_than_the_hypertune_file_keeps_are_all_measured(emulator):
    # cloudml-hypertune keeps only its last 100 reports in the file; the emulator reads as it goes.
    job = emulator.wait(emulator.submit(make_job(args=["--steps=130", "--sleep=0.01"], max_trials=1)).name)
    assert [m.step_count for m in job.trials[0].measurements] == list(range(1, 131))


def test_without_a_base_output_directory_no_output_variables_are_set(emulator):
    job = emulator.wait(emulator.submit(make_job(args=[f"--record={emulator.records}"], max_trials=1)).name)
    assert job.state == JobState.JOB_STATE_SUCCEEDED
    env = _records(emulator.records)["1"]["env"]
    assert not {"AIP_MODEL_DIR", "AIP_CHECKPOINT_DIR", "AIP_TENSORBOARD_LOG_DIR"} & set(env)
    assert env["CLOUD_ML_TRIAL_ID"] == "1"


def test_a_container_command_replaces_the_entrypoint(emulator):
    job = make_job(max_trials=1)
    # The emulator's entrypoint would pass the stand-in's path first; the command puts it in args.
    job.trial_job_spec.worker_pool_specs[0].container_spec = ContainerSpec(
        image_uri="unused", command=[sys.executable], args=[str(STANDIN), f"--record={emulator.records}"]
    )
    job = emulator.wait(emulator.submit(job).name)
    assert job.state == JobState.JOB_STATE_SUCCEEDED
    assert _records(emulator.records)["1"]["argv"][0] == f"--record={emulator.records}"


def test_two_trials_overlap_in_time_when_parallel_is_two(emulator):
    job = make_job(args=[f"--record={emulator.records}", "--sleep=1.5"], max_trials=2, parallel=2)
    emulator.wait(emulator.submit(job).name)
    first, second = sorted(_records(emulator.records).values(), key=lambda r: r["started"])

    assert second["started"] < first["ended"]


def test_jobs_share_the_machine_cap_on_trials_running_at_once(emulator):
    # The fixture's emulator runs at most 2 trials at once, over all its jobs.
    names = [
        emulator.submit(
            make_job(args=[f"--record={emulator.records / str(n)}", "--sleep=1.0"], max_trials=2, parallel=2)
        ).name
        for n in range(2)
    ]
    jobs = [emulator.wait(name) for name in names]
    assert all(job.state == JobState.JOB_STATE_SUCCEEDED for job in jobs)

    runs = [record for n in range(2) for record in _records(emulator.records / str(n)).values()]
    assert len(runs) == 4
    most_at_once = max(sum(r["started"] <= run["started"] < r["ended"] for r in runs) for run in runs)
    assert most_at_once <= 2  # without the shared cap, the two jobs would run 4 at once


def test_a_trial_that_reports_nothing_is_infeasible_and_one_that_crashes_says_why(emulator):
    job = make_job(args=["--report_nothing"], max_trials=1)
    job = emulator.wait(emulator.submit(job).name)
    assert job.trials[0].state == Trial.State.INFEASIBLE
    assert "no measurement of metric 'accuracy'" in job.trials[0].infeasible_reason
    assert job.state == JobState.JOB_STATE_FAILED
    assert "1 failed trials and none succeeded" in job.error.message

    job = emulator.wait(emulator.submit(make_job(args=["--metric_tag=val_acc"], max_trials=1)).name)
    assert job.trials[0].infeasible_reason == (
        "infeasible: the trial reported no measurement of metric 'accuracy'; it reported 'val_acc' instead."
    )

    job = make_job(args=["--exit_code=3"], max_trials=1)
    job = emulator.wait(emulator.submit(job).name)
    assert job.trials[0].state == Trial.State.INFEASIBLE
    assert "exited with status 3" in job.trials[0].infeasible_reason
    assert job.trials[0].measurements  # what it reported before failing is kept


def test_a_command_that_cannot_start_makes_infeasible_trials_not_an_emulator_error(emulator):
    job = make_job(max_trials=2, max_failed=2)
    job.trial_job_spec.worker_pool_specs[0].container_spec.command = ["/nonexistent/trainer"]
    job = emulator.wait(emulator.submit(job).name)

    assert job.state == JobState.JOB_STATE_FAILED
    assert [t.state for t in job.trials] == [Trial.State.INFEASIBLE] * 2
    assert "could not start" in job.trials[0].infeasible_reason
    assert "/nonexistent/trainer" in job.trials[0].infeasible_reason
    assert "2 failed trials reached max_failed_trial_count 2" in job.error.message


@pytest.mark.parametrize(
    ("max_failed", "expected_trials", "message"),
    [
        (2, 2, "2 failed trials reached max_failed_trial_count 2"),
        (0, 3, "3 failed trials and none succeeded"),  # the emulator's rule for 0
    ],
)
def test_failed_trials_fail_the_job_at_max_failed_trial_count(emulator, max_failed, expected_trials, message):
    job = make_job(args=["--exit_code=1"], max_trials=6, parallel=1, max_failed=max_failed)
    job = emulator.wait(emulator.submit(job).name)

    assert job.state == JobState.JOB_STATE_FAILED
    assert len(job.trials) == expected_trials  # no trial started after the limit
    assert message in job.error.message
    assert "exited with status 1" in job.error.message


def test_some_failed_trials_below_the_limit_do_not_fail_the_job(emulator):
    # A tuned flag named like the stand-in's `--exit_code` makes the second grid point crash.
    job = make_job(
        parameters=[discrete("exit_code", [0, 1])],
        max_trials=2,
        max_failed=2,
        algorithm=StudySpec.Algorithm.GRID_SEARCH,
    )
    job = emulator.wait(emulator.submit(job).name)

    assert job.state == JobState.JOB_STATE_SUCCEEDED
    assert [t.state for t in job.trials] == [Trial.State.SUCCEEDED, Trial.State.INFEASIBLE]


def test_reading_a_hypertune_file_mid_rewrite_skips_the_partial_line(tmp_path):
    from scripts.emulator.trials import read_measurements

    metric_file = tmp_path / "output.metrics"
    metric_file.write_text(
        '{"accuracy": "0.5", "global_step": "1", "timestamp": 100.0, "trial": "1"}\n'
        '{"loss": "0.7", "global_step": "1", "timestamp": 100.5, "trial": "1"}\n'
        '{"accuracy": "0.6", "global_step": "2", "timestamp": 101.0, "trial": "1"}\n'
        '{"accuracy": "0.7", "global_st'
    )
    reports = read_measurements(metric_file, "accuracy", started=99.0)

    assert [(m.step_count, m.metrics[0].value) for m in reports.values()] == [(1, 0.5), (2, 0.6)]
    assert [m.elapsed_duration.total_seconds() for m in reports.values()] == [1.0, 2.0]
    assert read_measurements(tmp_path / "missing", "accuracy", started=0.0) == {}


def _multi_worker_job(records: Path, chief_args: list[str], worker_args: list[str]):
    from google.cloud.aiplatform_v1 import WorkerPoolSpec

    job = make_job(args=[f"--record={records / 'chief'}", *chief_args], max_trials=1)
    pool = WorkerPoolSpec(job.trial_job_spec.worker_pool_specs[0])
    pool.replica_count = 2
    pool.container_spec.args = [f"--record={records / 'workers'}", *worker_args]
    job.trial_job_spec.worker_pool_specs.append(pool)
    return job


def test_a_multi_worker_trial_runs_a_chief_and_workers_that_share_one_cluster(emulator):
    job = _multi_worker_job(emulator.records, ["--steps=2", "--sleep=0.3"], ["--steps=200", "--sleep=0.1"])
    job = emulator.wait(emulator.submit(job).name)

    trial = job.trials[0]
    assert trial.state == Trial.State.SUCCEEDED
    assert [m.step_count for m in trial.measurements] == [1, 2]  # the chief's reports only
    chief = json.loads((emulator.records / "chief" / "trial-1.json").read_text())
    workers = sorted(
        (json.loads(p.read_text()) for p in (emulator.records / "workers").glob("*.json")),
        key=lambda r: json.loads(r["env"]["TF_CONFIG"])["task"]["index"],
    )
    assert len(workers) == 2
    configs = [json.loads(r["env"]["TF_CONFIG"]) for r in [chief, *workers]]
    assert configs[0]["task"] == {"type": "chief", "index": 0, "trial": "1"}
    assert all(c["task"]["type"] == "worker" for c in configs[1:])
    assert len(configs[0]["cluster"]["chief"]) == 1 and len(configs[0]["cluster"]["worker"]) == 2
    assert all(c["cluster"] == configs[0]["cluster"] for c in configs)
    assert json.loads(chief["env"]["CLUSTER_SPEC"])["cluster"].keys() == {"workerpool0", "workerpool1"}
    # Same parameters for every replica; a metric file of their own for the workers.
    flags = [a for a in chief["argv"] if a.startswith("--base=")]
    assert all([a for a in w["argv"] if a.startswith("--base=")] == flags for w in workers)
    metric_files = {r["env"]["CLOUD_ML_HP_METRIC_FILE"] for r in [chief, *workers]}
    assert len(metric_files) == 3
    # The chief ended the trial: the workers were stopped, not waited for.
    assert all(w["terminated"] for w in workers)


def test_a_failing_worker_fails_its_trial(emulator):
    job = _multi_worker_job(emulator.records, ["--steps=100", "--sleep=0.1"], ["--sleep=1", "--exit_code=3"])
    job = emulator.wait(emulator.submit(job).name)

    reason = job.trials[0].infeasible_reason
    assert job.trials[0].state == Trial.State.INFEASIBLE
    assert "replica workerpool1-" in reason and "exited with status 3" in reason
    assert json.loads((emulator.records / "chief" / "trial-1.json").read_text())["terminated"]


def test_a_trial_sees_no_host_credentials_only_the_allow_list(emulator, monkeypatch):
    # Canaries: a credential, a token and an arbitrary variable set on the host (the emulator's
    # process) must not reach the trial; allowed host variables and container_spec.env do.
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/secret/canary-key.json")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_canary")
    monkeypatch.setenv("HPT_CANARY", "canary")
    monkeypatch.setenv("AIP_MODEL_DIR", "/host/leak")  # Vertex's own names are never the host's
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    job = make_job(args=[f"--record={emulator.records}"], max_trials=1)
    job.trial_job_spec.worker_pool_specs[0].container_spec.env = [EnvVar(name="HPT_CANARY", value="given")]
    job = emulator.wait(emulator.submit(job).name)
    assert job.state == JobState.JOB_STATE_SUCCEEDED
    env = _records(emulator.records)["1"]["env"]
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in env and "GITHUB_TOKEN" not in env
    assert "canary-key" not in json.dumps(env) and "ghs_canary" not in json.dumps(env)
    assert "AIP_MODEL_DIR" not in env  # no base output directory: Vertex sets none
    assert env["HPT_CANARY"] == "given"  # container_spec.env, as on Vertex
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "2" and env["LC_ALL"] == "C.UTF-8" and env["PATH"]
    unexpected = {
        name
        for name in env
        if name not in HOST_VARIABLES
        and not name.startswith(HOST_VARIABLE_PREFIXES)
        and name not in VERTEX_VARIABLES
        and name not in {"HPT_CANARY", "PYTHONUNBUFFERED"}
    }
    # what the interpreter itself adds at start-up (e.g. LC_CTYPE coercion) is all that may remain
    assert unexpected <= {"LC_CTYPE"}, unexpected

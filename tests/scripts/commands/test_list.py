"""`python -m scripts list`: a backend's jobs, newest first, filtered on the server.

Vertex AI is the fake JobService on loopback; the local backend is the real emulator over a
state directory (one it serves for the call, or one another process already serves).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from google.cloud.aiplatform_v1 import HyperparameterTuningJob, JobState, Trial

from scripts import cli
from scripts.emulator.embedded import running_emulator
from scripts.jobs import labels
from scripts.jobs.names import parse_job_name
from scripts.vertex.backend import Backend
from tests.fakes.job_service import BASE_TIME, make_trial
from tests.scripts.emulator.conftest import STANDIN_ENTRYPOINT, client_for, make_job
from tests.scripts.vertex.conftest import LOCATION, PARENT, PROJECT, codelab_job

LIST = "ListHyperparameterTuningJobs"
VERTEX = ["list", "--backend", "vertex", "--project", PROJECT, "--region", LOCATION]


def _stored(
    fake, number: int, experiment: str, state: str, minutes: int, trials=()
) -> HyperparameterTuningJob:
    job = codelab_job()
    job.name = f"{PARENT}/hyperparameterTuningJobs/{number}"
    job.labels[labels.EXPERIMENT] = experiment
    job.state = JobState[state]
    job.create_time = BASE_TIME + dt.timedelta(minutes=minutes)
    job.trials.extend(trials)
    return fake.add_job(job)


@pytest.fixture
def jobs(fake):
    done = [make_trial("1", {"learning_rate": 0.1}, 0.8), make_trial("2", {"learning_rate": 0.2}, 0.9)]
    running = make_trial("3", {"learning_rate": 0.3}, None, state=Trial.State.ACTIVE)
    return {
        "old": _stored(fake, 7, "horses-humans", "JOB_STATE_SUCCEEDED", 1, done),
        "new": _stored(fake, 9, "horses-humans", "JOB_STATE_RUNNING", 30, [*done, running]),
        "middle": _stored(fake, 8, "other", "JOB_STATE_FAILED", 10),
    }


def test_vertex_lists_newest_first_with_state_trials_and_time(fake, jobs, capsys):
    assert cli.main(VERTEX) == 0
    lines = capsys.readouterr().out.splitlines()

    assert lines[0].split() == ["id", "experiment", "state", "trials", "created", "(UTC)"]
    assert [line.split()[:4] for line in lines[1:]] == [
        ["9", "horses-humans", "RUNNING", "2/6"],
        ["8", "other", "FAILED", "0/6"],
        ["7", "horses-humans", "SUCCEEDED", "2/6"],
    ]
    assert lines[1].split()[4:] == ["2026-01-01", "12:30"]
    assert fake.requests(LIST)[0].parent == PARENT and fake.requests(LIST)[0].filter == ""


def test_a_vertex_job_row_ends_with_its_console_page(jobs):
    from scripts.commands.list import job_row, table

    rows = [job_row(jobs["new"], Backend.vertex()), job_row(jobs["old"], Backend.vertex())]
    lines = table(rows)
    assert lines[0].split()[-1] == "console"
    assert lines[1].split()[-1] == parse_job_name(jobs["new"].name).console_url == rows[0]["console_url"]


def test_the_experiment_and_states_are_filtered_by_the_server(fake, jobs, capsys):
    argv = [
        *VERTEX,
        "--experiment",
        "horses-humans",
        "--state",
        "running",
        "JOB_STATE_FAILED",
        "--format",
        "json",
    ]
    assert cli.main(argv) == 0
    rows = json.loads(capsys.readouterr().out)

    assert fake.requests(LIST)[-1].filter == (
        'labels.hpt-experiment="horses-humans" AND (state="JOB_STATE_RUNNING" OR state="JOB_STATE_FAILED")'
    )
    assert [row["name"] for row in rows] == [jobs["new"].name]
    assert rows[0]["trials"] == {"done": 2, "total": 6, "succeeded": 2, "running": 1}
    assert rows[0]["state"] == "RUNNING" and rows[0]["experiment"] == "horses-humans"
    assert rows[0]["create_time"] == "2026-01-01T12:30:00Z" and rows[0]["end_time"] is None

    assert cli.main([*VERTEX, "--state", "succeeded", "--format", "json"]) == 0
    assert fake.requests(LIST)[-1].filter == 'state="JOB_STATE_SUCCEEDED"'
    assert [row["id"] for row in json.loads(capsys.readouterr().out)] == ["7"]


def test_limit_keeps_the_newest_and_says_how_many_are_left_out(fake, jobs, capsys):
    assert cli.main([*VERTEX, "--limit", "1", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert [row["id"] for row in json.loads(out)] == ["9"]
    assert "2 older jobs not shown" in err


def test_an_unknown_state_is_a_usage_error_that_suggests_one(fake, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main([*VERTEX, "--state", "succeded"])
    assert exited.value.code == 2
    assert "unknown state 'succeded' (did you mean 'succeeded'?)" in capsys.readouterr().err


def test_no_match_of_a_misspelt_experiment_suggests_the_name_in_the_file(fake, jobs, capsys):
    assert cli.main([*VERTEX, "--experiment", "horses-human"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "of experiment 'horses-human' (did you mean 'horses-humans'?)" in err


def _local_jobs(state_dir, count: int = 2) -> list[str]:
    """Jobs run to the end by an emulator over `state_dir` (which then stops)."""
    names = []
    with running_emulator(state_dir, entrypoint=STANDIN_ENTRYPOINT, poll_interval=0.05) as address:
        client = client_for(address)
        for index in range(count):
            job = make_job(labels={labels.EXPERIMENT: f"exp-{index}"}, max_trials=1)
            parent = f"projects/p{index}/locations/us-central1"
            names.append(
                client.create_hyperparameter_tuning_job(parent=parent, hyperparameter_tuning_job=job).name
            )
        for name in names:
            while not client.get_hyperparameter_tuning_job(name=name).end_time:
                pass
        client.transport.close()
    return names


def test_local_lists_every_project_of_the_state_directory_newest_first(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("VERTEX_AI_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("HPT_STATE_DIR", str(tmp_path / "state"))
    first, second = _local_jobs(tmp_path / "state")

    assert cli.main(["list", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in rows] == [second, first]
    assert {row["console_url"] for row in rows} == {None}  # an emulator's job has no console page
    assert [row["experiment"] for row in rows] == ["exp-1", "exp-0"]

    assert cli.main(["list", "--project", "p0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["id", "experiment", "state", "trials", "created", "(UTC)"]
    assert [line.split()[:4] for line in lines[1:]] == [["1", "exp-0", "SUCCEEDED", "1/1"]]


def test_local_asks_the_emulator_that_already_serves_the_state_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("VERTEX_AI_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("HPT_STATE_DIR", str(tmp_path / "state"))
    with running_emulator(tmp_path / "state", entrypoint=STANDIN_ENTRYPOINT) as address:
        client = client_for(address)
        job = make_job(labels={labels.EXPERIMENT: "busy"}, args=["--steps=50", "--sleep=0.2"], max_trials=1)
        created = client.create_hyperparameter_tuning_job(
            parent="projects/p/locations/us-central1", hyperparameter_tuning_job=job
        )
        assert cli.main(["list", "--experiment", "busy", "--format", "json"]) == 0
        client.cancel_hyperparameter_tuning_job(name=created.name)
        client.transport.close()
    rows = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in rows] == [created.name]
    assert rows[0]["state"] in ("PENDING", "RUNNING")


def test_local_with_no_state_directory_lists_nothing_and_creates_none(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("VERTEX_AI_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("HPT_STATE_DIR", str(tmp_path / "none"))
    assert cli.main(["list"]) == 0
    assert "no jobs on the local backend" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()

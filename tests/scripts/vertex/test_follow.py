"""Following a job to its end: polling, progress on stderr, end states and their exit status."""

from __future__ import annotations

import datetime as dt
import io

import grpc
import pytest
from google.cloud.aiplatform_v1 import HyperparameterTuningJob, JobState, Measurement, StudySpec, Trial

from scripts.errors import UserError
from scripts.vertex.progress import ProgressDisplay
from scripts.vertex.service import PollSchedule, cancel_job, exit_status, follow
from tests.fakes.job_service import Fault, Script, make_trial
from tests.scripts.vertex.conftest import submit

GET = "GetHyperparameterTuningJob"


def codelab_trials() -> list[Trial]:
    return [
        make_trial("1", {"learning_rate": 0.01, "num_units": 64.0}, 0.81),
        make_trial("2", {"learning_rate": 0.2, "num_units": 512.0}, 0.93),
        make_trial(
            "3",
            {"learning_rate": 0.9, "num_units": 128.0},
            None,
            state=Trial.State.INFEASIBLE,
            reason="The trial reported no measurement of metric 'accuracy'.",
        ),
    ]


def quiet() -> ProgressDisplay:
    return ProgressDisplay(io.StringIO(), live=False)


def test_full_lifecycle_submit_follow_and_progress_lines(fake, client, compiled, policy):
    fake.script = Script(trials=codelab_trials())
    stream = io.StringIO()
    waits = []
    job = submit(client, compiled, policy=policy, notify=lambda message: None, emulator=fake.address)
    final = follow(
        client,
        job.name,
        display=ProgressDisplay(stream, live=False),
        policy=policy,
        schedule=PollSchedule(initial=1, growth=2, maximum=8),
        sleep=waits.append,
    )

    assert final.state == JobState.JOB_STATE_SUCCEEDED and exit_status(final) == 0
    assert [t.id for t in final.trials] == ["1", "2", "3"]
    # Every step once, in order: the first while the trial runs, the second arrives with its end.
    assert stream.getvalue().splitlines() == [
        "job RUNNING",
        "trial 1 active learning_rate=0.01 num_units=64",
        "trial 1 step 1 accuracy=0.405",
        "trial 1 step 2 accuracy=0.81",
        "trial 1 succeeded accuracy=0.81",
        "trial 2 active learning_rate=0.2 num_units=512",
        "trial 2 step 1 accuracy=0.465",
        "trial 2 step 2 accuracy=0.93",
        "trial 2 succeeded accuracy=0.93",
        "trial 3 active learning_rate=0.9 num_units=128",
        "trial 3 infeasible (The trial reported no measurement of metric 'accuracy'.)",
        "job SUCCEEDED",
    ]
    # Something changed at every poll of this job, so the interval never grew.
    assert waits == [1] * (fake.count(GET) - 1)


def test_a_failed_job_exits_non_zero_with_its_error(fake, client, compiled):
    fake.script = Script(
        trials=codelab_trials()[2:], state=JobState.JOB_STATE_FAILED, error="Too many trials failed."
    )
    job = submit(client, compiled, notify=lambda message: None, emulator=fake.address)
    final = follow(client, job.name, display=quiet(), sleep=lambda seconds: None)
    assert final.state == JobState.JOB_STATE_FAILED
    assert final.error.message == "Too many trials failed."
    assert exit_status(final) == 4  # not 1: a job that ended badly is not a user error


def test_a_job_cancelled_while_followed_ends_cancelled(fake, client, compiled):
    fake.script = Script(trials=codelab_trials())
    job = submit(client, compiled, notify=lambda message: None, emulator=fake.address)
    polls = []

    def cancel_after_two_polls(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 2:
            cancel_job(client, job.name)

    final = follow(client, job.name, display=quiet(), sleep=cancel_after_two_polls)
    assert final.state == JobState.JOB_STATE_CANCELLED
    assert exit_status(final) == 3
    assert fake.count("CancelHyperparameterTuningJob") == 1


def test_transient_errors_while_polling_are_ridden_out(fake, client, compiled, policy, sleeps):
    fake.script = Script(trials=codelab_trials()[:1])
    job = submit(client, compiled, notify=lambda message: None, emulator=fake.address)
    fake.fail(GET, Fault(grpc.StatusCode.UNAVAILABLE), Fault(grpc.StatusCode.DEADLINE_EXCEEDED))
    final = follow(client, job.name, display=quiet(), policy=policy, sleep=lambda seconds: None)
    assert final.state == JobState.JOB_STATE_SUCCEEDED
    assert len(sleeps) == 2


def test_a_job_that_does_not_exist_is_a_clear_error(fake, client):
    with pytest.raises(UserError, match="reading job .*/hyperparameterTuningJobs/404: not found"):
        follow(client, "projects/p/locations/us-central1/hyperparameterTuningJobs/404", display=quiet())


def test_the_poll_interval_grows_while_nothing_changes_and_restarts_on_change():
    schedule = PollSchedule(initial=5, growth=2, maximum=30)
    assert [schedule.next(changed=False) for _ in range(5)] == [5, 10, 20, 30, 30]
    assert schedule.next(changed=True) == 5
    assert schedule.next(changed=False) == 10


def test_a_terminal_redraws_a_table_of_trials_in_place(fake, client, compiled):
    fake.script = Script(trials=codelab_trials())
    job = submit(client, compiled, notify=lambda message: None, emulator=fake.address)
    stream = io.StringIO()
    display = ProgressDisplay(stream, live=True)
    now = dt.datetime(2026, 1, 1, 12, 30, tzinfo=dt.UTC)
    for _ in range(3):  # RUNNING; trial 1 running; trial 1 done
        job = client.get_hyperparameter_tuning_job(name=job.name)
    display.update(job, now)
    first = stream.getvalue()
    job = client.get_hyperparameter_tuning_job(name=job.name)  # trial 2 running
    display.update(job, now)
    second = stream.getvalue()[len(first) :]

    first_lines = first.splitlines()
    assert first_lines[0] == "job RUNNING: 1/6 trials done, 0 running, 1 succeeded"
    assert first_lines[1].split() == ["trial", "state", "accuracy", "step", "elapsed", "parameters"]
    assert first_lines[2].split() == [
        "1",
        "succeeded",
        "0.81",
        "2",
        "1:00",
        "learning_rate=0.01",
        "num_units=64",
    ]
    # The second draw moves up over the first table and clears it before drawing.
    assert second.startswith(f"\x1b[{len(first_lines)}F\x1b[J")
    assert second.splitlines()[-1].split()[:4] == ["2", "active", "0.465", "1"]


def test_a_long_table_keeps_the_running_trials_and_the_latest_ended_ones():
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob, StudySpec

    trials = [make_trial(str(i), {"x": float(i)}, i / 100) for i in range(1, 21)]
    trials[2] = make_trial("3", {"x": 3.0}, None, state=Trial.State.ACTIVE)
    spec = StudySpec(metrics=[StudySpec.MetricSpec(metric_id="accuracy")])
    job = HyperparameterTuningJob(
        study_spec=spec, trials=trials, max_trial_count=30, state="JOB_STATE_RUNNING"
    )

    lines = ProgressDisplay.table(job, dt.datetime.now(dt.UTC), max_rows=4)
    assert lines[0] == "job RUNNING: 19/30 trials done, 1 running, 19 succeeded"
    assert [line.split()[0] for line in lines[2:-1]] == ["3", "18", "19", "20"]
    assert lines[-1] == "(16 earlier trials not shown)"


def _running(trial_id: str, values: list[float]) -> Trial:
    trial = make_trial(trial_id, {"x": 1.0}, None, state=Trial.State.ACTIVE)
    for step, value in enumerate(values, start=1):
        trial.measurements.append(
            Measurement(step_count=step, metrics=[Measurement.Metric(metric_id="accuracy", value=value)])
        )
    return trial


def _job(*trials: Trial, state: str = "JOB_STATE_RUNNING") -> HyperparameterTuningJob:
    spec = StudySpec(metrics=[StudySpec.MetricSpec(metric_id="accuracy")])
    return HyperparameterTuningJob(study_spec=spec, trials=list(trials), max_trial_count=4, state=state)


def test_a_log_shows_every_step_even_when_several_arrive_between_two_polls():
    display = ProgressDisplay(io.StringIO(), live=False)
    assert display.changes(_job(_running("1", [0.5]))) == [
        "job RUNNING",
        "trial 1 active x=1",
        "trial 1 step 1 accuracy=0.5",
    ]
    assert display.changes(_job(_running("1", [0.5]))) == []  # nothing new, nothing said
    assert display.changes(_job(_running("1", [0.5, 0.6, 0.7, 0.8]))) == [
        "trial 1 step 2 accuracy=0.6",
        "trial 1 step 3 accuracy=0.7",
        "trial 1 step 4 accuracy=0.8",
    ]
    ended = _running("1", [0.5, 0.6, 0.7, 0.8, 0.9])
    ended.state = Trial.State.SUCCEEDED
    ended.final_measurement = ended.measurements[-1]
    # A trial seen for the first time after it ended: its steps, then its end with its parameters.
    late = make_trial("2", {"x": 2.0}, 0.4, steps=2)
    assert display.changes(_job(ended, late)) == [
        "trial 1 step 5 accuracy=0.9",
        "trial 1 succeeded accuracy=0.9",
        "trial 2 step 1 accuracy=0.2",
        "trial 2 step 2 accuracy=0.4",
        "trial 2 succeeded x=2 accuracy=0.4",
    ]


def test_a_stopped_trial_gives_its_reason_once_without_repeating_its_state():
    diverged = _running("1", [0.55])
    diverged.state = Trial.State.INFEASIBLE
    diverged.infeasible_reason = "diverged: diverged at epoch 2: val_loss became nan"
    failed = make_trial("2", {"x": 2.0}, None, state=Trial.State.INFEASIBLE, reason="failed: exit status 1")
    lines = ProgressDisplay(io.StringIO(), live=False).changes(_job(diverged, failed))
    assert lines[-2:] == [
        "trial 1 diverged x=1 accuracy=0.55 (diverged at epoch 2: val_loss became nan)",
        "trial 2 failed x=2 (exit status 1)",
    ]


def test_notes_go_above_the_live_table_which_is_drawn_again_under_them():
    stream = io.StringIO()
    display = ProgressDisplay(stream, live=True)
    display.update(_job(_running("1", [0.5])), dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    table = stream.getvalue().splitlines()
    display.note("retrying GetHyperparameterTuningJob (UNAVAILABLE: x; attempt 2 of 6)")
    after = stream.getvalue()[len("\n".join(table)) + 1 :]
    assert after.startswith(f"\x1b[{len(table)}F\x1b[J" + "retrying GetHyperparameterTuningJob")
    assert after.splitlines()[1:] == table
    # Without a terminal a note is just the next line.
    plain = io.StringIO()
    ProgressDisplay(plain, live=False).note("hello")
    assert plain.getvalue() == "hello\n"


def test_follow_on_a_terminal_turns_retries_and_warnings_into_notes(fake, client, compiled, policy):
    import logging

    fake.script = Script(trials=codelab_trials()[:1])
    job = submit(client, compiled, notify=lambda message: None, emulator=fake.address)
    fake.fail(GET, Fault(grpc.StatusCode.UNAVAILABLE, "blip"))
    stream = io.StringIO()
    display = ProgressDisplay(stream, live=True)
    warned = []

    def sleep_and_warn(seconds: float) -> None:
        if not warned:
            logging.getLogger("scripts.emulator").warning("job %s: not emulated here: x", "1")
            warned.append(seconds)

    follow(client, job.name, display=display, policy=policy, sleep=sleep_and_warn)
    text = stream.getvalue()
    assert "\x1b[J" in text  # redrawn in place
    # The first poll failed before any table was up: a plain line. The warning came while the
    # table was up: written above it, the table drawn again under it.
    assert text.startswith("retrying GetHyperparameterTuningJob (UNAVAILABLE: blip; attempt 2 of 6)\n")
    assert "\x1b[J" + "job 1: not emulated here: x\n" in text
    # Outside follow, the log is left as it was.
    assert not any(type(h).__name__ == "_NoteHandler" for h in logging.getLogger().handlers)

"""The job summary: JSON data and the Markdown for a pull-request comment."""

from __future__ import annotations

import datetime as dt
import json
import re

from google.cloud.aiplatform_v1 import (
    CustomJobSpec,
    GcsDestination,
    HyperparameterTuningJob,
    JobState,
    StudySpec,
    Trial,
)

from scripts.results.files import write_summary
from scripts.results.markdown import COMMENT_LIMIT, format_duration, render_markdown
from scripts.results.summary import Where, summary
from scripts.vertex.backend import Backend
from tests.fakes.job_service import make_trial

VERTEX = Backend.vertex()

NAME = "projects/demo-project/locations/europe-west4/hyperparameterTuningJobs/4242"
START = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def finished_job(
    *trials: Trial, goal: str = "MAXIMIZE", state: str = "JOB_STATE_SUCCEEDED"
) -> HyperparameterTuningJob:
    spec = StudySpec(
        metrics=[StudySpec.MetricSpec(metric_id="accuracy", goal=StudySpec.MetricSpec.GoalType[goal])]
    )
    return HyperparameterTuningJob(
        name=NAME,
        display_name="horses-humans-abc123",
        study_spec=spec,
        max_trial_count=6,
        trials=list(trials),
        state=JobState[state],
        create_time=START,
        start_time=START + dt.timedelta(minutes=1),
        end_time=START + dt.timedelta(hours=1, minutes=3, seconds=30),
        trial_job_spec=CustomJobSpec(
            base_output_directory=GcsDestination(output_uri_prefix="gs://bucket/hpt")
        ),
    )


def three_trials() -> list[Trial]:
    first = make_trial("1", {"learning_rate": 0.01, "num_units": 64.0}, 0.81)
    second = make_trial("2", {"learning_rate": 0.2, "num_units": 512.0}, 0.93)
    second.custom_job = "projects/123/locations/europe-west4/customJobs/777"
    third = make_trial(
        "3",
        {"learning_rate": 0.9, "num_units": 128.0},
        None,
        state=Trial.State.INFEASIBLE,
        reason="failed: the trial's process exited with status 1; see logs/3.log.",
    )
    return [first, second, third]


def table_rows(markdown: str) -> list[list[str]]:
    """The rows of the trial table (the one whose header starts with `| trial |`)."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| trial |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def test_summary_json_names_the_best_trial_counts_and_console_links():
    job = finished_job(*three_trials())
    data = summary(job, backend=VERTEX.where(job))

    assert data["best_trial"]["id"] == "2"
    assert data["best_trial"]["value"] == 0.93
    assert data["best_trial"]["parameters"] == {"learning_rate": 0.2, "num_units": 512}
    assert data["metric"] == {"id": "accuracy", "goal": "maximize"}
    assert data["counts"] == {
        "succeeded": 2,
        "infeasible": 0,
        "failed": 1,
        "stopped": 0,
        "collapsed": 0,
        "diverged": 0,
        "active": 0,
        "total": 3,
        "max_trial_count": 6,
    }
    assert [t["id"] for t in data["trials"]] == ["2", "1", "3"]
    assert data["duration_seconds"] == 3750.0
    assert data["links"]["console"] == (
        "https://console.cloud.google.com/agent-platform/locations/europe-west4/training/4242?project=demo-project"
    )
    json.dumps(data)  # plain JSON all the way down


def test_markdown_shows_best_parameters_chart_sorted_table_and_links():
    job = finished_job(*three_trials())
    markdown = render_markdown(job, backend=VERTEX.where(job))

    assert markdown.startswith("### Hyperparameter tuning `horses-humans-abc123`: SUCCEEDED (Vertex AI)")
    assert "**Best trial 2**: `accuracy` = **0.93** (maximize)" in markdown
    assert "| `learning_rate` | 0.2 |" in markdown and "| `num_units` | 512 |" in markdown
    assert "3 of 6 trials · 2 succeeded · 0 infeasible · 1 failed · 0 stopped · ran 1 h 02 min" in markdown
    chart = markdown.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert chart.splitlines()[0] == "xychart-beta"
    assert 'x-axis "trial" ["1", "2"]' in chart and "bar [0.81, 0.93]" in chart
    rows = table_rows(markdown)
    assert [row[0] for row in rows] == ["2", "1", "3"]
    # A failed trial shows why (issue 12: "failed" alone said nothing).
    assert rows[2][1] == "–" and rows[2][2].startswith("failed: the trial's process exited with status 1")
    assert rows[0][-1] == (
        "[console](https://console.cloud.google.com/agent-platform/locations/europe-west4/training/777"
        "?project=123)"
    )
    assert (
        "[Vertex AI console](https://console.cloud.google.com/agent-platform/locations/europe-west4/"
        in markdown
    )


def test_minimize_sorts_the_table_lowest_first():
    trials = [
        make_trial(str(i), {"x": i}, value, metric="accuracy") for i, value in enumerate([0.3, 0.1, 0.2], 1)
    ]
    job = finished_job(*trials, goal="MINIMIZE")
    markdown = render_markdown(job, backend=VERTEX.where(job))
    assert [row[0] for row in table_rows(markdown)] == ["2", "3", "1"]
    assert "**Best trial 2**" in markdown and "(minimize)" in markdown


def test_emulator_jobs_link_the_emulators_own_paths_instead_of_the_console(tmp_path, monkeypatch):
    # The reporter's own state directory is not the emulator's: the emulator's is what counts.
    monkeypatch.setenv("HPT_STATE_DIR", str(tmp_path / "reporter"))
    emulator = Backend.emulator_at("127.0.0.1:1", tmp_path / "state")
    job = finished_job(*three_trials())
    markdown = render_markdown(job, backend=emulator.where(job), run_dir=tmp_path / "run")
    assert "console.cloud.google.com" not in markdown
    assert f"run directory `{tmp_path / 'run'}`" in markdown
    # The emulator keeps a gs:// base output directory under its state directory.
    assert f"trial outputs `{tmp_path / 'state' / 'gcs' / 'bucket' / 'hpt'}`" in markdown
    assert "(local emulator)" in markdown
    trial = summary(job, backend=emulator.where(job))["trials"][0]
    assert trial["output"] == f"{tmp_path / 'state' / 'gcs' / 'bucket' / 'hpt'}/2/"


def test_all_infeasible_trials_say_there_is_no_best_trial():
    trials = [make_trial(str(i), {"x": i}, None, state=Trial.State.INFEASIBLE) for i in (1, 2)]
    job = finished_job(*trials, state="JOB_STATE_FAILED")
    job.error.message = "All trials failed."
    data = summary(job, backend=VERTEX.where(job))
    markdown = render_markdown(job, backend=VERTEX.where(job))

    assert data["best_trial"] is None and data["counts"]["infeasible"] == 2
    assert data["error"] == "All trials failed."
    assert "**No best trial yet**: no trial succeeded with a final `accuracy` (maximize)." in markdown
    assert "> **Error:** All trials failed." in markdown
    assert "```mermaid" not in markdown  # nothing to draw
    assert len(table_rows(markdown)) == 2


def test_a_summary_over_the_comment_limit_keeps_the_best_trials_and_whole_markdown():
    # 1200 trials with long parameter values: the full table would be about three times the limit.
    trials = [
        make_trial(
            str(i),
            {"optimizer": f"adam-variant-{'x' * 40}-{i}", "num_units": 64.0 * (i % 8 + 1)},
            (i * 7919 % 1201) / 1201,
        )
        for i in range(1, 1201)
    ]
    job = finished_job(*trials)
    job.max_trial_count = 1200
    markdown = render_markdown(job, backend=VERTEX.where(job))

    assert len(markdown) <= COMMENT_LIMIT
    assert len(markdown) > COMMENT_LIMIT * 0.9  # it fills the space rather than giving up early
    shown = table_rows(markdown)
    note = re.search(r"the table and chart show the best (\d+) of 1200 trials \((\d+) left out\)", markdown)
    assert note and int(note[1]) == len(shown) and int(note[1]) + int(note[2]) == 1200
    # The best ones, best first: the highest accuracy (every value differs). Read from the trials
    # rather than from a second summary(), which would run the importance analysis of 1200 trials again.
    best_first = sorted(trials, key=lambda trial: -trial.final_measurement.metrics[0].value)
    assert [row[0] for row in shown] == [trial.id for trial in best_first[: len(shown)]]
    assert markdown.count("```") % 2 == 0  # every fence closed
    assert all(len(row) == len(shown[0]) for row in shown)  # no row cut short
    assert markdown.endswith("hyperparameterTuningJobs/4242`\n")  # the links at the end survive


def test_a_smaller_limit_leaves_room_for_a_comment_marker():
    trials = [make_trial(str(i), {"x": float(i)}, i / 100) for i in range(1, 101)]
    job = finished_job(*trials)
    markdown = render_markdown(job, backend=VERTEX.where(job), limit=3000)
    assert len(markdown) <= 3000 and "Shortened to fit" in markdown


def test_table_cells_escape_pipes_newlines_and_html():
    trial = make_trial("1", {"activation": "relu|tanh\n<b>"}, 0.5)
    job = finished_job(trial)
    rows = table_rows(render_markdown(job, backend=VERTEX.where(job)))
    assert rows[0][3] == "relu\\|tanh &lt;b&gt;"


def test_write_summary_writes_markdown_and_json_next_to_the_run(tmp_path):
    job = finished_job(*three_trials())
    written = write_summary(
        job, tmp_path / "runs" / "4242", backend=Backend.emulator_at("127.0.0.1:1", tmp_path).where(job)
    )
    names = {path.name for path in written}
    assert {"summary.md", "summary.json"} <= names
    data = json.loads((tmp_path / "runs" / "4242" / "summary.json").read_text())
    assert data["best_trial"]["id"] == "2" and data["links"]["run"] == str(tmp_path / "runs" / "4242")
    assert (tmp_path / "runs" / "4242" / "summary.md").read_text().startswith("### Hyperparameter tuning")


def test_whole_metric_values_still_read_as_numbers_with_a_decimal_point():
    trial = make_trial("1", {"num_units": 64.0}, 1.0)
    job = finished_job(trial)
    markdown = render_markdown(job, backend=VERTEX.where(job))
    assert "`accuracy` = **1.0**" in markdown and "bar [1.0]" in markdown
    assert "| `num_units` | 64 |" in markdown  # a whole parameter value stays an integer


def test_durations_read_naturally():
    assert [format_duration(s) for s in (4.4, 75, 3600 + 5 * 60 + 1)] == ["4 s", "1 min 15 s", "1 h 05 min"]


def test_the_markdown_shows_why_the_trainer_stopped_a_trial():
    from scripts.results.markdown import _outcome

    collapsed = {"outcome": "collapsed", "reason": "collapsed: collapsed at epoch 2: constant predictions"}
    assert _outcome(collapsed) == "collapsed at epoch 2: constant predictions"
    assert (
        _outcome({"outcome": "failed", "reason": "failed: exited with status 1"})
        == "failed: exited with status 1"
    )
    # Vertex AI's own reasons carry no tag: shown as written, cut, and made inert.
    vertex = {"outcome": "infeasible", "reason": "Trial reported no metric <b>|x|</b> " + "y" * 300}
    shown = _outcome(vertex)
    assert shown.startswith("infeasible: Trial reported no metric &lt;b&gt;\\|x\\|&lt;/b&gt; y")
    assert shown.endswith("…") and len(shown) < 200
    assert _outcome({"outcome": "succeeded", "reason": ""}) == "succeeded"


def test_an_emulator_summary_says_which_fields_it_did_not_emulate(tmp_path):
    job = finished_job(*three_trials())
    job.trial_job_spec.service_account = "trials@demo-project.iam.gserviceaccount.com"
    local = render_markdown(job, backend=Backend.emulator_at("127.0.0.1:1", tmp_path).where(job))
    assert "Not emulated here" in local and "`trial_job_spec.service_account`" in local
    assert "Not emulated here" not in render_markdown(job, backend=VERTEX.where(job))


def test_a_summary_is_made_from_plain_values_the_backend_hands_over(tmp_path):
    """Results never call back up into the backend: it hands over where the job ran, as values."""
    job = finished_job(*three_trials())
    where = Where(
        name="vertex",
        local_state_dir=tmp_path,
        console_url="https://console.cloud.google.com/vertex-ai/training/hyperparameter-tuning-jobs/4242",
        trial_outputs="gs://bucket/hpt",
        trial_console_urls={"projects/123/locations/europe-west4/customJobs/777": "https://console/777"},
    )

    data = summary(job, backend=where)

    assert data["backend"] == "vertex"
    assert data["links"]["console"] == where.console_url
    assert data["best_trial"]["console"] == "https://console/777"
    assert data["best_trial"]["output"] == "gs://bucket/hpt/2/"
    # What the Vertex backend hands over is what it used to be asked for, one call at a time.
    handed = VERTEX.where(job)
    assert handed.name == "vertex" and handed.trial_outputs == "gs://bucket/hpt"
    assert handed.console_url == VERTEX.console_url(job.name)
    assert handed.trial_console_urls == {
        "projects/123/locations/europe-west4/customJobs/777": VERTEX.trial_console_url(
            "projects/123/locations/europe-west4/customJobs/777"
        )
    }

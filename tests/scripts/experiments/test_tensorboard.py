"""`tensorboard` in experiments.yaml: the trials' job streams its logs to a Vertex AI TensorBoard.

The setting compiles to `CustomJobSpec.tensorboard` (a bare ID completed with the experiment's
project and region), and `validate` says, one located line per problem, what Vertex AI needs
with it: a service account, and an instance in the job's region.
"""

from __future__ import annotations

import json

from scripts import cli
from scripts.experiments import load_text
from scripts.experiments.compiler import CompileContext, compile_experiment
from tests.scripts.experiments.helpers import EXPERIMENT, HEADER, marked_line, problems, the_problem

ACCOUNT = "  service_account: hpt-trial@my-project.iam.gserviceaccount.com\n"
FULL_NAME = "projects/my-project/locations/us-central1/tensorboards/1234567890"


def compiled(text: str, name: str = "exp"):
    experiments = load_text(text, "experiments.yaml", {})
    return compile_experiment(experiments, name, CompileContext(env={}, image_tag="test"))


def test_a_bare_id_in_defaults_is_completed_with_the_experiments_project_and_region():
    job = compiled(HEADER + ACCOUNT + "  tensorboard: 1234567890\n" + EXPERIMENT).job_json
    assert job["trialJobSpec"]["tensorboard"] == FULL_NAME
    assert job["trialJobSpec"]["serviceAccount"] == "hpt-trial@my-project.iam.gserviceaccount.com"


def test_an_experiment_names_its_own_instance_over_the_defaults():
    own = "projects/other-project/locations/us-central1/tensorboards/77"
    text = HEADER + ACCOUNT + "  tensorboard: '1'\n" + EXPERIMENT + f"    tensorboard: {own}\n"
    assert compiled(text).job.trial_job_spec.tensorboard == own


def test_no_tensorboard_leaves_the_field_out_of_the_job():
    assert "tensorboard" not in compiled(HEADER + EXPERIMENT).job_json["trialJobSpec"]


def test_plan_json_prints_the_field(tmp_path, capsys):
    path = tmp_path / "experiments.yaml"
    path.write_text(HEADER + ACCOUNT + "  tensorboard: '42'\n" + EXPERIMENT)
    assert cli.main(["plan", "exp", "--file", str(path), "--commit", "a" * 40]) == 0
    job = json.loads(capsys.readouterr().out)
    assert job["trialJobSpec"]["tensorboard"] == "projects/my-project/locations/us-central1/tensorboards/42"


def test_choosing_where_logs_stream_does_not_change_what_the_study_is():
    """Like the output directory: adding a TensorBoard to defaults resubmits no experiment."""
    without = compiled(HEADER + ACCOUNT + EXPERIMENT)
    with_one = compiled(HEADER + ACCOUNT + "  tensorboard: '42'\n" + EXPERIMENT)
    assert with_one.spec_hash == without.spec_hash


def test_a_tensorboard_without_a_service_account_is_refused_where_it_is_written():
    text = HEADER + EXPERIMENT + "    tensorboard: '42'  # <-\n"
    problem = the_problem(text, "experiments.exp.tensorboard")
    assert (problem.line, problem.column) == (marked_line(text), 18)
    assert "needs a service_account" in problem.message
    assert "tensorboard-setup" in problem.message
    assert "set service_account in defaults or in the experiment" in problem.message


def test_a_tensorboard_from_defaults_is_refused_on_each_experiment_that_runs_without_an_account():
    second = EXPERIMENT.replace("experiments:\n  exp:", "  other:")
    text = HEADER + "  tensorboard: '42'\n" + EXPERIMENT + second
    found = [p for p in problems(text) if "TensorBoard" in p.message]
    assert [p.field for p in found] == ["experiments.exp", "experiments.other"]
    assert all(p.message.startswith("tensorboard (from defaults): streaming to a TensorBoard") for p in found)
    # an experiment that sets its own account is fine
    fixed = text.replace(
        "  other:\n", "  other:\n    service_account: sa@my-project.iam.gserviceaccount.com\n"
    )
    assert [p.field for p in problems(fixed) if "TensorBoard" in p.message] == ["experiments.exp"]


def test_an_instance_in_another_region_is_refused():
    name = "projects/my-project/locations/europe-west4/tensorboards/42"
    text = HEADER + ACCOUNT + EXPERIMENT + f"    tensorboard: {name}  # <-\n"
    problem = the_problem(text, "experiments.exp.tensorboard")
    assert problem.line == marked_line(text)
    assert "the TensorBoard is in europe-west4, but the job runs in us-central1" in problem.message


def test_a_name_of_another_shape_is_refused():
    for bad in ("tensorboards/42", "projects/p/tensorboards/42", "'4 2'", "true"):
        text = HEADER + ACCOUNT + EXPERIMENT + f"    tensorboard: {bad}  # <-\n"
        problem = the_problem(text, "experiments.exp.tensorboard")
        assert problem.line == marked_line(text)
        assert "projects/PROJECT/locations/REGION/tensorboards/ID" in problem.message or (
            "expected text" in problem.message
        ), problem


def test_validate_prints_one_located_line_per_problem(tmp_path, capsys):
    path = tmp_path / "experiments.yaml"
    path.write_text(
        HEADER + EXPERIMENT + "    tensorboard: projects/my-project/locations/europe-west4/tensorboards/42\n"
    )
    assert cli.main(["validate", "--file", str(path)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == [
        f"{path}:15:18: experiments.exp.tensorboard: streaming to a TensorBoard needs a service_account: "
        "Vertex AI TensorBoard with custom training requires attaching a service account "
        "(https://cloud.google.com/vertex-ai/docs/experiments/tensorboard-setup); "
        "set service_account in defaults or in the experiment",
        f"{path}:15:18: experiments.exp.tensorboard: the TensorBoard is in europe-west4, but the job runs in "
        "us-central1: Vertex AI streams only to an instance in the job's region "
        "(https://cloud.google.com/vertex-ai/docs/experiments/tensorboard-setup)",
    ]


def test_an_empty_value_is_not_set():
    """`tensorboard: ${HPT_TENSORBOARD:-}`-style: empty means none, as for the other settings."""
    assert "tensorboard" not in compiled(HEADER + "  tensorboard: ''\n" + EXPERIMENT).job_json["trialJobSpec"]

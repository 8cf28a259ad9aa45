"""One bad input per validation rule: the message, the dotted field and the line it points at."""

from __future__ import annotations

import pytest

from scripts.experiments import load_text

from .helpers import EXPERIMENT, HEADER, document, marked_line, problems, the_problem


def with_parameter(spec: str) -> str:
    """The test document with its `learning_rate` parameter replaced by the `spec` line."""
    return HEADER + EXPERIMENT.replace("learning_rate: {type: double, min: 0.001, max: 1, scale: log}", spec)


def with_pool(lines: str) -> str:
    """The test document with its one worker pool's `machine_type` line replaced by `lines`."""
    return HEADER + EXPERIMENT.replace("- machine_type: n1-standard-4", lines)


def with_labels(line: str) -> str:
    return HEADER + EXPERIMENT + f"    labels:\n      {line}\n"


TINY_PROFILE = "profiles:\n  tiny:\n    set:\n      max_trial_count: 1\n"

# One rule each: the document (its bad line marked `# <-`), the field named, the whole message.
RULES = [
    pytest.param(
        HEADER + EXPERIMENT.replace("max_trial_count: 4", "max_trial_count: four   # <-"),
        "experiments.exp.max_trial_count",
        "expected an integer, got text ('four')",
        id="wrong type names what was found",
    ),
    pytest.param(
        with_parameter("learning_rate: {type: double, min: 1, max: 1}   # <-"),
        "experiments.exp.parameters.learning_rate.max",
        "max (1) must be greater than min (1)",
        id="min not below max",
    ),
    pytest.param(
        with_parameter("learning_rate: {type: double, min: 0, max: 1, scale: reverse_log}   # <-"),
        "experiments.exp.parameters.learning_rate.min",
        "reverse_log scale needs min > 0, got 0",
        id="log scale needs a positive minimum",
    ),
    pytest.param(
        with_parameter(
            "units:\n        type: discrete\n        values:\n          - 128\n          - 64   # <-"
        ),
        "experiments.exp.parameters.units.values[1]",
        "values must be increasing: 64 comes after 128",
        id="discrete values must increase",
    ),
    pytest.param(
        with_parameter("units: {type: discrete, values: [64, 64.0]}   # <-"),
        "experiments.exp.parameters.units.values[1]",
        "values must be distinct: 64.0 appears twice",
        id="discrete values must be distinct",
    ),
    pytest.param(
        with_parameter("optimizer: {type: categorical, values: [sgd, adam, sgd]}   # <-"),
        "experiments.exp.parameters.optimizer.values",
        "values must be distinct: 'sgd' appears twice",
        id="categorical values must be distinct",
    ),
    pytest.param(
        with_parameter("optimizer: {type: categorical, values: []}   # <-"),
        "experiments.exp.parameters.optimizer.values",
        "the list of values is empty",
        id="empty value list",
    ),
    pytest.param(
        HEADER + EXPERIMENT + "    trainer:\n      args:\n        - --learning_rate=0.1   # <-\n",
        "experiments.exp.trainer.args[0]",
        "'--learning_rate=0.1' collides with the tuned parameter 'learning_rate': each trial sets it",
        id="trainer args may not set a tuned parameter",
    ),
    pytest.param(
        with_parameter("learning_rate:\n        type: double   # <-\n        min: 0.001\n        max: 1")
        + "    algorithm: grid\n",
        "experiments.exp.parameters.learning_rate.type",
        "grid search cannot enumerate a double parameter; use discrete values",
        id="grid search cannot take a double parameter",
    ),
    pytest.param(
        HEADER + EXPERIMENT.replace("parallel_trial_count: 2", "parallel_trial_count: 5   # <-"),
        "experiments.exp.parallel_trial_count",
        "5 parallel trials is more than max_trial_count (4)",
        id="more parallel trials than trials",
    ),
    pytest.param(
        with_pool(
            "- machine_type: n1-standard-4\n        accelerator: {type: NVIDIA_TESLA_T4, count: 3}   # <-"
        ),
        "experiments.exp.worker_pools[0].accelerator",
        "n1-standard-4 takes NVIDIA_TESLA_T4 in counts of 1, 2, 4, not 3",
        id="accelerator count the machine cannot take",
    ),
    pytest.param(
        with_pool(
            "- machine_type: a2-highgpu-2g\n        accelerator: {type: NVIDIA_TESLA_A100, count: 1}   # <-"
        ),
        "experiments.exp.worker_pools[0].accelerator",
        "machine type a2-highgpu-2g comes with exactly 2 NVIDIA_TESLA_A100, not 1",
        id="accelerator the machine family does not take",
    ),
    pytest.param(
        with_labels("Team: ml   # <-"),
        "experiments.exp.labels.Team",
        "label key 'Team' must be 1-63 lowercase letters, digits, '_' or '-', starting with a letter",
        id="label key outside Vertex rules",
    ),
    pytest.param(
        with_labels("team: ML Platform   # <-"),
        "experiments.exp.labels.team",
        "label value 'ML Platform' must be at most 63 lowercase letters, digits, '_' or '-'",
        id="label value outside Vertex rules",
    ),
    pytest.param(
        with_labels("hpt-commit: abc   # <-"),
        "experiments.exp.labels.hpt-commit",
        "label 'hpt-commit' is set by this tool; choose another key",
        id="label keys this tool sets are reserved",
    ),
    pytest.param(
        HEADER
        + TINY_PROFILE
        + EXPERIMENT.replace("parallel_trial_count: 2", "parallel_trial_count: 2   # <-"),
        "experiments.exp.parallel_trial_count",
        "2 parallel trials is more than max_trial_count (1) (with profile 'tiny')",
        id="a profile that breaks an experiment is reported with its name",
    ),
    pytest.param(
        HEADER + "profiles:\n  tiny:\n    set:\n      max_trial_count: none   # <-\n" + EXPERIMENT,
        "experiments.exp.max_trial_count",
        "expected an integer, got text ('none') (with profile 'tiny')",
        id="a bad value set by a profile points at the profile",
    ),
    pytest.param(
        HEADER.replace("  project: my-project\n", "") + EXPERIMENT.replace("  exp:", "  exp:   # <-"),
        "experiments.exp",
        "missing project: set in defaults or in the experiment",
        id="settings missing everywhere",
    ),
]


@pytest.mark.parametrize(("text", "field", "message"), RULES)
def test_a_rule_names_the_field_and_the_line_it_is_broken_on(text, field, message):
    problem = the_problem(text, field)
    assert problem.line == marked_line(text)
    assert problem.message == message


def test_the_minimal_document_is_valid():
    experiments = load_text(HEADER + EXPERIMENT, "experiments.yaml", {})
    assert experiments.names == ["exp"]


def test_yaml_syntax_error_points_at_the_line():
    text = document("""\
        experiments:
          exp:
            metric: {id: accuracy, goal: maximize
            max_trial_count: 4   # <-
        """)
    found = problems(text)
    assert len(found) == 1
    assert found[0].line == marked_line(text)
    assert found[0].message.startswith("YAML syntax error")
    assert str(found[0]).startswith(f"experiments.yaml:{marked_line(text)}:")


@pytest.mark.parametrize("tagged", ["!!int y", "!!float q", "!!timestamp nope"])
def test_a_value_its_explicit_tag_cannot_read_is_a_problem_not_a_traceback(tagged):
    text = document(f"""\
        experiments:
          exp:
            max_trial_count: {tagged}   # <-
        """)
    found = [p for p in problems(text) if "is not a valid" in p.message]
    assert len(found) == 1
    assert found[0].line == marked_line(text)
    assert found[0].message == f"invalid value: {tagged.split()[1]!r} is not a valid {tagged.split()[0]}"


def test_duplicate_key_is_reported_with_the_first_line():
    text = document("""\
        experiments:
          exp:
            metric: {id: accuracy, goal: maximize}
            parameters:
              learning_rate: {type: double, min: 0.001, max: 1}
            max_trial_count: 4
            max_trial_count: 40   # <-
            worker_pools: [{machine_type: n1-standard-4}]
        """)
    problem = the_problem(text, "experiments.exp.max_trial_count")
    assert problem.line == marked_line(text)
    assert (
        problem.message == f"duplicate key 'max_trial_count' (first written at line {marked_line(text) - 1})"
    )


def test_unknown_key_suggests_the_nearest_one():
    text = document("""\
        experiments:
          exp:
            metric: {id: accuracy, goal: maximize}
            parameters:
              learning_rate: {type: double, min: 0.001, max: 1}
            max_trial_count: 4
            paralel_trial_count: 2   # <-
            worker_pools: [{machine_type: n1-standard-4}]
        """)
    problem = the_problem(text, "experiments.exp.paralel_trial_count")
    assert (problem.line, problem.column) == (marked_line(text), 5)
    assert problem.message == "unknown key 'paralel_trial_count' (did you mean 'parallel_trial_count'?)"


def test_parameter_id_must_be_a_flag_name():
    text = with_parameter("learning rate: {type: double, min: 0.001, max: 1}   # <-")
    problem = the_problem(text, "experiments.exp.parameters.learning rate")
    assert problem.line == marked_line(text)
    assert "is not a valid flag name" in problem.message


def test_parameter_ids_that_reach_the_trainer_as_the_same_flag_collide():
    text = with_parameter(
        "learning_rate: {type: double, min: 0.001, max: 1}\n"
        "      learning-rate: {type: double, min: 0.001, max: 1}   # <-"
    )
    problem = the_problem(text, "experiments.exp.parameters.learning-rate")
    assert problem.line == marked_line(text)
    assert problem.message.startswith(
        "parameter id 'learning-rate' collides with experiments.exp.parameters.learning_rate"
    )


def test_a_conditional_child_may_not_reuse_a_parameter_id():
    text = document("""\
        experiments:
          exp:
            metric: {id: accuracy, goal: maximize}
            parameters:
              momentum: {type: double, min: 0, max: 1}
              units:
                type: discrete
                values: [64, 128]
                children:
                  - when: [128]
                    parameters:
                      momentum: {type: double, min: 0.5, max: 1}   # <-
            max_trial_count: 4
            worker_pools: [{machine_type: n1-standard-4}]
        """)
    problem = the_problem(text, "experiments.exp.parameters.units.children[0].parameters.momentum")
    assert problem.line == marked_line(text)
    assert "collides with experiments.exp.parameters.momentum" in problem.message


def test_unknown_accelerator_type():
    text = with_pool(
        "- machine_type: n1-standard-4\n        accelerator:\n          type: NVIDIA_TESLA_V101   # <-"
    )
    problem = the_problem(text, "experiments.exp.worker_pools[0].accelerator.type")
    assert problem.line == marked_line(text)
    assert problem.message.startswith("'NVIDIA_TESLA_V101' is not one of NVIDIA_TESLA_K80, ")
    assert problem.message.endswith("(did you mean 'NVIDIA_TESLA_V100'?)")


def test_conditional_children_under_a_double_parent():
    text = document("""\
        experiments:
          exp:
            metric: {id: accuracy, goal: maximize}
            parameters:
              learning_rate:
                type: double
                min: 0.001
                max: 1
                children:   # <-
                  - when: [0.1]
                    parameters:
                      momentum: {type: double, min: 0, max: 1}
            max_trial_count: 4
            worker_pools: [{machine_type: n1-standard-4}]
        """)
    problem = the_problem(text, "experiments.exp.parameters.learning_rate.children")
    assert problem.line == marked_line(text)
    assert problem.message == (
        "conditional parameters need a discrete, integer or categorical parent, not double "
        "(the Vertex SDK would silently drop the condition)"
    )


def test_condition_on_a_value_the_parent_does_not_have():
    text = document("""\
        experiments:
          exp:
            metric: {id: accuracy, goal: maximize}
            parameters:
              optimizer:
                type: categorical
                values: [sgd, adam]
                children:
                  - when:
                      - rmsprop   # <-
                    parameters:
                      momentum: {type: double, min: 0, max: 1}
            max_trial_count: 4
            worker_pools: [{machine_type: n1-standard-4}]
        """)
    problem = the_problem(text, "experiments.exp.parameters.optimizer.children[0].when[0]")
    assert problem.line == marked_line(text)
    assert problem.message == "'rmsprop' is not one of the parent's values"


def test_unresolved_variable_without_default_points_at_the_reference():
    text = HEADER.replace("project: my-project", "project: ${GOOGLE_CLOUD_PROJECT}   # <-") + EXPERIMENT
    problem = the_problem(text, "defaults.project")
    assert problem.line == marked_line(text)
    assert problem.message == (
        "${GOOGLE_CLOUD_PROJECT} is not set in the environment and has no default "
        "(write ${GOOGLE_CLOUD_PROJECT:-default})"
    )
    # set, it resolves; with a default, it needs nothing
    assert load_text(text, "f", {"GOOGLE_CLOUD_PROJECT": "real-project"}).defaults.project == "real-project"
    defaulted = text.replace("${GOOGLE_CLOUD_PROJECT}", "${GOOGLE_CLOUD_PROJECT:-placeholder}")
    assert load_text(defaulted, "f", {}).defaults.project == "placeholder"


def test_the_chief_pool_has_one_replica():
    text = with_pool("- machine_type: n1-standard-4\n        replica_count: 2   # <-")
    problem = the_problem(text, "experiments.exp.worker_pools[0].replica_count")
    assert problem.line == marked_line(text)
    assert problem.message.startswith("the first worker pool (the chief) has exactly one replica")


def test_at_most_four_worker_pools():
    pools = "".join(f"      - machine_type: n1-standard-4{'   # <-' if i == 4 else ''}\n" for i in range(5))
    text = HEADER + EXPERIMENT.replace("      - machine_type: n1-standard-4\n", pools)
    problem = the_problem(text, "experiments.exp.worker_pools[4]")
    assert problem.line == marked_line(text)
    assert "Vertex AI has 4 worker pools" in problem.message


def test_missing_required_keys_point_at_the_experiment():
    text = document("""\
        experiments:
          exp:   # <-
            description: nothing else
        """)
    found = {problem.message for problem in problems(text) if problem.line == marked_line(text)}
    assert {
        "missing required key 'metric'",
        "missing required key 'parameters'",
        "missing required key 'max_trial_count'",
        "missing required key 'worker_pools'",
    } <= found


def test_every_problem_is_reported_at_once():
    text = HEADER + EXPERIMENT.replace("max_trial_count: 4", "max_trial_count: 0").replace(
        "n1-standard-4", "n1-standard-4\n        replica_count: 3"
    )
    fields = {problem.field for problem in problems(text)}
    assert {"experiments.exp.max_trial_count", "experiments.exp.worker_pools[0].replica_count"} <= fields


def test_problem_lines_follow_the_contract_format():
    text = HEADER + EXPERIMENT.replace("goal: maximize", "goal: maximise")
    (problem,) = problems(text)
    assert str(problem) == (
        f"experiments.yaml:{problem.line}:{problem.column}: experiments.exp.metric.goal: "
        "'maximise' is not one of maximize, minimize (did you mean 'maximize'?)"
    )


def test_a_bad_default_is_reported_once_where_it_is_written():
    text = HEADER.replace("project: my-project", "project: My_Project   # <-") + EXPERIMENT
    (problem,) = problems(text)
    assert (problem.field, problem.line) == ("defaults.project", marked_line(text))
    assert problem.message.startswith("'My_Project' is not valid: a project ID is")


def test_a_nul_byte_in_a_trainer_argument_or_environment_value_is_refused_where_written():
    text = HEADER + EXPERIMENT + '    trainer:\n      args: ["--x=a\\0b"]\n      env: {A: "x\\0"}\n'
    for field in ("experiments.exp.trainer.args[0]", "experiments.exp.trainer.env.A"):
        problem = the_problem(text, field)
        assert "NUL byte" in problem.message


def test_integers_beyond_the_message_fields_are_refused_not_printed():
    big = EXPERIMENT.replace("max_trial_count: 4", "max_trial_count: 1000000000000000000000000")
    assert "at most 2147483647" in the_problem(HEADER + big, "experiments.exp.max_trial_count").message
    timeout = HEADER + EXPERIMENT + "    timeout: 100000000000000000000d\n"
    assert "at most 315576000000 seconds" in the_problem(timeout, "experiments.exp.timeout").message


def test_default_is_refused_where_written_saying_why():
    text = with_parameter("learning_rate: {type: double, min: 0.001, max: 1, default: 0.1}   # <-")
    problem = the_problem(text, "experiments.exp.parameters.learning_rate.default")
    assert problem.line == marked_line(text)
    assert "not supported by HyperparameterTuningJob" in problem.message and "remove it" in problem.message

"""List filters: what `scripts.jobs.labels.identity_filter` writes always parses; nothing else crashes."""

from __future__ import annotations

import grpc
from google.cloud.aiplatform_v1 import HyperparameterTuningJob, JobState
from hypothesis import given
from hypothesis import strategies as st

from scripts.emulator.server import RpcFailure, parse_filter
from scripts.jobs import states
from scripts.jobs.labels import IDENTITY, identity_filter, label_value

label_values = st.text(min_size=1, max_size=40).map(label_value).filter(bool)


def _matches(text: str, job: HyperparameterTuningJob) -> bool:
    return all(predicate(job) for predicate in parse_filter(text))


@given(st.fixed_dictionaries({key: label_values for key in IDENTITY}), label_values)
def test_an_identity_filter_matches_exactly_the_jobs_with_those_labels(labels, other):
    text = identity_filter(labels)
    assert _matches(text, HyperparameterTuningJob(labels={**labels, "team": "ml"}))
    changed = {**labels, IDENTITY[-1]: other}
    assert _matches(text, HyperparameterTuningJob(labels=changed)) == (other == labels[IDENTITY[-1]])


@given(st.text(max_size=80))
def test_any_filter_text_parses_or_is_an_invalid_argument(text):
    try:
        predicates = parse_filter(text)
    except RpcFailure as failure:
        assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    else:
        job = HyperparameterTuningJob(display_name="x", labels={"a": "b"})
        for predicate in predicates:
            predicate(job)


def test_state_display_name_presence_and_negation():
    job = HyperparameterTuningJob(display_name="horses", state=JobState.JOB_STATE_RUNNING, labels={"a": "b"})
    assert _matches('state=JOB_STATE_RUNNING AND display_name="horses"', job)
    assert not _matches("state=JOB_STATE_SUCCEEDED", job)
    assert _matches("labels.a:*", job) and not _matches("labels.z:*", job)
    assert _matches('labels.a!="c"', job) and not _matches('labels.a!="b"', job)
    assert _matches("", job)


def test_or_binds_tighter_than_and_with_or_without_parentheses():
    job = HyperparameterTuningJob(display_name="h", state=JobState.JOB_STATE_RUNNING, labels={"a": "b"})
    either = "(state=JOB_STATE_RUNNING OR state=JOB_STATE_PENDING)"
    assert _matches(f'labels.a="b" AND {either}', job)
    assert not _matches(f'labels.a="c" AND {either}', job)
    # AIP-160: `x AND y OR z` is `x AND (y OR z)`.
    assert _matches("labels.a=b AND state=JOB_STATE_FAILED OR state=JOB_STATE_RUNNING", job)
    assert not _matches("labels.a=c AND state=JOB_STATE_FAILED OR state=JOB_STATE_RUNNING", job)
    assert not _matches('(state=JOB_STATE_FAILED OR labels.a="c")', job)
    assert _matches("(state=JOB_STATE_RUNNING)", job)


def test_unbalanced_or_nested_parentheses_are_an_invalid_argument():
    for text in ["(state=X", "state=X)", "((state=X))", "(state=X AND labels.a=b)", "state=X OR"]:
        try:
            parse_filter(text)
        except RpcFailure as failure:
            assert failure.code == grpc.StatusCode.INVALID_ARGUMENT, text
        else:
            raise AssertionError(f"{text!r} parsed")


@given(
    st.one_of(st.none(), st.text(min_size=1, max_size=30)),
    st.lists(st.sampled_from(states.ALL), max_size=4),
    st.sampled_from(states.ALL),
    st.text(max_size=30),
)
def test_the_list_filter_parses_and_matches_exactly_its_experiment_and_states(
    experiment, wanted, state, label
):
    from scripts.jobs.labels import EXPERIMENT, jobs_filter

    job = HyperparameterTuningJob(state=JobState[state], labels={EXPERIMENT: label_value(label)})
    expected = (experiment is None or label_value(experiment) == label_value(label)) and (
        not wanted or state in wanted
    )
    assert _matches(jobs_filter(experiment, wanted), job) == expected

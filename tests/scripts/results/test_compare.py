"""The comparison method on hand-made trial sets whose answer is known."""

from __future__ import annotations

import math

import pytest
from google.cloud.aiplatform_v1 import Trial

from scripts.jobs import labels
from scripts.results import compare, significance
from scripts.results.compare import comparison, judge
from scripts.results.confirmation import same_trainer
from scripts.results.significance import mann_whitney_u, precedence_test
from tests.fakes.job_service import make_trial
from tests.scripts.results.study_jobs import study_job

# --- the U test -------------------------------------------------------------------------------


def test_u_test_of_two_separated_samples_gives_the_textbook_exact_p_values():
    # 3 against 3 with no overlap: 1 split of C(6,3) = 20 is as extreme on each side.
    test = mann_whitney_u([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    assert test.exact and test.u == 0
    assert test.p_less == pytest.approx(1 / 20)
    assert test.p_two_sided == pytest.approx(0.1)
    # 6 against 6: C(12,6) = 924 splits.
    test = mann_whitney_u([7.0, 8, 9, 10, 11, 12], [1.0, 2, 3, 4, 5, 6])
    assert test.u == 36 and test.p_greater == pytest.approx(1 / 924)
    assert test.p_two_sided == pytest.approx(2 / 924)


def test_u_test_counts_ties_as_half_and_finds_nothing_in_identical_samples():
    assert mann_whitney_u([1.0, 1.0, 1.0], [1.0, 1.0, 1.0]).p_two_sided == 1.0
    test = mann_whitney_u([1.0, 2.0], [2.0, 3.0])
    assert test.u == 0.5  # 2 against 2 is a tie, 1 loses to both, 2 loses to 3
    assert test.p_two_sided > 0.5


def test_u_test_normal_approximation_agrees_with_the_exact_test(monkeypatch):
    first = [0.91, 0.88, 0.95, 0.97, 0.5, 0.93, 0.9, 0.89]
    second = [0.85, 0.86, 0.5, 0.87, 0.9, 0.84, 0.5, 0.8]
    exact = mann_whitney_u(first, second)
    monkeypatch.setattr(significance, "EXACT_SPLITS_MAX", 10)
    approximate = mann_whitney_u(first, second)
    assert exact.exact and not approximate.exact
    assert approximate.u == exact.u
    assert approximate.p_two_sided == pytest.approx(exact.p_two_sided, abs=0.01)


def test_u_test_with_an_empty_side_finds_nothing():
    assert mann_whitney_u([], [0.9, 0.8]).p_two_sided == 1.0


# --- the precedence test -----------------------------------------------------------------------


def test_precedence_of_a_whole_side_has_the_exact_p_of_one_split_in_all():
    test = precedence_test([7.0, 8, 9, 10, 11, 12], [1.0, 2, 3, 4, 5, 6])
    assert (test.ahead_first, test.ahead_second) == (6, 0)
    assert test.p_greater == pytest.approx(1 / 924) and test.p_less == 1.0
    assert test.p_two_sided == pytest.approx(2 / 924) and test.exact


def test_precedence_of_three_trials_is_as_likely_as_the_top_three_of_twelve_falling_on_one_side():
    test = precedence_test([1.0, 2, 3, 10, 11, 12], [4.0, 5, 6, 7, 8, 9])
    assert test.ahead_first == 3
    assert test.p_greater == pytest.approx(math.comb(6, 3) / math.comb(12, 3))  # 0.0909


def test_precedence_ties_at_the_top_beat_nothing():
    test = precedence_test([1.0, 1.0, 0.9], [1.0, 0.5, 0.4])
    assert (test.ahead_first, test.ahead_second) == (0, 0) and test.p_two_sided == 1.0


def test_precedence_sampled_splits_agree_with_the_exact_count(monkeypatch):
    first, second = [0.9, 0.91, 0.95, 0.97, 0.5, 0.93, 0.2], [0.85, 0.86, 0.5, 0.87, 0.9, 0.84, 0.6]
    exact = precedence_test(first, second)
    monkeypatch.setattr(significance, "EXACT_SPLITS_MAX", 10)
    sampled = precedence_test(first, second)
    assert not sampled.exact and sampled.ahead_first == exact.ahead_first == 4
    assert sampled.p_greater == pytest.approx(exact.p_greater, abs=0.01)
    assert precedence_test(first, second) == sampled  # seeded: the same jobs, the same verdict


# --- the verdict ------------------------------------------------------------------------------

CLEARLY_LOWER = [0.60, 0.62, 0.65, 0.58, 0.61, 0.63]
CLEARLY_HIGHER = [0.90, 0.92, 0.95, 0.91, 0.93, 0.94]


def test_a_job_whose_every_trial_is_lower_is_worse_and_the_baseline_against_it_better():
    assert judge(CLEARLY_LOWER, CLEARLY_HIGHER, maximize=True).verdict == "worse"
    assert judge(CLEARLY_HIGHER, CLEARLY_LOWER, maximize=True).verdict == "better"


def test_when_the_goal_is_to_minimize_lower_values_are_better():
    judgement = judge(CLEARLY_LOWER, CLEARLY_HIGHER, maximize=False)
    assert judgement.verdict == "better"
    assert judgement.numbers["job_values"][0] == min(CLEARLY_LOWER)  # its best first, in its own units


def test_interleaved_trials_are_no_clear_difference_even_with_a_higher_best():
    # The naive reading calls this better (0.97 against 0.95); the test does not.
    job = [0.97, 0.80, 0.91, 0.60, 0.88]
    baseline = [0.95, 0.85, 0.90, 0.62, 0.87]
    assert judge(job, baseline, maximize=True, method="best-delta").verdict == "better"
    assert judge(job, baseline, maximize=True).verdict == "no clear difference"


def test_the_verdict_names_its_method_and_the_numbers_behind_it():
    judgement = judge(CLEARLY_LOWER, CLEARLY_HIGHER, maximize=True)
    assert judgement.method == compare.DEFAULT_METHOD
    assert "p-value is below 0.05" in judgement.sentence
    assert judgement.numbers["p_value"] < judgement.numbers["threshold"] == 0.05


def test_top_half_of_six_trials_can_never_clear_the_threshold_and_says_so():
    judgement = judge(CLEARLY_LOWER, CLEARLY_HIGHER, maximize=True, method="rank-top-half")
    assert judgement.verdict == "no clear difference"
    assert judgement.numbers["smallest_possible_p"] == pytest.approx(0.1)
    assert "more completed trials are needed" in judgement.numbers["note"]


def test_bootstrap_of_the_best_is_reproducible_and_needs_more_than_one_lucky_trial():
    first = judge(CLEARLY_LOWER, CLEARLY_HIGHER, maximize=True, method="bootstrap-best")
    again = judge(CLEARLY_LOWER, CLEARLY_HIGHER, maximize=True, method="bootstrap-best")
    assert first == again and first.verdict == "worse"
    # One trial above everything else is not enough: most resamples miss it.
    lucky = judge([0.99, 0.5, 0.5, 0.5, 0.5, 0.5], [0.9] * 6, maximize=True, method="bootstrap-best")
    assert lucky.verdict == "no clear difference"


def test_a_side_without_completed_trials_gets_no_clear_difference():
    for method in compare.METHODS:
        assert judge([], CLEARLY_HIGHER, maximize=True, method=method).verdict == "no clear difference"


def test_an_unknown_method_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="rank-all"):
        judge([1.0], [1.0], maximize=True, method="coin")


# --- two jobs -----------------------------------------------------------------------------------


def _job(values, commit: str, job_id: str, goal: str = "MAXIMIZE"):
    trials = [
        make_trial(str(i), {"learning_rate": 0.01 * i, "momentum": 0.5, "num_units": 64.0}, value)
        for i, value in enumerate(values, start=1)
    ]
    trials.append(
        make_trial(str(len(values) + 1), {"learning_rate": 1.0}, None, state=Trial.State.INFEASIBLE)
    )
    job = study_job(trials, goal=goal)
    job.name = f"projects/demo/locations/us-central1/hyperparameterTuningJobs/{job_id}"
    job.labels = {labels.EXPERIMENT: "codelab", labels.COMMIT: commit}
    return job


def test_comparison_of_two_jobs_has_the_contract_fields():
    job, baseline = _job(CLEARLY_LOWER, "b" * 40, "2"), _job(CLEARLY_HIGHER, "a" * 40, "1")
    data = comparison(job, baseline, backend="local")
    assert data["verdict"] == "worse"
    assert data["delta"] == pytest.approx(max(CLEARLY_LOWER) - max(CLEARLY_HIGHER))
    assert data["goal"] == "maximize" and data["metric"] == "accuracy"
    assert data["method"].startswith("Precedence test")
    assert data["evidence"]["p_value"] < 0.05
    mine, theirs = data["job"], data["baseline"]
    assert mine["job"].endswith("/2") and theirs["job"].endswith("/1")
    assert mine["commit"] == "b" * 40 and theirs["commit"] == "a" * 40
    assert mine["best_value"] == max(CLEARLY_LOWER) and theirs["best_value"] == max(CLEARLY_HIGHER)
    assert mine["best_parameters"] == {"learning_rate": 0.03, "momentum": 0.5, "num_units": 64}
    assert mine["completed_trials"] == 6 and mine["trials"] == 7  # the infeasible one carries no value
    assert {"accelerator_hours", "cost", "currency"} <= set(mine)


def test_comparison_without_a_baseline_says_so_and_still_shows_the_job():
    data = comparison(_job(CLEARLY_LOWER, "b" * 40, "2"), None, backend="local", no_baseline_reason="None.")
    assert data["verdict"] == "no baseline" and data["delta"] is None and data["baseline"] is None
    assert data["job"]["best_value"] == max(CLEARLY_LOWER)


def test_jobs_of_different_goals_are_refused():
    from scripts.errors import UserError

    with pytest.raises(UserError, match="different metrics"):
        comparison(
            _job(CLEARLY_LOWER, "b", "2"), _job(CLEARLY_HIGHER, "a", "1", goal="MINIMIZE"), backend="local"
        )


def test_delta_is_in_the_metrics_own_units_when_minimizing():
    data = comparison(
        _job(CLEARLY_LOWER, "b", "2", "MINIMIZE"), _job(CLEARLY_HIGHER, "a", "1", "MINIMIZE"), backend="local"
    )
    assert data["verdict"] == "better"
    assert data["job"]["best_value"] == min(CLEARLY_LOWER)
    assert data["delta"] == pytest.approx(min(CLEARLY_LOWER) - min(CLEARLY_HIGHER))
    assert math.isfinite(data["delta"]) and data["delta"] < 0


# --- confirmation jobs ----------------------------------------------------------------------------


def _confirmation(config_of: str, commit: str, values: list[float | None], job_id: str):
    """A confirmation job: `config_of`'s best configuration trained by `commit`'s trainer, seeds 2.."""
    trials = [make_trial(str(i), {"seed": str(i + 1)}, value) for i, value in enumerate(values, start=1)]
    job = study_job(trials)
    job.name = f"projects/demo/locations/us-central1/hyperparameterTuningJobs/{job_id}"
    job.labels = {labels.EXPERIMENT: "codelab", labels.COMMIT: commit, "hpt-confirms": config_of}
    return job


def test_paired_confirmations_decide_where_the_studies_bests_tie():
    """Both studies reach 1.0 with the trainer's seed (no verdict from their trials); each best
    configuration trained by both trainers with the same seeds, JOB's trainer falls short: worse."""
    job = _job([1.0, 0.98, 1.0, 0.6, 0.99, 1.0], "b", "2")
    baseline = _job([1.0, 1.0, 0.99, 0.5, 1.0, 0.98], "a", "1")
    assert comparison(job, baseline, backend="local")["verdict"] == "no clear difference"

    confirmations = [
        _confirmation("2", "b", [0.48, 0.52, 1.0, 0.48, 0.83, 0.52], "10"),  # JOB's configuration...
        _confirmation("2", "a", [1.0, 1.0, 1.0, 0.97, 1.0, None], "11"),  # ...by BASELINE's trainer
        _confirmation("1", "b", [0.76, 1.0, 0.9, 0.95, 0.88, 0.7], "12"),
        _confirmation("1", "a", [1.0, 1.0, 1.0, 1.0, 0.99, 1.0], "13"),
    ]
    data = comparison(job, baseline, backend="local", confirmations=confirmations)
    assert data["verdict"] == "worse" and data["method_name"] == "paired-confirmation"
    assert data["method"].startswith("Wilcoxon signed-rank test over 11 paired confirmation trials")
    evidence = data["evidence"]
    assert evidence["p_value"] < 0.05 and evidence["pairs"] == 11  # the seed without a value is left out
    assert evidence["pairs_that_differ"] == 9 and evidence["baseline_ahead"] == 9
    assert evidence["confirmation_jobs"] == [c.name for c in confirmations]
    assert data["delta"] == 0.0  # still the studies' best minus best

    # The same trainer twice: every pair is the same training, no verdict.
    same = [_confirmation(c, commit, [0.5, 0.9, 1.0], str(i)) for i, (c, commit) in enumerate(
        [("2", "b"), ("2", "a"), ("1", "b"), ("1", "a")], start=20)]  # fmt: skip
    assert comparison(job, baseline, backend="local", confirmations=same)["verdict"] == "no clear difference"


def test_a_change_of_the_search_space_alone_is_judged_on_the_jobs_own_trials():
    """Both jobs ran one trainer image: pairs of it with itself would only tie, so the paired test
    is not asked (it would hide what the search found)."""
    job, baseline = _job(CLEARLY_LOWER, "b", "2"), _job(CLEARLY_HIGHER, "a", "1")
    for each in (job, baseline):
        each.trial_job_spec.worker_pool_specs.append({"container_spec": {"image_uri": "r/trainer@sha256:1"}})
    pairs = [_confirmation(c, commit, [0.5, 0.9, 1.0], str(i)) for i, (c, commit) in enumerate(
        [("2", "b"), ("2", "a"), ("1", "b"), ("1", "a")], start=20)]  # fmt: skip
    data = comparison(job, baseline, backend="local", confirmations=pairs)
    assert data["method_name"] == "precedence" and data["verdict"] == "worse"


def test_other_static_flags_on_one_image_are_another_trainer():
    """One image with a third of the epochs in the experiment's trainer args is another trainer."""
    job, baseline = _job(CLEARLY_LOWER, "b", "2"), _job(CLEARLY_HIGHER, "a", "1")
    for each, epochs in ((job, 1), (baseline, 3)):
        pool = {"container_spec": {"image_uri": "r/trainer@sha256:1", "args": [f"--epochs={epochs}"]}}
        each.trial_job_spec.worker_pool_specs.append(pool)
    pairs = [_confirmation(c, commit, [0.5, 0.9, 1.0], str(i)) for i, (c, commit) in enumerate(
        [("2", "b"), ("2", "a"), ("1", "b"), ("1", "a")], start=20)]  # fmt: skip
    data = comparison(job, baseline, backend="local", confirmations=pairs)
    assert data["method_name"] == "paired-confirmation" and data["verdict"] == "no clear difference"


def test_the_comparison_and_the_confirm_command_agree_on_what_one_trainer_is():
    """One definition for `compare`, the verdict and `--confirm`: the same images pool by pool and
    the same static flags; another topology (a chief and workers) is another trainer, and jobs that
    name no image are not known to be one."""
    image = {"container_spec": {"image_uri": "r/trainer@sha256:1"}}
    one, other = _job(CLEARLY_LOWER, "b", "2"), _job(CLEARLY_HIGHER, "a", "1")
    assert not same_trainer(one, other)  # no image named on either side
    one.trial_job_spec.worker_pool_specs.append(image)
    other.trial_job_spec.worker_pool_specs.append(image)
    assert same_trainer(one, other)
    other.trial_job_spec.worker_pool_specs.append(image)  # the same image, as workers too
    assert not same_trainer(one, other)
    pairs = [_confirmation(c, commit, [0.5, 0.9, 1.0], str(i)) for i, (c, commit) in enumerate(
        [("2", "b"), ("2", "a"), ("1", "b"), ("1", "a")], start=20)]  # fmt: skip
    data = comparison(one, other, backend="local", confirmations=pairs)
    assert data["method_name"] == "paired-confirmation"


def test_without_a_configuration_trained_by_both_trainers_the_jobs_own_trials_decide():
    job, baseline = _job(CLEARLY_LOWER, "b", "2"), _job(CLEARLY_HIGHER, "a", "1")
    own_only = [
        _confirmation("2", "b", [0.9, 0.9, 0.9], "10"),
        _confirmation("1", "a", [0.1, 0.1, 0.1], "11"),
    ]
    data = comparison(job, baseline, backend="local", confirmations=own_only)
    assert data["method_name"] == "precedence" and data["verdict"] == "worse"


def test_the_confirmation_job_trains_the_best_configuration_with_other_seeds():
    from scripts.results.confirmation import SEEDS, overrides

    job = _job(CLEARLY_LOWER, "b", "2")
    job.trial_job_spec.worker_pool_specs.append({"container_spec": {"args": ["--data=dir:/d", "--epochs=3"]}})
    sets = overrides(job)
    assert overrides(job, trainer=job) == sets
    assert sets[0] == 'parameters={seed: {type: categorical, values: ["2", "3", "4", "5", "6", "7"]}}'
    assert "algorithm=grid" in sets and f"max_trial_count={len(SEEDS)}" in sets
    # The job's own static flags, then its best trial's parameters (trial 3: 0.65).
    assert (
        'trainer={args: ["--data=dir:/d", "--epochs=3", "--learning_rate=0.03", "--momentum=0.5", '
        '"--num_units=64"]}' in sets
    )
    assert sets[-1] == 'labels.hpt-confirms="2"'

    # Trained by another job's trainer: that job's static flags, this job's configuration.
    other = _job(CLEARLY_HIGHER, "a", "1")
    other.trial_job_spec.worker_pool_specs.append(
        {"container_spec": {"args": ["--data=dir:/d", "--epochs=9"]}}
    )
    assert '"--epochs=9", "--learning_rate=0.03"' in overrides(job, trainer=other)[3]

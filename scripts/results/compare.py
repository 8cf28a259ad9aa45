"""Compare two tuning jobs of one experiment: is JOB's best better than BASELINE's, beyond noise?

A best-minus-best number from one small study on each side is mostly noise: the codelab's
6-trial study ends anywhere from 0.88 to 0.97 when only the sampler's seed changes. So the
verdict is `better` or `worse` only when a test over each side's completed trials clears a
stated threshold; otherwise `no clear difference`. With no baseline at all, `no baseline`.

The methods (`METHODS`) take the final metric values of each side's completed trials (SUCCEEDED
with a finite value; failed, collapsed and stopped trials carry no value) and the goal:

- `precedence`: how many of one side's trials beat the other side's best (Nelson's precedence
  test, exact over every split of the pooled trials); two-sided p < `ALPHA`;
- `rank-all`: Mann-Whitney U over all completed trials of both sides; two-sided p < `ALPHA`;
- `rank-all-and-best`: `rank-all`, kept only when the best trial moved the same way (so the
  verdict never contradicts the best-minus-best number shown beside it);
- `rank-top-half`: the same test over the better half of each side's completed trials;
- `bootstrap-best`: the best of each side resampled with replacement (`BOOTSTRAP_SAMPLES`, a
  fixed seed), `better`/`worse` when the resampled best-minus-best lies on one side of 0 in at
  least 1 - `ALPHA`/2 of the resamples;
- `best-delta`: best minus best, any difference counts: the naive reading, kept as the reference
  that `bench/verdict.py` measures the others against; never shipped.

`DEFAULT_METHOD` was chosen from that benchmark's table (docs/compare.md): of the methods whose
false alarms stay under 1 in 20 (exactly, over every split of untied values), `precedence` said
`worse` most often where a worse trainer's best really dropped. The two tests themselves are in
`scripts.results.significance`.

With confirmation trials (scripts.results.confirmation: each side's best configuration trained
again by both sides' trainers with the same seeds) and two different trainers, the verdict is
`paired_confirmation` instead: Wilcoxon's signed-rank test over the paired trials, chosen from the
same benchmark, where the study-level tests cannot reach the issue's power target.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scripts.errors import UserError
from scripts.jobs import labels, states
from scripts.results import significance
from scripts.results.confirmation import confirmation_pairs, same_trainer
from scripts.results.summary import usage
from scripts.results.trials import best_trial, final_value, objective, parameter_value, ranked

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

BETTER, WORSE, NO_CLEAR_DIFFERENCE, NO_BASELINE = "better", "worse", "no clear difference", "no baseline"

ALPHA = 0.05  # two-sided: better or worse each at 2.5 %
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 0  # the same two jobs always get the same verdict


@dataclass(frozen=True)
class Judgement:
    """A verdict, the method that gave it (named and in one sentence), and the numbers behind it."""

    verdict: str
    method: str
    sentence: str
    numbers: dict[str, Any] = field(default_factory=dict)


def _oriented(values: Sequence[float], maximize: bool) -> list[float]:
    """Values turned so that larger is better."""
    return [float(v) if maximize else -float(v) for v in values]


def _top_half(values: Sequence[float]) -> list[float]:
    ordered = sorted(values, reverse=True)
    return ordered[: math.ceil(len(ordered) / 2)]


def _from_u_test(
    name: str, what: str, job: list[float], baseline: list[float], maximize: bool, alpha: float
) -> Judgement:
    test = significance.mann_whitney_u(job, baseline)
    sentence = (
        f"Mann-Whitney U test over {what} ({len(job)} against {len(baseline)}): better or worse "
        f"only when the two-sided p-value is below {alpha:g}."
    )
    numbers = {
        "test": "mann-whitney-u",
        "p_value": round(test.p_two_sided, 6),
        "threshold": alpha,
        "u": test.u,
        "exact": test.exact,
        "smallest_possible_p": round(test.smallest_p, 6),
        "job_values": [_plain(v, maximize) for v in job],
        "baseline_values": [_plain(v, maximize) for v in baseline],
    }
    if test.smallest_p >= alpha:
        numbers["note"] = _unreachable(job, baseline, alpha)
    return Judgement(_verdict(test, alpha), name, sentence, numbers)


def _verdict(
    test: significance.UTest | significance.PrecedenceTest | significance.SignedRankTest, alpha: float
) -> str:
    """Better or worse, as the smaller one-sided p-value says, when the two-sided one is below `alpha`."""
    if test.p_two_sided >= alpha:
        return NO_CLEAR_DIFFERENCE
    return BETTER if test.p_greater <= test.p_less else WORSE


def _unreachable(job: list[float], baseline: list[float], alpha: float) -> str:
    """The note of a test whose sample sizes allow no p-value below `alpha`."""
    return (
        f"with {len(job)} and {len(baseline)} values no split reaches p < {alpha:g}: "
        "more completed trials are needed for any verdict but no clear difference"
    )


def _plain(value: float, maximize: bool) -> float:
    """A value turned back to the metric's own sign."""
    return value if maximize else -value


def rank_all(job: list[float], baseline: list[float], maximize: bool, alpha: float) -> Judgement:
    return _from_u_test(
        "rank-all", "every completed trial of each side", sorted(job, reverse=True),
        sorted(baseline, reverse=True), maximize, alpha,
    )  # fmt: skip


def rank_top_half(job: list[float], baseline: list[float], maximize: bool, alpha: float) -> Judgement:
    return _from_u_test(
        "rank-top-half", "the better half of each side's completed trials", _top_half(job),
        _top_half(baseline), maximize, alpha,
    )  # fmt: skip


def rank_all_and_best(job: list[float], baseline: list[float], maximize: bool, alpha: float) -> Judgement:
    judgement = rank_all(job, baseline, maximize, alpha)
    delta = max(job) - max(baseline) if job and baseline else 0.0
    agrees = (judgement.verdict == BETTER and delta > 0) or (judgement.verdict == WORSE and delta < 0)
    sentence = judgement.sentence.removesuffix(".") + ", and the best trial moved the same way."
    verdict = judgement.verdict if agrees else NO_CLEAR_DIFFERENCE
    return Judgement(
        verdict, "rank-all-and-best", sentence, {**judgement.numbers, "best_delta": _plain(delta, maximize)}
    )


def precedence(job: list[float], baseline: list[float], maximize: bool, alpha: float) -> Judgement:
    test = significance.precedence_test(job, baseline)
    sentence = (
        f"Precedence test over each side's completed trials ({len(job)} against {len(baseline)}): how "
        "many trials of one side beat the other side's best, against every way the same trials could "
        f"have been split by chance; better or worse only when the two-sided p-value is below {alpha:g}."
    )
    numbers = {
        "test": "precedence",
        "p_value": round(test.p_two_sided, 6),
        "threshold": alpha,
        "job_trials_above_baseline_best": test.ahead_first,
        "baseline_trials_above_job_best": test.ahead_second,
        "exact": test.exact,
        "smallest_possible_p": round(test.smallest_p, 6),
        "job_values": [_plain(v, maximize) for v in sorted(job, reverse=True)],
        "baseline_values": [_plain(v, maximize) for v in sorted(baseline, reverse=True)],
    }
    if test.smallest_p >= alpha:
        numbers["note"] = _unreachable(job, baseline, alpha)
    return Judgement(_verdict(test, alpha), "precedence", sentence, numbers)


def bootstrap_best(job: list[float], baseline: list[float], maximize: bool, alpha: float) -> Judgement:
    sentence = (
        f"Bootstrap of each side's best trial ({BOOTSTRAP_SAMPLES} resamples of the completed trials "
        f"with replacement): better or worse only when the resampled difference of the bests is on "
        f"one side of 0 in at least {1 - alpha / 2:.1%} of them."
    )
    if not job or not baseline:
        return Judgement(NO_CLEAR_DIFFERENCE, "bootstrap-best", sentence, {"test": "bootstrap-best"})
    generator = random.Random(BOOTSTRAP_SEED)
    above = below = 0
    for _ in range(BOOTSTRAP_SAMPLES):
        delta = max(generator.choices(job, k=len(job))) - max(generator.choices(baseline, k=len(baseline)))
        above += delta > 0
        below += delta < 0
    share_above, share_below = above / BOOTSTRAP_SAMPLES, below / BOOTSTRAP_SAMPLES
    if share_above >= 1 - alpha / 2:
        verdict = BETTER
    elif share_below >= 1 - alpha / 2:
        verdict = WORSE
    else:
        verdict = NO_CLEAR_DIFFERENCE
    numbers = {
        "test": "bootstrap-best",
        "share_better": share_above,
        "share_worse": share_below,
        "threshold": 1 - alpha / 2,
        "samples": BOOTSTRAP_SAMPLES,
        "seed": BOOTSTRAP_SEED,
    }
    return Judgement(verdict, "bootstrap-best", sentence, numbers)


def best_delta(job: list[float], baseline: list[float], maximize: bool, alpha: float) -> Judgement:
    sentence = "Best minus best, any difference counts (the naive reading; for reference only)."
    if not job or not baseline:
        return Judgement(NO_CLEAR_DIFFERENCE, "best-delta", sentence, {"test": "best-delta"})
    delta = max(job) - max(baseline)
    verdict = BETTER if delta > 0 else WORSE if delta < 0 else NO_CLEAR_DIFFERENCE
    return Judgement(
        verdict, "best-delta", sentence, {"test": "best-delta", "delta": _plain(delta, maximize)}
    )


def paired_confirmation(
    job_values: Sequence[float | None],
    baseline_values: Sequence[float | None],
    *,
    maximize: bool,
    alpha: float = ALPHA,
) -> Judgement:
    """Wilcoxon's signed-rank test over paired confirmation trials: item i of each list is the same
    configuration trained with the same trainer seed, by JOB's trainer and by BASELINE's (a pair
    where either trial ended without a value is left out). One seed gives both trainers the same
    initial weights and the same order of batches, so a difference is the trainers' own."""
    pairs = [
        (a, b) for a, b in zip(job_values, baseline_values, strict=True) if a is not None and b is not None
    ]
    differences = [(a - b) if maximize else (b - a) for a, b in pairs]
    test = significance.signed_rank_test(differences)
    sentence = (
        f"Wilcoxon signed-rank test over {len(pairs)} paired confirmation trials (each side's best "
        "configuration trained again by both trainers with the same seeds): better or worse only when "
        f"the two-sided p-value is below {alpha:g}."
    )
    numbers = {
        "test": "signed-rank",
        "p_value": round(test.p_two_sided, 6),
        "threshold": alpha,
        "pairs": len(pairs),
        "pairs_that_differ": test.pairs,
        "job_ahead": sum(d > 0 for d in differences),
        "baseline_ahead": sum(d < 0 for d in differences),
        "exact": test.exact,
        "smallest_possible_p": round(test.smallest_p, 6),
    }
    if test.smallest_p >= alpha:
        numbers["note"] = (
            f"{test.pairs} paired trials differ: no assignment of signs reaches p < {alpha:g}; "
            "more confirmation seeds are needed for any verdict but no clear difference"
        )
    return Judgement(_verdict(test, alpha), "paired-confirmation", sentence, numbers)


Method = Callable[[list[float], list[float], bool, float], Judgement]
METHODS: dict[str, Method] = {
    "precedence": precedence,
    "rank-all": rank_all,
    "rank-all-and-best": rank_all_and_best,
    "rank-top-half": rank_top_half,
    "bootstrap-best": bootstrap_best,
    "best-delta": best_delta,
}
DEFAULT_METHOD = "precedence"


def judge(
    job_values: Sequence[float],
    baseline_values: Sequence[float],
    *,
    maximize: bool,
    method: str = DEFAULT_METHOD,
    alpha: float = ALPHA,
) -> Judgement:
    """The verdict on JOB against BASELINE from their completed trials' values."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    job = _oriented(job_values, maximize)
    baseline = _oriented(baseline_values, maximize)
    return METHODS[method](job, baseline, maximize, alpha)


def completed_values(job: HyperparameterTuningJob) -> list[float]:
    """The final metric values of the job's completed trials (SUCCEEDED with a value), best first."""
    metric_id = objective(job).metric_id
    return [value for trial in ranked(job) if (value := final_value(trial, metric_id)) is not None]


def side(job: HyperparameterTuningJob, *, backend: str) -> dict[str, Any]:
    """One side of a comparison: the job, its commit, its best, and what it used."""
    best = best_trial(job)
    used = usage(job, backend=backend)
    estimate = used["cost_estimate"]
    return {
        "job": job.name,
        "display_name": job.display_name,
        "commit": job.labels.get(labels.COMMIT) or None,
        "state": states.short(job.state.name),
        "best_value": None if best is None else final_value(best, objective(job).metric_id),
        "best_trial": None if best is None else best.id,
        "best_parameters": {p.parameter_id: parameter_value(p) for p in best.parameters} if best else {},
        "completed_trials": len(completed_values(job)),
        "trials": len(job.trials),
        "accelerator_hours": used["accelerator_hours"],
        "machine_hours": used["machine_hours"],
        "cost": used["cost"],
        "currency": estimate["currency"],
        "cost_billed": estimate["billed"],
    }


def comparison(
    job: HyperparameterTuningJob,
    baseline: HyperparameterTuningJob | None,
    *,
    backend: str,
    method: str = DEFAULT_METHOD,
    no_baseline_reason: str = "",
    confirmations: Sequence[HyperparameterTuningJob] = (),
) -> dict[str, Any]:
    """What `compare --format json` prints: the verdict, the delta, the method and its numbers,
    and each side. `delta` is JOB's best minus BASELINE's in the metric's own units; `goal` says
    which sign is better. When `confirmations` (scripts.results.confirmation) hold the same
    configuration and seed trained by both sides' trainers, the verdict is `paired_confirmation`
    over those pairs instead of `method` over the jobs' own trials."""
    goal = objective(job)
    this = side(job, backend=backend)
    if baseline is None:
        return {
            "verdict": NO_BASELINE,
            "delta": None,
            "metric": goal.metric_id,
            "goal": goal.goal,
            "method": no_baseline_reason or "No baseline job to compare with.",
            "method_name": None,
            "evidence": {},
            "job": this,
            "baseline": None,
        }
    other = objective(baseline)
    if (other.metric_id, other.maximize) != (goal.metric_id, goal.maximize):
        raise UserError(
            f"{job.name} {goal.goal}s {goal.metric_id!r} but {baseline.name} {other.goal}s "
            f"{other.metric_id!r}: jobs of different metrics cannot be compared"
        )
    that = side(baseline, backend=backend)
    mine, theirs = confirmation_pairs(confirmations, this["commit"], that["commit"], goal.metric_id)
    if mine and not same_trainer(job, baseline):  # one trainer twice: the pairs would only tie
        judgement = paired_confirmation(mine, theirs, maximize=goal.maximize)
        judgement.numbers["confirmation_jobs"] = [each.name for each in confirmations]
    else:
        values = completed_values(job), completed_values(baseline)
        judgement = judge(*values, maximize=goal.maximize, method=method)
    delta = None
    if this["best_value"] is not None and that["best_value"] is not None:
        delta = round(this["best_value"] - that["best_value"], 12)  # no float dust (0.65 - 0.95)
    return {
        "verdict": judgement.verdict,
        "delta": delta,
        "metric": goal.metric_id,
        "goal": goal.goal,
        "method": judgement.sentence,
        "method_name": judgement.method,
        "evidence": judgement.numbers,
        "job": this,
        "baseline": that,
    }

"""What a finished study found, from its trials alone: which parameters mattered, where the good
region of each one is, and what to change in the search space.

Everything comes from the `HyperparameterTuningJob` message (its study spec and its trials), so a
Vertex AI job and a local one are analysed alike; the emulator's own study is never read.

- **Completed trials**: SUCCEEDED with a final value of the metric (`trials.ranked`).
- **Top trials**: the best quarter of the completed trials, at least 2, plus any trial tied with
  the last of them (a tie is not a ranking).
- **Importance**: Optuna's PED-ANOVA evaluator on an in-memory study of the completed trials,
  each parameter's distribution taken from the study spec (double: float, log for a log scale;
  integer: int; discrete and categorical: a set of choices). PED-ANOVA measures how differently
  the top trials are spread from all of them, parameter by parameter. It needs only numpy and has
  no randomness, so the same trials always give the same numbers; fANOVA and mean decrease
  impurity fit seeded random forests and need scikit-learn, which nothing else here installs.
  The importances are non-negative and sum to 1; a parameter that never varied gets 0. With
  fewer than `MIN_TRIALS_FOR_IMPORTANCE` completed trials there is no top quarter to compare with
  the rest, and every importance is None.
- **Best region**: for a number, the interval the top trials span; for a list of values, the
  values they took.
- **Advice**: plain lines (narrow a range the top trials fill only a small part of, widen one the
  best trial sits on the edge of, drop values no top trial took, fix a parameter that did not
  matter). Below `ENOUGH_TRIALS` completed trials a caveat says they are hints, not findings:
  with fewer, the top quarter is 2 trials, and two points neither bound a region nor rank 3
  parameters reliably (PED-ANOVA's authors ask for 5 or more trials in the top set).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scripts.jobs.trial_flags import parameter_specs
from scripts.results import trials as trial_results

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob, StudySpec, Trial

# Below this many completed trials the findings come with a caveat (see the module docstring).
ENOUGH_TRIALS = 10
# PED-ANOVA compares the top trials with all of them: it needs more completed trials than top ones.
MIN_TRIALS_FOR_IMPORTANCE = 3
# The top trials: this share of the completed ones, and at least `MIN_TOP` of them.
TOP_SHARE = 0.25
MIN_TOP = 2
# A value this close to a bound (as a share of the range, on the parameter's scale) is "on" it.
EDGE_SHARE = 0.02
# The top trials fill at most this share of a range (on its scale): narrowing it pays.
NARROW_SHARE = 0.5
# A parameter with less importance than this barely mattered.
MINOR_IMPORTANCE = 0.05
# At most this many values are named in one advice line.
VALUES_SHOWN = 6

METHOD = "PED-ANOVA (Optuna), top quarter of the completed trials against all of them"


@dataclass(frozen=True)
class Parameter:
    """A parameter as the study spec declares it (or, when it does not, as the trials show it)."""

    id: str
    kind: str  # "double", "integer", "discrete", "categorical"
    low: float | None = None  # numbers: the range
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()  # discrete and categorical: the values
    declared: bool = True  # False: not in the study spec, taken from the trials

    @property
    def numeric(self) -> bool:
        return self.kind in ("double", "integer")


def parameters_of(study: StudySpec) -> list[Parameter]:
    """The study's parameters in spec order, each conditional one after its parent."""
    from google.cloud.aiplatform_v1 import StudySpec  # the Vertex AI types: only once a job is at hand

    found: list[Parameter] = []
    for spec, kind in parameter_specs(study.parameters):
        log = spec.scale_type == StudySpec.ParameterSpec.ScaleType.UNIT_LOG_SCALE
        if kind == "double_value_spec":
            low, high = spec.double_value_spec.min_value, spec.double_value_spec.max_value
            found.append(Parameter(spec.parameter_id, "double", low, high, log=log and low > 0))
        elif kind == "integer_value_spec":
            low, high = spec.integer_value_spec.min_value, spec.integer_value_spec.max_value
            found.append(Parameter(spec.parameter_id, "integer", low, high, log=log and low >= 1))
        elif kind == "discrete_value_spec":
            values = tuple(sorted(float(v) for v in spec.discrete_value_spec.values))
            found.append(Parameter(spec.parameter_id, "discrete", choices=values))
        elif kind == "categorical_value_spec":
            choices = tuple(spec.categorical_value_spec.values)
            found.append(Parameter(spec.parameter_id, "categorical", choices=choices))
    return found


def study_parameters(job: HyperparameterTuningJob) -> list[Parameter]:
    """The spec's parameters, then any that completed trials carry and the spec does not describe."""
    return _with_undeclared(parameters_of(job.study_spec), trial_results.ranked(job))


def top_trial_ids(job: HyperparameterTuningJob) -> list[str]:
    """The top trials' ids, best first (see the module docstring)."""
    goal = trial_results.objective(job)
    completed = trial_results.ranked(job)
    values = [trial_results.final_value(t, goal.metric_id) for t in completed]
    return [t.id for t in completed[: _top_count(values)]]


def analyze(job: HyperparameterTuningJob) -> dict[str, Any]:
    """`importance` and `best_region` per parameter, and `analysis` (advice, caveat, top trials).

    Plain JSON data, for summary.json, the Markdown and `report`.
    """
    goal = trial_results.objective(job)
    completed = trial_results.ranked(job)  # best first
    values = [trial_results.final_value(t, goal.metric_id) for t in completed]
    parameters = study_parameters(job)
    observed = {p.id: [trial_results.trial_parameter(t, p.id) for t in completed] for p in parameters}
    top = completed[: _top_count(values)]
    varied = [p.id for p in parameters if len({v for v in observed[p.id] if v is not None}) > 1]

    importance = _importance(parameters, observed, values, goal.maximize, varied)
    regions = {p.id: _region(p, observed[p.id][: len(top)]) for p in parameters}
    caveat = _caveat(len(completed))
    advice = _advice(parameters, regions, importance, observed, values, goal.metric_id)
    return {
        "importance": importance,
        "best_region": regions,
        "analysis": {
            "method": METHOD,
            "completed_trials": len(completed),
            "top_trials": [t.id for t in top],
            "enough_trials": len(completed) >= ENOUGH_TRIALS,
            "caveat": caveat,
            "advice": advice,
        },
    }


def _top_count(values: list[float]) -> int:
    """How many of the completed trials (best first) are top trials: a quarter, at least 2, ties kept."""
    if not values:
        return 0
    count = min(len(values), max(MIN_TOP, math.ceil(TOP_SHARE * len(values))))
    while count < len(values) and values[count] == values[count - 1]:
        count += 1
    return count


def _with_undeclared(declared: list[Parameter], completed: list[Trial]) -> list[Parameter]:
    """The declared parameters, then any the trials carry that the spec does not describe."""
    known = {p.id for p in declared}
    extra: dict[str, list[Any]] = {}
    for trial in completed:
        for parameter in trial.parameters:
            if parameter.parameter_id not in known:
                extra.setdefault(parameter.parameter_id, []).append(trial_results.parameter_value(parameter))
    found = list(declared)
    for parameter_id, seen in extra.items():
        if all(isinstance(v, int | float) for v in seen):
            found.append(Parameter(parameter_id, "double", min(seen), max(seen), declared=False))
        else:
            choices = tuple(dict.fromkeys(str(v) for v in seen))
            found.append(Parameter(parameter_id, "categorical", choices=choices, declared=False))
    return found


# -- importance ------------------------------------------------------------------------------------


def _importance(
    parameters: list[Parameter],
    observed: dict[str, list[Any]],
    values: list[float],
    maximize: bool,
    varied: list[str],
) -> dict[str, float | None]:
    """`observed`: each parameter's value in each completed trial (best first), as `values` are."""
    if len(values) < MIN_TRIALS_FOR_IMPORTANCE:
        return {p.id: None for p in parameters}
    result = {p.id: 0.0 for p in parameters}
    if not varied:
        return result
    # Optuna takes a while to import: only a summary that analyses a study pays for it, so the
    # light commands (validate, plan, list) keep their start-up time.
    import warnings

    import optuna
    from optuna.importance import PedAnovaImportanceEvaluator

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # as the emulator does: no "study created"
    study = optuna.create_study(direction="maximize" if maximize else "minimize")
    distributions = {p.id: _distribution(p, [v for v in observed[p.id] if v is not None]) for p in parameters}
    for index, value in enumerate(values):
        params = {key: seen[index] for key, seen in observed.items() if seen[index] is not None}
        study.add_trial(
            optuna.trial.create_trial(
                params=params,
                distributions={key: distributions[key] for key in params},
                value=value,
                state=optuna.trial.TrialState.COMPLETE,
            )
        )
    top_share = _top_count(values) / len(values)
    # With every value tied the top set is every trial; PED-ANOVA then has nothing to compare.
    target = min(top_share, (len(values) - 1) / len(values))
    evaluator = PedAnovaImportanceEvaluator(target_quantile=target)
    with warnings.catch_warnings():
        # Its warnings about small regimes and tied quantiles are what the caveat says in words.
        warnings.simplefilter("ignore")
        found = optuna.importance.get_param_importances(study, evaluator=evaluator, params=varied)
    result.update({key: max(0.0, float(value)) for key, value in found.items()})
    return result


def _distribution(parameter: Parameter, seen: list[Any]):
    """The Optuna distribution of a parameter, wide enough for every value a trial took (`seen`)."""
    # Optuna, as in _importance: only a summary that analyses a study loads it.
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if parameter.numeric and all(isinstance(v, int | float) for v in seen):
        low = min([parameter.low, *seen]) if parameter.low is not None else min(seen)
        high = max([parameter.high, *seen]) if parameter.high is not None else max(seen)
        if parameter.kind == "integer" and all(float(v).is_integer() for v in seen):
            return IntDistribution(int(low), int(high), log=parameter.log and low >= 1)
        return FloatDistribution(float(low), float(high), log=parameter.log and low > 0)
    choices = list(parameter.choices)
    choices += [v for v in dict.fromkeys(seen) if v not in choices]
    return CategoricalDistribution(choices)


# -- best region -----------------------------------------------------------------------------------


def _region(parameter: Parameter, top_values: list[Any]) -> dict[str, Any] | None:
    taken = [v for v in top_values if v is not None]
    if not taken:
        return None
    best = top_values[0]
    if parameter.numeric and all(isinstance(v, int | float) for v in taken):
        region: dict[str, Any] = {"low": min(taken), "high": max(taken), "best": best}
        if parameter.declared:
            region["range"] = [trial_results.plain(parameter.low), trial_results.plain(parameter.high)]
        region["scale"] = "log" if parameter.log else "linear"
        return region
    values = list(dict.fromkeys(taken))
    if parameter.kind == "discrete" or all(isinstance(v, int | float) for v in values):
        values.sort()
    region = {"values": values, "best": best}
    if parameter.declared:
        region["choices"] = [trial_results.plain(v) for v in parameter.choices]
    return region


# -- advice ----------------------------------------------------------------------------------------


def _caveat(completed: int) -> str | None:
    if completed >= ENOUGH_TRIALS:
        return None
    if completed < MIN_TRIALS_FOR_IMPORTANCE:
        return (
            f"Only {completed} completed trial{'s' if completed != 1 else ''}: too few to say which "
            f"parameter mattered (that takes at least {MIN_TRIALS_FOR_IMPORTANCE})."
        )
    return (
        f"Only {completed} completed trials (fewer than {ENOUGH_TRIALS}): the importance, regions and "
        "advice are hints to check with a larger study, not findings."
    )


def _advice(
    parameters: list[Parameter],
    regions: dict[str, dict[str, Any] | None],
    importance: dict[str, float | None],
    observed: dict[str, list[Any]],
    values: list[float],
    metric_id: str,
) -> list[str]:
    lines: list[str] = []
    if len(values) >= MIN_TRIALS_FOR_IMPORTANCE and len(set(values)) == 1:
        lines.append(
            f"Every completed trial reached the same {metric_id} ({_short(values[0])}): nothing tells "
            "the parameters apart."
        )
    for parameter in parameters:
        region = regions[parameter.id]
        if region is None:
            continue
        seen = {v for v in observed[parameter.id] if v is not None}
        if len(seen) == 1 and len(values) > 1:
            lines.append(
                f"{parameter.id} had the same value in every completed trial ({_short(region['best'])}): "
                "the study says nothing about it."
            )
            continue
        if not parameter.declared:
            continue
        if "low" in region:
            lines += _numeric_advice(parameter, region)
        else:
            lines += _choice_advice(parameter, region, seen)
        weight = importance.get(parameter.id)
        # Top trials that agree on one value already said "keep that one".
        agreed = region["values"] if "values" in region else {region["low"], region["high"]}
        if weight is not None and weight < MINOR_IMPORTANCE and len(seen) > 1 and len(agreed) > 1:
            lines.append(
                f"{parameter.id} barely mattered (importance {weight:.2f}): fixing it at the best "
                f"trial's value ({_short(region['best'])}) leaves more trials for the others."
            )
    return lines


def _numeric_advice(parameter: Parameter, region: dict[str, Any]) -> list[str]:
    assert parameter.low is not None and parameter.high is not None
    where = position(parameter, region["best"])
    name, low, high = parameter.id, _short(parameter.low), _short(parameter.high)
    lines = []
    if parameter.high > parameter.low:
        if where >= 1 - EDGE_SHARE:
            lines.append(f"The best trial sits on {name}'s upper bound ({high}): widen the range above it.")
        elif where <= EDGE_SHARE:
            lines.append(f"The best trial sits on {name}'s lower bound ({low}): widen the range below it.")
        span = position(parameter, region["high"]) - position(parameter, region["low"])
        if region["high"] > region["low"] and span <= NARROW_SHARE:
            lines.append(
                f"All top trials have {name} in [{_short(region['low'])}, {_short(region['high'])}]; "
                f"the range spans {low}–{high}: narrow it."
            )
    return lines


def _choice_advice(parameter: Parameter, region: dict[str, Any], seen: set[Any]) -> list[str]:
    name, taken, choices = parameter.id, region["values"], list(parameter.choices)
    lines = []
    if parameter.kind == "discrete" and len(choices) > 1:
        if region["best"] == choices[-1]:
            lines.append(
                f"The best trial has {name} at its largest value ({_short(choices[-1])}): try larger values."
            )
        elif region["best"] == choices[0]:
            lines.append(
                f"The best trial has {name} at its smallest value ({_short(choices[0])}): try smaller values."
            )
    worse = [v for v in choices if v in seen and v not in taken]
    untried = [v for v in choices if v not in seen]
    if worse:
        line = (
            f"All top trials have {name} in {{{_listed(taken)}}}; the trials with {_listed(worse)} did "
            f"worse: drop {'it' if len(worse) == 1 else 'them'}"
        )
        lines.append(line + (f" (no completed trial had {_listed(untried)})." if untried else "."))
    return lines


def position(parameter: Parameter, value: float) -> float:
    """Where `value` lies in the parameter's range, 0 to 1, on its scale (log or linear)."""
    assert parameter.low is not None and parameter.high is not None
    low, high, value = parameter.low, parameter.high, float(value)
    if parameter.log and low > 0 and value > 0:
        low, high, value = math.log(low), math.log(high), math.log(value)
    return (value - low) / (high - low) if high > low else 0.0


def _short(value: Any) -> str:
    """A value for a sentence: numbers to 3 significant digits (`0.0316`, `1`, `512`)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:.3g}"


def _listed(values: list[Any]) -> str:
    shown = ", ".join(_short(v) for v in values[:VALUES_SHOWN])
    return shown + (f", … ({len(values) - VALUES_SHOWN} more)" if len(values) > VALUES_SHOWN else "")

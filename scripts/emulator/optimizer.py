"""Trial suggestions for a `StudySpec`, from Optuna, through its ask-and-tell interface.

The algorithm maps to a sampler: unspecified (Vertex's default Bayesian search) to a GP (below),
`RANDOM_SEARCH` to random sampling, `GRID_SEARCH` to every combination of the values, in order,
once. Each job's study lives in Optuna's RDB storage, in a SQLite file beside the emulator's
own (`optuna.sqlite3`), named after the job, so a resumed job continues the same study.

Parameters are suggested define-by-run, in the spec's order, so a conditional child is only
suggested when its parent took one of the values that enable it. Scales:

- `UNIT_LOG_SCALE`: Optuna's log-uniform sampling (the range must be positive, as on Vertex).
- `UNIT_REVERSE_LOG_SCALE`: Optuna has none. Vertex spreads the values near the top of the range
  out, so the emulator samples `y` log-uniformly and reflects it: `x = max + min - y`, which is
  dense near `max`. When `min <= 0` the range of `y` is shifted to [1%, 101%] of its width
  (integers: to start at 1) before taking logs.
- `DISCRETE` values and `CATEGORICAL` values are Optuna categorical choices.

The seed makes a study reproducible: the job's `hpt-seed` label (`run --backend local --seed N`),
else the emulator's `seed` option when given, else a hash of the job's display name and study
spec (the same experiment suggests the same first trials).
Each trial's suggestion draws from its own stream, seeded by the study's seed and the trial's
index, so a resumed study (a new sampler over the stored trials) proposes what the uninterrupted
one would have, never a repeat of the first trials' draws. With trials in parallel, later
suggestions also depend on which trial finished first.

The default algorithm (Vertex's is a GP bandit) starts, as Vizier does, at the centre of the
space (`_centre`), then is Bayesian optimization with a Gaussian process (`gp_sampler.GPSampler`,
NumPy only) once `startup_trials(max_trial_count)` trials have ended (random until then): it
models the parameters every trial has and proposes the point of highest expected improvement.
Running trials count as the worst value so far (a constant liar), so trials in parallel spread
out. Trials the trainer ended because the model collapsed or diverged
(`TrialOutcome.COLLAPSED`/`DIVERGED`) are told as pruned, which the GP reads as worse than the
worst completed value: it keeps away from their region (and, while no trial has completed, draws
the next one near the centre instead of at random); other failures are told as failed and ignored. It was
chosen over Optuna's TPE by `python -m bench study` (docs/trainer.md): with 6 trials TPE hardly
leaves its prior.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import math
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from google.cloud.aiplatform_v1 import HyperparameterTuningJob, StudySpec, Trial

from scripts.jobs import labels, states
from scripts.jobs.states import TrialOutcome

logger = logging.getLogger(__name__)

STORAGE_FILE = "optuna.sqlite3"

ParameterSpec = StudySpec.ParameterSpec
Algorithm = StudySpec.Algorithm
Scale = ParameterSpec.ScaleType


def study_seed(job: HyperparameterTuningJob) -> int:
    digest = hashlib.sha256(job.display_name.encode() + StudySpec.serialize(job.study_spec)).digest()
    return int.from_bytes(digest[:4], "big")


def job_seed(job: HyperparameterTuningJob, default: int | None = None) -> int:
    """The study's seed: the job's `hpt-seed` label (`run --seed`), else `default`, else `study_seed`."""
    label = job.labels.get(labels.SEED, "")
    if label.isdigit():
        return int(label)
    return study_seed(job) if default is None else default


def parameter_specs(parameters: Sequence[ParameterSpec], path: str) -> Iterator[tuple[str, ParameterSpec]]:
    """Each parameter spec and its conditional children's, depth first, with its field path."""
    for index, parameter in enumerate(parameters):
        here = f"{path}[{index}]"
        yield here, parameter
        for child_index, conditional in enumerate(parameter.conditional_parameter_specs):
            child_path = f"{here}.conditional_parameter_specs[{child_index}].parameter_spec"
            yield from parameter_specs([conditional.parameter_spec], child_path)


def trial_seed(seed: int, index: int) -> int:
    """The seed of trial `index`'s suggestion: its own stream, the same after a resume."""
    digest = hashlib.sha256(f"{seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def startup_trials(max_trial_count: int) -> int:
    """Random trials before the model: a third of the budget, 2 to 10."""
    # With Vertex's small budgets Optuna's default (10) would be the whole study.
    return max(2, min(10, max_trial_count // 3))


def _sampler(job: HyperparameterTuningJob, seed: int):
    import optuna  # Optuna (1 s): the server listens before it loads

    from scripts.emulator.gp_sampler import GPSampler  # Optuna and NumPy, as above

    algorithm = job.study_spec.algorithm
    if algorithm in (Algorithm.RANDOM_SEARCH, Algorithm.GRID_SEARCH):
        # Grid trials come from the queue (see `Optimizer.ask`); the sampler is never consulted.
        return optuna.samplers.RandomSampler(seed=seed)
    return GPSampler(seed=seed, n_startup_trials=startup_trials(job.max_trial_count))


class Optimizer:
    """One job's study: `ask` the next trial's parameters, `tell` its outcome."""

    def __init__(self, directory: Path, job: HyperparameterTuningJob, seed: int | None = None) -> None:
        import optuna  # Optuna (1 s): the server listens before it loads

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._job = job
        self._spec = job.study_spec
        self._grid = self._spec.algorithm == Algorithm.GRID_SEARCH
        self.seed = job_seed(job, seed)
        goal = self._spec.metrics[0].goal
        direction = "minimize" if goal == StudySpec.MetricSpec.GoalType.MINIMIZE else "maximize"
        directory.mkdir(parents=True, exist_ok=True)
        self._study = optuna.create_study(
            storage=_storage(directory),
            study_name=job.name,
            direction=direction,
            sampler=_sampler(job, self.seed),
            load_if_exists=True,
        )

    def forget_unknown(self, known_numbers: set[int]) -> None:
        """Fail study trials the emulator never recorded (asked just before a crash)."""
        from optuna.trial import TrialState  # Optuna (1 s): the server listens before it loads

        # A grid point enqueued but never asked (WAITING) is simply the next one asked.
        for frozen in self._study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if frozen.number not in known_numbers:
                self._study.tell(frozen.number, state=TrialState.FAIL, skip_if_finished=True)

    def ask(self, index: int) -> tuple[int, list[Trial.Parameter]] | None:
        """The optimizer's number and parameters for the job's trial `index` (0-based).

        None when the search space is used up (a grid with fewer points than trials).
        """
        if self._grid:
            point = next(itertools.islice(_grid(self._spec.parameters), index, None), None)
            if point is None:
                return None
            self._study.enqueue_trial(point)
        elif self._spec.algorithm == Algorithm.ALGORITHM_UNSPECIFIED and not self._study.get_trials(
            deepcopy=False
        ):
            # As Vizier does, the default search starts at the centre of the space: the middle of
            # each range (in log space for a log scale) and the middle value of each list.
            self._study.enqueue_trial(_centre(self._spec.parameters))
        # A fresh sampler whose stream depends on the trial's index alone: a resumed study (whose
        # sampler would otherwise restart its stream) cannot repeat an earlier trial's draws.
        self._study.sampler = _sampler(self._job, trial_seed(self.seed, index))
        trial = self._study.ask()
        values = _suggest(trial, self._spec.parameters, self._grid)
        parameters = [Trial.Parameter(parameter_id=key, value=value) for key, value in values.items()]
        return trial.number, parameters

    def tell(self, number: int, value: float | None, outcome: TrialOutcome | None = None) -> None:
        """The trial's final metric, or None for a trial without one (infeasible).

        A trial the trainer ended as collapsed or diverged is told as pruned: the sampler then
        counts it as worse than any completed trial, instead of ignoring it as it does a failure.
        """
        from optuna.trial import TrialState  # Optuna (1 s): the server listens before it loads

        if outcome in (TrialOutcome.COLLAPSED, TrialOutcome.DIVERGED):
            self._study.tell(number, state=TrialState.PRUNED, skip_if_finished=True)
        elif value is None or not math.isfinite(value):
            self._study.tell(number, state=TrialState.FAIL, skip_if_finished=True)
        else:
            self._study.tell(number, value, skip_if_finished=True)

    def tell_trial(self, number: int, trial: Trial) -> None:
        """Tell an ended trial: its final value when it succeeded, else how it ended."""
        if trial.state == Trial.State.SUCCEEDED and trial.final_measurement.metrics:
            self.tell(number, trial.final_measurement.metrics[0].value)
        else:
            self.tell(number, None, states.from_reason(trial.infeasible_reason))


_storages: dict[str, Any] = {}
_storages_lock = threading.Lock()


def _storage(directory: Path):
    """The process's one Optuna RDB storage in `directory` (created once: runners start concurrently).

    SQLite in WAL mode, so a commit per suggestion costs no fsync.
    """
    import optuna  # Optuna (1 s): the server listens before it loads
    from sqlalchemy import event  # with Optuna, as above

    def tune(connection, record) -> None:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")

    url = f"sqlite:///{directory / STORAGE_FILE}"
    with _storages_lock:
        if url not in _storages:
            storage = optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 30}})
            event.listen(storage.engine, "connect", tune)
            storage.engine.dispose()  # the connections opened before the listener are closed
            _storages[url] = storage
        return _storages[url]


def delete_study(directory: Path, job_name: str) -> None:
    """Remove a deleted job's study, if it has one."""
    import optuna  # Optuna (1 s): the server listens before it loads

    if not (directory / STORAGE_FILE).exists():
        return
    with contextlib.suppress(KeyError):
        optuna.delete_study(study_name=job_name, storage=_storage(directory))


# -- define-by-run suggestions --------------------------------------------------------------------


def _suggest(trial, parameters: Sequence[ParameterSpec], grid: bool) -> dict[str, Any]:
    """Suggest each parameter, then its children whose parent condition matches."""
    values: dict[str, Any] = {}
    for parameter in parameters:
        value = _suggest_one(trial, parameter, grid)
        values[parameter.parameter_id] = value
        for conditional in parameter.conditional_parameter_specs:
            if _condition_holds(conditional, value):
                values.update(_suggest(trial, [conditional.parameter_spec], grid))
    return values


def _suggest_one(trial, parameter: ParameterSpec, grid: bool) -> Any:
    name = parameter.parameter_id
    kind = ParameterSpec.pb(parameter).WhichOneof("parameter_value_spec")
    scale = parameter.scale_type
    if kind in ("categorical_value_spec", "discrete_value_spec"):
        return trial.suggest_categorical(name, _values(parameter))
    if kind == "integer_value_spec":
        low, high = int(parameter.integer_value_spec.min_value), int(parameter.integer_value_spec.max_value)
        if grid or scale != Scale.UNIT_REVERSE_LOG_SCALE:
            return trial.suggest_int(name, low, high, log=scale == Scale.UNIT_LOG_SCALE and not grid)
        shift = 0 if low >= 1 else 1 - low  # integers: log-uniform over a range starting at 1
        # Optuna records the reflected value under a private name; the trial gets `x`.
        reflected = trial.suggest_int(f"{name}@reverse_log", low + shift, high + shift, log=True)
        return high + low - (reflected - shift)
    low, high = parameter.double_value_spec.min_value, parameter.double_value_spec.max_value
    if scale != Scale.UNIT_REVERSE_LOG_SCALE:
        return trial.suggest_float(name, low, high, log=scale == Scale.UNIT_LOG_SCALE)
    shift = _reverse_log_shift(low, high)
    reflected = trial.suggest_float(f"{name}@reverse_log", low + shift, high + shift, log=True)
    return min(high, max(low, high + low - (reflected - shift)))


def _centre(parameters: Sequence[ParameterSpec]) -> dict[str, Any]:
    """The centre of the top-level parameters (reverse-log ones and conditional children are left to
    the sampler): the middle of a linear range, the geometric middle of a log one, the middle value."""
    centre: dict[str, Any] = {}
    for parameter in parameters:
        name, scale = parameter.parameter_id, parameter.scale_type
        kind = ParameterSpec.pb(parameter).WhichOneof("parameter_value_spec")
        if kind in ("categorical_value_spec", "discrete_value_spec"):
            values = _values(parameter)
            centre[name] = values[(len(values) - 1) // 2]
        elif scale != Scale.UNIT_REVERSE_LOG_SCALE:
            bounds = getattr(parameter, kind)
            low, high = bounds.min_value, bounds.max_value
            middle = math.sqrt(low * high) if scale == Scale.UNIT_LOG_SCALE else (low + high) / 2
            centre[name] = round(middle) if kind == "integer_value_spec" else middle
    return centre


def _reverse_log_shift(low: float, high: float) -> float:
    """0 for a positive range; else the shift that puts the reflected range at [1%, 101%] of its width."""
    return 0 if low > 0 else (high - low) / 100 - low


def _condition_holds(conditional: ParameterSpec.ConditionalParameterSpec, parent_value: Any) -> bool:
    which = ParameterSpec.ConditionalParameterSpec.pb(conditional).WhichOneof("parent_value_condition")
    if which == "parent_discrete_values":
        return float(parent_value) in {float(v) for v in conditional.parent_discrete_values.values}
    if which == "parent_int_values":
        return int(parent_value) in {int(v) for v in conditional.parent_int_values.values}
    if which == "parent_categorical_values":
        return parent_value in set(conditional.parent_categorical_values.values)
    return False


# -- grid -----------------------------------------------------------------------------------------


def _values(parameter: ParameterSpec) -> list[Any]:
    """Every value of a categorical, discrete or integer parameter, in order."""
    kind = ParameterSpec.pb(parameter).WhichOneof("parameter_value_spec")
    if kind == "categorical_value_spec":
        return list(parameter.categorical_value_spec.values)
    if kind == "discrete_value_spec":
        return [float(v) for v in parameter.discrete_value_spec.values]
    low, high = int(parameter.integer_value_spec.min_value), int(parameter.integer_value_spec.max_value)
    return list(range(low, high + 1))


def _grid(parameters: Sequence[ParameterSpec]) -> Iterator[dict[str, Any]]:
    """Every combination, the first parameter varying slowest; children only under their parents."""
    parameters = list(parameters)  # a slice of a repeated field would give raw protobuf messages
    if not parameters:
        yield {}
        return
    first, rest = parameters[0], parameters[1:]
    for value in _values(first):
        children = [c.parameter_spec for c in first.conditional_parameter_specs if _condition_holds(c, value)]
        for below, after in itertools.product(_grid(children), list(_grid(rest))):
            yield {first.parameter_id: value, **below, **after}

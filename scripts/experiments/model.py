"""The checked experiments file as plain, typed values: what `validate` accepts and `compile` reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scripts.experiments.source import Source


@dataclass(frozen=True)
class Settings:
    """Where and as whom jobs run: the `defaults` block, overridable per experiment. None: not set."""

    project: str | None = None
    region: str | None = None
    staging_bucket: str | None = None
    base_output_directory: str | None = None
    image_repository: str | None = None
    image_name: str | None = None
    image_uri: str | None = None
    service_account: str | None = None
    network: str | None = None
    # A Vertex AI TensorBoard instance, as written: its full name or its ID (completed when compiled).
    tensorboard: str | None = None
    labels: dict[str, str] = field(default_factory=dict)

    def over(self, base: Settings) -> Settings:
        """These settings, falling back to `base` for what is not set; labels merge (these win)."""
        values = {
            name: getattr(self, name) if getattr(self, name) is not None else getattr(base, name)
            for name in self.__dataclass_fields__
            if name != "labels"
        }
        return Settings(**values, labels={**base.labels, **self.labels})


@dataclass(frozen=True)
class Parameter:
    """One tuned hyperparameter; the trainer receives it as `--<id>=<value>`."""

    id: str
    type: str  # double | integer | discrete | categorical
    min: float | int | None = None
    max: float | int | None = None
    values: tuple[Any, ...] = ()  # discrete: floats, increasing; categorical: strings
    scale: str | None = None  # linear | log | reverse_log; None: the API's default
    children: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Condition:
    """Child parameters that exist only when the parent takes one of `when`."""

    when: tuple[Any, ...]
    parameters: tuple[Parameter, ...]


@dataclass(frozen=True)
class EarlyStopping:
    rule: str  # median | decay_curve | convex
    use_elapsed_duration: bool = False
    # convex only
    max_step_count: int | None = None
    min_step_count: int | None = None
    min_measurement_count: int | None = None
    learning_rate_parameter_name: str | None = None
    update_all_stopped_trials: bool | None = None


@dataclass(frozen=True)
class WorkerPool:
    """One of the (up to four) positional worker pools; `machine_type` None is a skipped position."""

    machine_type: str | None = None
    accelerator_type: str | None = None
    accelerator_count: int = 0
    replica_count: int = 1
    boot_disk_type: str | None = None
    boot_disk_size_gb: int | None = None
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Gate:
    """What a pull request's `hpt / NAME` check requires of its job (`gate:`); None: not required."""

    verdict: str | None = None  # better | not-worse
    max_cost: float | None = None  # in the cost's currency (USD)


@dataclass(frozen=True)
class Experiment:
    name: str
    description: str
    settings: Settings
    metric_id: str
    goal: str  # maximize | minimize
    parameters: tuple[Parameter, ...]
    worker_pools: tuple[WorkerPool, ...]
    max_trial_count: int
    parallel_trial_count: int
    max_failed_trial_count: int = 0
    algorithm: str = "bayesian"  # bayesian (the API default) | grid | random
    measurement_selection: str | None = None  # best | last; None: the API default (last)
    early_stopping: EarlyStopping | None = None
    trainer_args: tuple[str, ...] = ()
    trainer_env: tuple[tuple[str, str], ...] = ()
    timeout_seconds: int | None = None
    restart_job_on_worker_restart: bool = False
    scheduling_strategy: str | None = None  # standard | spot
    enable_web_access: bool = False
    gate: Gate | None = None  # read by the reporter only: no part of the job or its spec hash


@dataclass(frozen=True)
class Profile:
    """A named variant of every experiment: trainer args appended, env added, fields set."""

    name: str
    description: str = ""
    trainer_args: tuple[str, ...] = ()
    trainer_env: tuple[tuple[str, str], ...] = ()
    set: tuple[tuple[str, Any], ...] = ()


@dataclass
class ExperimentsFile:
    """A checked experiments file, read with the environment `env`.

    `experiments` maps each name to its checked form; `variants` maps (profile, name) to the
    checked form with that profile applied: loading checks every one, so compiling with a
    profile reuses it instead of checking it again. `source` keeps where each value was written
    and `resolved` the document with `${VAR}` resolved: `--set` overrides start from them.
    """

    path: str
    defaults: Settings
    experiments: dict[str, Experiment]
    profiles: dict[str, Profile]
    source: Source
    env: Mapping[str, str] = field(default_factory=dict)
    resolved: Any = None
    variants: dict[tuple[str, str], Experiment] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.experiments)

"""The rules of experiments.yaml: raw YAML values in, typed `model` values and every problem out.

Each `_check_*` function reads one part of the file, reports what is wrong at the place it was
written, and returns the typed value (or None when that part is unusable). Checking never stops
at the first problem: `validate` shows them all at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from scripts import labels as identity_labels
from scripts.experiments.machines import ACCELERATOR_TYPES, accelerator_problem, is_machine_type_name
from scripts.experiments.model import (
    Condition,
    EarlyStopping,
    Experiment,
    Parameter,
    Profile,
    Settings,
    WorkerPool,
)
from scripts.experiments.problems import Problem
from scripts.experiments.source import Path, Source, dotted

TOP_LEVEL_KEYS = ("version", "defaults", "profiles", "experiments")
SETTINGS_KEYS = (
    "project",
    "region",
    "staging_bucket",
    "base_output_directory",
    "image",
    "service_account",
    "network",
    "labels",
)
IMAGE_KEYS = ("repository", "name", "uri")
EXPERIMENT_KEYS = (
    "description",
    "metric",
    "parameters",
    "algorithm",
    "max_trial_count",
    "parallel_trial_count",
    "max_failed_trial_count",
    "measurement_selection",
    "early_stopping",
    "worker_pools",
    "trainer",
    "timeout",
    "restart_job_on_worker_restart",
    "scheduling_strategy",
    "enable_web_access",
    *SETTINGS_KEYS,
)
PARAMETER_KEYS = ("type", "min", "max", "scale", "values", "default", "children")
PARAMETER_TYPES = ("double", "integer", "discrete", "categorical")
SCALES = ("linear", "log", "reverse_log")
ALGORITHMS = ("bayesian", "grid", "random")
GOALS = ("maximize", "minimize")
MEASUREMENT_SELECTIONS = ("best", "last")
STOPPING_RULES = ("median", "decay_curve", "convex")
CONVEX_KEYS = (
    "max_step_count",
    "min_step_count",
    "min_measurement_count",
    "learning_rate_parameter_name",
    "update_all_stopped_trials",
)
SCHEDULING_STRATEGIES = ("standard", "spot")
WORKER_POOL_KEYS = ("machine_type", "accelerator", "replica_count", "boot_disk", "args", "env")
MAX_WORKER_POOLS = 4
PROFILE_KEYS = ("description", "trainer_args", "trainer_env", "set")

_EXPERIMENT_NAME = re.compile(r"[a-z][a-z0-9-]{0,39}")
_PARAMETER_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_METRIC_ID = re.compile(r"\S{1,128}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")
_PROJECT = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
_REGION = re.compile(r"[a-z]+-[a-z]+[0-9]+")
_GCS_URI = re.compile(r"gs://[a-z0-9][a-z0-9._-]{1,221}[a-z0-9](/.*)?")
_REPOSITORY = re.compile(r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?")
_IMAGE_NAME = re.compile(r"[a-z0-9]+([._/-][a-z0-9]+)*")
_SERVICE_ACCOUNT = re.compile(
    r"[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9.-]+\.iam\.gserviceaccount\.com|[^@\s]+@[^@\s]+"
)
_NETWORK = re.compile(r"projects/[0-9]+/global/networks/[A-Za-z0-9_-]+")
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_MAX_LABELS = 64
# Set by Vertex (or by us) for every trial; a trainer env of the same name would be overwritten.
_RESERVED_ENV = re.compile(r"(CLOUD_ML_|AIP_).*|TF_CONFIG|CLUSTER_SPEC")
_RESERVED_LABEL_KEYS = (
    *identity_labels.IDENTITY,
    identity_labels.PULL_REQUEST,
    identity_labels.REPOSITORY,
    identity_labels.MANAGED_BY,
)

_MISSING = object()


class Checker:
    """Reports problems at source positions and reads typed values out of raw mappings."""

    def __init__(self, source: Source):
        self.source = source
        self.problems: list[Problem] = []

    def report(self, path: Path, message: str, key: bool = False) -> None:
        where = self.source.where(path, key=key)
        self.problems.append(Problem(where.file, where.line, where.column, dotted(path), message))

    # shapes

    def mapping(self, value: Any, path: Path, allowed: Iterable[str], what: str = "a mapping") -> dict | None:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.report(path, f"expected {what}, got {_kind(value)}")
            return None
        allowed = tuple(allowed)
        for key in value:
            if not isinstance(key, str):
                self.report((*path, key), f"keys must be text, got {_kind(key)}", key=True)
            elif key not in allowed:
                self.report((*path, key), f"unknown key {key!r}{_did_you_mean(key, allowed)}", key=True)
        return value

    def names(self, value: Any, path: Path, what: str) -> dict | None:
        """A mapping whose keys are names chosen by the user (experiments, parameters, labels)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.report(path, f"expected a mapping of {what}, got {_kind(value)}")
            return None
        for key in value:
            if not isinstance(key, str):
                self.report((*path, key), f"{what} names must be text, got {_kind(key)}", key=True)
        return {key: item for key, item in value.items() if isinstance(key, str)}

    def get(
        self,
        data: Mapping,
        key: str,
        path: Path,
        check: Callable[[Any, Path], Any],
        required: bool = False,
        default: Any = None,
    ) -> Any:
        value = data.get(key, _MISSING)
        if value is _MISSING or (value is None and not required):
            if required:
                self.report(path, f"missing required key {key!r}", key=True)
            return default
        return check(value, (*path, key))

    # scalars: each returns None after reporting a problem

    def text(
        self, value: Any, path: Path, pattern: re.Pattern[str] | None = None, rule: str = ""
    ) -> str | None:
        if not isinstance(value, str):
            self.report(path, f"expected text, got {_kind(value)}")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.report(path, f"{value!r} is not valid: {rule}")
            return None
        return value

    def choice(self, value: Any, path: Path, choices: Iterable[str]) -> str | None:
        choices = tuple(choices)
        if not isinstance(value, str) or value not in choices:
            shown = repr(value) if isinstance(value, str) else _kind(value)
            hint = _did_you_mean(value, choices) if isinstance(value, str) else ""
            self.report(path, f"{shown} is not one of {', '.join(choices)}{hint}")
            return None
        return value

    def integer(self, value: Any, path: Path, minimum: int | None = None) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.report(path, f"expected an integer, got {_kind(value)}")
            return None
        if minimum is not None and value < minimum:
            self.report(path, f"must be at least {minimum}, got {value}")
            return None
        return value

    def number(self, value: Any, path: Path) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.report(path, f"expected a number, got {_kind(value)}")
            return None
        if value != value or value in (float("inf"), float("-inf")):
            self.report(path, f"expected a finite number, got {value}")
            return None
        return value

    def boolean(self, value: Any, path: Path) -> bool | None:
        if not isinstance(value, bool):
            self.report(path, f"expected true or false, got {_kind(value)}")
            return None
        return value

    def text_list(self, value: Any, path: Path) -> tuple[str, ...] | None:
        if not isinstance(value, list):
            self.report(path, f"expected a list of text, got {_kind(value)}")
            return None
        good = True
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self.report((*path, index), f"expected text, got {_kind(item)} (quote it)")
                good = False
        return tuple(value) if good else None

    def env(self, value: Any, path: Path) -> tuple[tuple[str, str], ...] | None:
        data = self.names(value, path, "environment variables")
        if data is None:
            return None
        result = []
        for name, item in data.items():
            if not _ENV_NAME.fullmatch(name):
                self.report((*path, name), f"{name!r} is not a valid environment variable name", key=True)
            elif _RESERVED_ENV.fullmatch(name):
                self.report(
                    (*path, name), f"{name} is set by Vertex AI for each trial; choose another name", key=True
                )
            elif isinstance(item, (str, int, float)) and not isinstance(item, bool):
                result.append((name, str(item)))
            else:
                self.report((*path, name), f"expected text or a number, got {_kind(item)}")
        return tuple(result)

    def duration(self, value: Any, path: Path) -> int | None:
        """Seconds, from an integer number of seconds or text like `90m`, `2h30m`, `1d`, `3600s`."""
        if isinstance(value, int) and not isinstance(value, bool):
            seconds = value
        elif isinstance(value, str) and value and (match := _DURATION.fullmatch(value)):
            days, hours, minutes, secs = (int(part or 0) for part in match.groups())
            seconds = ((days * 24 + hours) * 60 + minutes) * 60 + secs
        else:
            self.report(path, f"expected a duration like 3600, 90m, 2h30m or 1d, got {value!r}")
            return None
        if seconds <= 0:
            self.report(path, "must be longer than zero seconds")
            return None
        return seconds


def check_file(source: Source, data: Any) -> tuple[Settings | None, dict[str, Any], dict[str, Any], Checker]:
    """The top level: returns the defaults, the raw experiments by name, the raw profiles by name."""
    checker = Checker(source)
    top = checker.mapping(data, (), TOP_LEVEL_KEYS, what="a mapping with an 'experiments' key")
    if top is None:
        return None, {}, {}, checker
    version = top.get("version", 1)
    if version != 1:
        checker.report(("version",), f"unsupported version {version!r}: this tool reads version 1")
    defaults = check_settings(checker, top.get("defaults"), ("defaults",))
    experiments = checker.names(top.get("experiments"), ("experiments",), "experiments") or {}
    if "experiments" not in top:
        checker.report((), "missing required key 'experiments'")
    for name in experiments:
        if not _EXPERIMENT_NAME.fullmatch(name):
            checker.report(
                ("experiments", name),
                f"experiment name {name!r} must be 1-40 lowercase letters, digits or '-', "
                "starting with a letter",
                key=True,
            )
    profiles = checker.names(top.get("profiles"), ("profiles",), "profiles") or {}
    return defaults, experiments, profiles, checker


def check_settings(
    checker: Checker, data: Any, path: Path, allowed: Iterable[str] = SETTINGS_KEYS
) -> Settings | None:
    data = checker.mapping(data, path, allowed)
    if data is None:
        return None
    # An empty value is not set: `${VAR:-}` makes a setting optional on an environment variable.
    data = {key: value for key, value in data.items() if value != ""}
    get = checker.get
    image = checker.mapping(data.get("image"), (*path, "image"), IMAGE_KEYS) or {}
    image = {key: value for key, value in image.items() if value != ""}
    image_path = (*path, "image")
    return Settings(
        project=get(
            data,
            "project",
            path,
            lambda v, p: checker.text(
                v, p, _PROJECT, "a project ID is 6-30 lowercase letters, digits or '-'"
            ),
        ),
        region=get(
            data,
            "region",
            path,
            lambda v, p: checker.text(v, p, _REGION, "expected a region like us-central1"),
        ),
        staging_bucket=get(data, "staging_bucket", path, lambda v, p: _gcs(checker, v, p)),
        base_output_directory=get(data, "base_output_directory", path, lambda v, p: _gcs(checker, v, p)),
        image_repository=get(
            image,
            "repository",
            image_path,
            lambda v, p: checker.text(
                v, p, _REPOSITORY, "an Artifact Registry repository ID is lowercase letters, digits and '-'"
            ),
        ),
        image_name=get(
            image,
            "name",
            image_path,
            lambda v, p: checker.text(v, p, _IMAGE_NAME, "lowercase letters, digits and . _ - /"),
        ),
        image_uri=get(image, "uri", image_path, checker.text),
        service_account=get(
            data,
            "service_account",
            path,
            lambda v, p: checker.text(v, p, _SERVICE_ACCOUNT, "expected a service account email"),
        ),
        network=get(
            data,
            "network",
            path,
            lambda v, p: checker.text(
                v, p, _NETWORK, "expected projects/PROJECT_NUMBER/global/networks/NAME"
            ),
        ),
        labels=get(data, "labels", path, lambda v, p: check_labels(checker, v, p), default={}) or {},
    )


def check_labels(checker: Checker, value: Any, path: Path) -> dict[str, str] | None:
    data = checker.names(value, path, "labels")
    if data is None:
        return None
    result = {}
    for key, item in data.items():
        if key in _RESERVED_LABEL_KEYS:
            checker.report((*path, key), f"label {key!r} is set by this tool; choose another key", key=True)
            continue
        if not _LABEL_KEY.fullmatch(key):
            checker.report(
                (*path, key),
                f"label key {key!r} must be 1-63 lowercase letters, digits, '_' or '-', "
                "starting with a letter",
                key=True,
            )
            continue
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            checker.report((*path, key), f"label values are text, got {_kind(item)}")
            continue
        item = str(item)
        if not _LABEL_VALUE.fullmatch(item):
            checker.report(
                (*path, key), f"label value {item!r} must be at most 63 lowercase letters, digits, '_' or '-'"
            )
            continue
        result[key] = item
    return result


def check_experiment(
    checker: Checker, name: str, data: Any, path: Path, defaults: Settings
) -> Experiment | None:
    """One experiment, found at `path`, merged over `defaults`."""
    before = len(checker.problems)
    data = checker.mapping(data, path, EXPERIMENT_KEYS)
    if data is None:
        return None
    get = checker.get
    settings = check_settings(checker, {k: v for k, v in data.items() if k in SETTINGS_KEYS}, path)
    settings = (settings or Settings()).over(defaults)
    _check_required_settings(checker, settings, path)

    if "metric" in data:
        metric = checker.mapping(data["metric"], (*path, "metric"), ("id", "goal")) or {}
    else:
        checker.report(path, "missing required key 'metric'", key=True)
        metric = {}
    metric_id = get(
        metric,
        "id",
        (*path, "metric"),
        lambda v, p: checker.text(v, p, _METRIC_ID, "the tag the trainer reports, without spaces"),
        required="metric" in data,
    )
    goal = get(
        metric, "goal", (*path, "metric"), lambda v, p: checker.choice(v, p, GOALS), required="metric" in data
    )
    if len(settings.labels) > _MAX_LABELS - len(_RESERVED_LABEL_KEYS):
        checker.report(
            (*path, "labels"),
            f"at most {_MAX_LABELS - len(_RESERVED_LABEL_KEYS)} labels: Vertex AI "
            f"allows {_MAX_LABELS} and this tool sets {len(_RESERVED_LABEL_KEYS)}",
        )

    algorithm = get(
        data, "algorithm", path, lambda v, p: checker.choice(v, p, ALGORITHMS), default="bayesian"
    )
    parameters = _check_parameters(
        checker, data.get("parameters", _MISSING), (*path, "parameters"), algorithm
    )
    max_trials = get(data, "max_trial_count", path, lambda v, p: checker.integer(v, p, 1), required=True)
    parallel = get(data, "parallel_trial_count", path, lambda v, p: checker.integer(v, p, 1), default=1)
    if max_trials is not None and parallel is not None and parallel > max_trials:
        checker.report(
            (*path, "parallel_trial_count"),
            f"{parallel} parallel trials is more than max_trial_count ({max_trials})",
        )
    max_failed = get(data, "max_failed_trial_count", path, lambda v, p: checker.integer(v, p, 0), default=0)
    if max_trials is not None and max_failed is not None and max_failed > max_trials:
        checker.report(
            (*path, "max_failed_trial_count"), f"{max_failed} is more than max_trial_count ({max_trials})"
        )
    selection = get(
        data, "measurement_selection", path, lambda v, p: checker.choice(v, p, MEASUREMENT_SELECTIONS)
    )
    stopping = get(
        data, "early_stopping", path, lambda v, p: _check_early_stopping(checker, v, p, parameters)
    )

    trainer = checker.mapping(data.get("trainer"), (*path, "trainer"), ("args", "env")) or {}
    trainer_args = get(trainer, "args", (*path, "trainer"), checker.text_list, default=()) or ()
    trainer_env = get(trainer, "env", (*path, "trainer"), checker.env, default=()) or ()
    _check_flag_collisions(checker, parameters or (), trainer_args, (*path, "trainer", "args"))

    pools = _check_worker_pools(checker, data.get("worker_pools", _MISSING), (*path, "worker_pools"))
    timeout = get(data, "timeout", path, checker.duration)
    restart = get(data, "restart_job_on_worker_restart", path, checker.boolean, default=False)
    strategy = get(
        data, "scheduling_strategy", path, lambda v, p: checker.choice(v, p, SCHEDULING_STRATEGIES)
    )
    web_access = get(data, "enable_web_access", path, checker.boolean, default=False)
    description = get(data, "description", path, checker.text, default="")

    if len(checker.problems) > before or parameters is None or pools is None:
        return None
    return Experiment(
        name=name,
        description=description or "",
        settings=settings,
        metric_id=metric_id,
        goal=goal,
        parameters=parameters,
        worker_pools=pools,
        max_trial_count=max_trials,
        parallel_trial_count=parallel,
        max_failed_trial_count=max_failed,
        algorithm=algorithm,
        measurement_selection=selection,
        early_stopping=stopping,
        trainer_args=tuple(trainer_args),
        trainer_env=tuple(trainer_env),
        timeout_seconds=timeout,
        restart_job_on_worker_restart=bool(restart),
        scheduling_strategy=strategy,
        enable_web_access=bool(web_access),
    )


def _check_required_settings(checker: Checker, settings: Settings, path: Path) -> None:
    def unset(*keys: tuple[str, ...]) -> bool:
        # A setting written with a bad value is already reported where it is written.
        written = any((*root, *key) in checker.source.keys for key in keys for root in (("defaults",), path))
        return not written

    missing = []
    if settings.project is None and unset(("project",)):
        missing.append("project")
    if settings.region is None and unset(("region",)):
        missing.append("region")
    if (
        settings.staging_bucket is None
        and settings.base_output_directory is None
        and unset(("staging_bucket",), ("base_output_directory",))
    ):
        missing.append("staging_bucket (or base_output_directory)")
    if (
        settings.image_uri is None
        and settings.image_repository is None
        and unset(("image", "repository"), ("image", "uri"))
    ):
        missing.append("image.repository (or image.uri)")
    if missing:
        checker.report(path, f"missing {', '.join(missing)}: set in defaults or in the experiment", key=True)
    if settings.image_uri is None and settings.image_repository is not None and settings.image_name is None:
        checker.report(path, "missing image.name: set in defaults or in the experiment", key=True)


def _check_parameters(
    checker: Checker, value: Any, path: Path, algorithm: str | None
) -> tuple[Parameter, ...] | None:
    if value is _MISSING:
        checker.report(path[:-1], "missing required key 'parameters'", key=True)
        return None
    data = checker.names(value, path, "parameters")
    if data is None:
        return None
    if not data:
        checker.report(path, "an experiment tunes at least one parameter")
        return None
    seen: dict[str, Path] = {}
    result = _check_parameter_map(checker, data, path, algorithm, seen)
    return result


def _check_parameter_map(
    checker: Checker, data: dict, path: Path, algorithm: str | None, seen: dict[str, Path]
) -> tuple[Parameter, ...] | None:
    result = []
    good = True
    for parameter_id, spec in data.items():
        parameter = _check_parameter(checker, parameter_id, spec, (*path, parameter_id), algorithm, seen)
        if parameter is None:
            good = False
        else:
            result.append(parameter)
    return tuple(result) if good else None


def _check_parameter(
    checker: Checker, parameter_id: str, data: Any, path: Path, algorithm: str | None, seen: dict[str, Path]
) -> Parameter | None:
    before = len(checker.problems)
    if not _PARAMETER_ID.fullmatch(parameter_id):
        checker.report(
            path,
            f"parameter id {parameter_id!r} is not a valid flag name: use letters, digits, '_' "
            "and '-', starting with a letter (the trainer receives --ID=VALUE)",
            key=True,
        )
    else:
        # argparse reads --num-units and --num_units into the same option
        flag = parameter_id.replace("-", "_")
        if flag in seen:
            checker.report(
                path,
                f"parameter id {parameter_id!r} collides with {dotted(seen[flag])} "
                "(the trainer would receive the same flag twice)",
                key=True,
            )
        else:
            seen[flag] = path
    data = checker.mapping(data, path, PARAMETER_KEYS)
    if data is None:
        return None
    kind = checker.get(data, "type", path, lambda v, p: checker.choice(v, p, PARAMETER_TYPES), required=True)
    if kind is None:
        return None
    get = checker.get
    allowed = {
        "double": ("type", "min", "max", "scale", "default", "children"),
        "integer": ("type", "min", "max", "scale", "default", "children"),
        "discrete": ("type", "values", "scale", "default", "children"),
        "categorical": ("type", "values", "default", "children"),
    }[kind]
    for key in data:
        if key in PARAMETER_KEYS and key not in allowed:
            checker.report((*path, key), f"a {kind} parameter has no {key!r}", key=True)
    scale = (
        get(data, "scale", path, lambda v, p: checker.choice(v, p, SCALES)) if "scale" in allowed else None
    )
    low = high = default = None
    values: tuple = ()
    if kind in ("double", "integer"):
        read = checker.number if kind == "double" else checker.integer
        low = get(data, "min", path, read, required=True)
        high = get(data, "max", path, read, required=True)
        if low is not None and high is not None and low >= high:
            checker.report((*path, "max"), f"max ({high}) must be greater than min ({low})")
        if scale in ("log", "reverse_log") and low is not None and low <= 0:
            checker.report((*path, "min"), f"{scale} scale needs min > 0, got {low}")
        if algorithm == "grid" and kind == "double":
            checker.report(
                (*path, "type"), "grid search cannot enumerate a double parameter; use discrete values"
            )
        default = get(data, "default", path, read)
        if default is not None and low is not None and high is not None and not low <= default <= high:
            checker.report((*path, "default"), f"default {default} is outside [{low}, {high}]")
        if kind == "double" and low is not None:
            low, high = float(low), float(high) if high is not None else None
            default = float(default) if default is not None else None
    else:
        values = (
            get(data, "values", path, lambda v, p: _check_values(checker, kind, v, p, scale), required=True)
            or ()
        )
        default = get(data, "default", path, lambda v, p: v)
        if (
            default is not None
            and values
            and (float(default) if kind == "discrete" and _is_number(default) else default) not in values
        ):
            checker.report((*path, "default"), f"default {default!r} is not one of the values")
        if kind == "discrete" and default is not None and _is_number(default):
            default = float(default)
    children = get(
        data,
        "children",
        path,
        lambda v, p: _check_children(checker, kind, v, p, values, low, high, algorithm, seen),
        default=(),
    )
    if len(checker.problems) > before or children is None:
        return None
    return Parameter(
        id=parameter_id,
        type=kind,
        min=low,
        max=high,
        values=values,
        scale=scale,
        default=default,
        children=children,
    )


def _check_values(checker: Checker, kind: str, value: Any, path: Path, scale: str | None) -> tuple | None:
    if not isinstance(value, list):
        checker.report(path, f"expected a list of values, got {_kind(value)}")
        return None
    if not value:
        checker.report(path, "the list of values is empty")
        return None
    if kind == "categorical":
        good = True
        for index, item in enumerate(value):
            if not isinstance(item, str):
                checker.report((*path, index), f"categorical values are text, got {_kind(item)} (quote it)")
                good = False
        if good and len(set(value)) != len(value):
            duplicate = next(item for index, item in enumerate(value) if item in value[:index])
            checker.report(path, f"values must be distinct: {duplicate!r} appears twice")
            good = False
        return tuple(value) if good else None
    numbers = [checker.number(item, (*path, index)) for index, item in enumerate(value)]
    if any(item is None for item in numbers):
        return None
    for index in range(1, len(numbers)):
        if numbers[index] == numbers[index - 1]:
            checker.report((*path, index), f"values must be distinct: {numbers[index]} appears twice")
            return None
        if numbers[index] < numbers[index - 1]:
            checker.report(
                (*path, index),
                f"values must be increasing: {numbers[index]} comes after {numbers[index - 1]}",
            )
            return None
    if scale in ("log", "reverse_log") and numbers[0] <= 0:
        checker.report((*path, 0), f"{scale} scale needs positive values, got {numbers[0]}")
        return None
    return tuple(float(item) for item in numbers)


def _check_children(
    checker: Checker,
    kind: str,
    value: Any,
    path: Path,
    values: tuple,
    low: Any,
    high: Any,
    algorithm: str | None,
    seen: dict[str, Path],
) -> tuple[Condition, ...] | None:
    if kind == "double":
        checker.report(
            path,
            "conditional parameters need a discrete, integer or categorical parent, not double "
            "(the Vertex SDK would silently drop the condition)",
            key=True,
        )
        return None
    if not isinstance(value, list):
        checker.report(path, f"expected a list of {{when: [...], parameters: {{...}}}}, got {_kind(value)}")
        return None
    result = []
    good = True
    for index, item in enumerate(value):
        item_path = (*path, index)
        item = checker.mapping(item, item_path, ("when", "parameters"))
        if item is None:
            good = False
            continue
        when = checker.get(
            item,
            "when",
            item_path,
            lambda v, p: _check_when(checker, kind, v, p, values, low, high),
            required=True,
        )
        children = checker.get(
            item, "parameters", item_path, lambda v, p: checker.names(v, p, "parameters"), required=True
        )
        if children is not None and not children and "parameters" in item:
            checker.report((*item_path, "parameters"), "a condition needs at least one parameter")
            good = False
            continue
        parameters = (
            _check_parameter_map(checker, children, (*item_path, "parameters"), algorithm, seen)
            if children
            else None
        )
        if when is None or parameters is None:
            good = False
            continue
        result.append(Condition(when=when, parameters=parameters))
    return tuple(result) if good else None


def _check_when(
    checker: Checker, kind: str, value: Any, path: Path, values: tuple, low: Any, high: Any
) -> tuple | None:
    if not isinstance(value, list):
        value = [value]
        where = lambda index: path  # noqa: E731 - one scalar written in place of a list
    else:
        where = lambda index: (*path, index)  # noqa: E731
    if not value:
        checker.report(path, "the list of parent values is empty")
        return None
    result = []
    for index, item in enumerate(value):
        if kind == "categorical":
            if not isinstance(item, str) or (values and item not in values):
                checker.report(where(index), f"{item!r} is not one of the parent's values")
                return None
            result.append(item)
        elif kind == "discrete":
            if not _is_number(item) or (values and float(item) not in values):
                checker.report(where(index), f"{item!r} is not one of the parent's values")
                return None
            result.append(float(item))
        else:
            if (
                isinstance(item, bool)
                or not isinstance(item, int)
                or (low is not None and high is not None and not low <= item <= high)
            ):
                checker.report(
                    where(index), f"{item!r} is not an integer in the parent's range [{low}, {high}]"
                )
                return None
            result.append(item)
    return tuple(result)


def _check_flag_collisions(
    checker: Checker, parameters: Iterable[Parameter], args: Iterable[str], path: Path
) -> None:
    ids = {flag.replace("-", "_") for flag in _all_ids(parameters)}
    for index, arg in enumerate(args):
        if arg.startswith("--"):
            flag = arg[2:].split("=", 1)[0].replace("-", "_")
            if flag in ids:
                checker.report(
                    (*path, index), f"{arg!r} collides with the tuned parameter {flag!r}: each trial sets it"
                )


def _all_ids(parameters: Iterable[Parameter]) -> list[str]:
    ids = []
    for parameter in parameters:
        ids.append(parameter.id)
        for condition in parameter.children:
            ids.extend(_all_ids(condition.parameters))
    return ids


def _check_early_stopping(
    checker: Checker, value: Any, path: Path, parameters: tuple[Parameter, ...] | None
) -> EarlyStopping | None:
    data = checker.mapping(value, path, ("rule", "use_elapsed_duration", *CONVEX_KEYS))
    if data is None:
        return None
    rule = checker.get(data, "rule", path, lambda v, p: checker.choice(v, p, STOPPING_RULES), required=True)
    if rule is None:
        return None
    if rule != "convex":
        for key in CONVEX_KEYS:
            if key in data:
                checker.report((*path, key), f"{key!r} applies to the convex rule only", key=True)
    get = checker.get
    counts = {
        key: get(data, key, path, lambda v, p: checker.integer(v, p, 0))
        for key in ("max_step_count", "min_step_count", "min_measurement_count")
    }
    if (
        counts["min_step_count"] is not None
        and counts["max_step_count"] is not None
        and counts["min_step_count"] > counts["max_step_count"]
    ):
        checker.report((*path, "min_step_count"), "must not be more than max_step_count")
    lr_name = get(data, "learning_rate_parameter_name", path, checker.text)
    if lr_name is not None and parameters is not None and lr_name not in _all_ids(parameters):
        checker.report(
            (*path, "learning_rate_parameter_name"), f"{lr_name!r} is not a parameter of this experiment"
        )
    return EarlyStopping(
        rule=rule,
        use_elapsed_duration=bool(get(data, "use_elapsed_duration", path, checker.boolean, default=False)),
        learning_rate_parameter_name=lr_name,
        update_all_stopped_trials=get(data, "update_all_stopped_trials", path, checker.boolean),
        **counts,
    )


def _check_worker_pools(checker: Checker, value: Any, path: Path) -> tuple[WorkerPool, ...] | None:
    if value is _MISSING:
        checker.report(path[:-1], "missing required key 'worker_pools'", key=True)
        return None
    if not isinstance(value, list) or not value:
        checker.report(
            path,
            f"expected a list of 1 to {MAX_WORKER_POOLS} worker pools, got "
            f"{'an empty list' if value == [] else _kind(value)}",
        )
        return None
    if len(value) > MAX_WORKER_POOLS:
        checker.report(
            (*path, MAX_WORKER_POOLS),
            f"Vertex AI has {MAX_WORKER_POOLS} worker pools (chief, workers, "
            f"parameter servers, evaluators); got {len(value)}",
        )
        return None
    pools = []
    good = True
    for index, item in enumerate(value):
        pool_path = (*path, index)
        if item is None and index > 0:
            pools.append(WorkerPool())  # a skipped position, e.g. no parameter servers
            continue
        pool = _check_worker_pool(checker, item, pool_path, chief=index == 0)
        good = good and pool is not None
        pools.append(pool)
    if pools and pools[-1] is not None and pools[-1].machine_type is None:
        checker.report((*path, len(value) - 1), "the last worker pool must not be empty")
        return None
    return tuple(pools) if good else None


def _check_worker_pool(checker: Checker, value: Any, path: Path, chief: bool) -> WorkerPool | None:
    before = len(checker.problems)
    data = checker.mapping(value, path, WORKER_POOL_KEYS)
    if data is None:
        return None
    get = checker.get
    machine = get(
        data, "machine_type", path, lambda v, p: checker.text(v, p, re.compile(r".+"), ""), required=True
    )
    if machine is not None and not is_machine_type_name(machine):
        checker.report((*path, "machine_type"), f"{machine!r} is not a machine type like n1-standard-4")
        machine = None
    accelerator = checker.mapping(data.get("accelerator"), (*path, "accelerator"), ("type", "count")) or {}
    accelerator_path = (*path, "accelerator")
    accelerator_type = get(
        accelerator,
        "type",
        accelerator_path,
        lambda v, p: checker.choice(v, p, ACCELERATOR_TYPES),
        required="accelerator" in data,
    )
    count = get(
        accelerator,
        "count",
        accelerator_path,
        lambda v, p: checker.integer(v, p, 1),
        default=1 if accelerator_type else 0,
    )
    if machine is not None and (accelerator_type is not None or "type" not in accelerator):
        problem = accelerator_problem(machine, accelerator_type, count or 0)
        if problem:
            checker.report(accelerator_path if "accelerator" in data else (*path, "machine_type"), problem)
    replicas = get(data, "replica_count", path, lambda v, p: checker.integer(v, p, 1), default=1)
    if chief and replicas is not None and replicas != 1:
        checker.report(
            (*path, "replica_count"),
            "the first worker pool (the chief) has exactly one replica; add workers as a second pool",
        )
    disk = checker.mapping(data.get("boot_disk"), (*path, "boot_disk"), ("type", "size_gb")) or {}
    disk_type = get(
        disk,
        "type",
        (*path, "boot_disk"),
        lambda v, p: checker.choice(v, p, ("pd-ssd", "pd-standard", "hyperdisk-balanced")),
    )
    disk_size = get(disk, "size_gb", (*path, "boot_disk"), lambda v, p: checker.integer(v, p, 100))
    args = get(data, "args", path, checker.text_list, default=()) or ()
    env = get(data, "env", path, checker.env, default=()) or ()
    if len(checker.problems) > before:
        return None
    return WorkerPool(
        machine_type=machine,
        accelerator_type=accelerator_type,
        accelerator_count=count or 0,
        replica_count=replicas,
        boot_disk_type=disk_type,
        boot_disk_size_gb=disk_size,
        args=tuple(args),
        env=tuple(env),
    )


def check_profile(checker: Checker, name: str, value: Any, path: Path) -> Profile | None:
    before = len(checker.problems)
    data = checker.mapping(value, path, PROFILE_KEYS)
    if data is None:
        return None
    get = checker.get
    description = get(data, "description", path, checker.text, default="")
    args = get(data, "trainer_args", path, checker.text_list, default=()) or ()
    env = get(data, "trainer_env", path, checker.env, default=()) or ()
    updates = get(data, "set", path, lambda v, p: checker.names(v, p, "fields"), default={}) or {}
    if len(checker.problems) > before:
        return None
    return Profile(
        name=name,
        description=description or "",
        trainer_args=tuple(args),
        trainer_env=tuple(env),
        set=tuple(updates.items()),
    )


def _gcs(checker: Checker, value: Any, path: Path) -> str | None:
    text = checker.text(value, path, _GCS_URI, "expected gs://BUCKET or gs://BUCKET/PATH")
    return text.rstrip("/") if text else None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"text ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    import difflib  # only when there is a problem to explain

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""

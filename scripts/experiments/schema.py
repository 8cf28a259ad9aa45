"""The rules of experiments.yaml: raw YAML values in, typed `model` values and every problem out.

This module reads the file's shape, the settings, each experiment's study, machines (its worker
pools) and scheduling, and the profiles; `parameters` reads the search space. Each `check_*`
function reads one part, reports what is wrong where it was written, and returns the typed value
(or None when that part is unusable). Checking never stops at the first problem: `validate`
shows them all at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from scripts.experiments import rules
from scripts.experiments.checker import Checker, kind_of
from scripts.experiments.gate import check_gate
from scripts.experiments.machines import ACCELERATOR_TYPES, accelerator_problem, machine_type_problem
from scripts.experiments.model import EarlyStopping, Experiment, Parameter, Profile, Settings, WorkerPool
from scripts.experiments.parameters import all_ids, check_flag_collisions, check_parameters
from scripts.experiments.source import KeyPath, Source
from scripts.jobs import labels as identity_labels

TOP_LEVEL_KEYS = ("version", "defaults", "profiles", "experiments")
SETTINGS_KEYS = (
    "project",
    "region",
    "staging_bucket",
    "base_output_directory",
    "image",
    "service_account",
    "network",
    "tensorboard",
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
    "gate",
    *SETTINGS_KEYS,
)
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
BOOT_DISK_TYPES = ("pd-ssd", "pd-standard", "hyperdisk-balanced")
PROFILE_KEYS = ("description", "trainer_args", "trainer_env", "set")

_EXPERIMENT_NAME = re.compile(r"[a-z][a-z0-9-]{0,39}")
_METRIC_ID = re.compile(r"\S{1,128}")
_PROJECT = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
_REGION = re.compile(r"[a-z]+-[a-z]+[0-9]+")
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]")
_GCS_URI = re.compile(rf"gs://{_BUCKET_NAME.pattern}(/.*)?")
_REPOSITORY = re.compile(r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?")
_IMAGE_NAME = re.compile(r"[a-z0-9]+([._/-][a-z0-9]+)*")
_SERVICE_ACCOUNT = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_NETWORK = re.compile(r"projects/[0-9]+/global/networks/[A-Za-z0-9_-]+")
_RESERVED_LABEL_KEYS = (
    *identity_labels.IDENTITY,
    identity_labels.PULL_REQUEST,
    identity_labels.REPOSITORY,
    identity_labels.MANAGED_BY,
)


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


# Settings that are text matching a pattern: key -> (pattern, what a valid value looks like).
_TEXT_SETTINGS = {
    "project": (_PROJECT, "a project ID is 6-30 lowercase letters, digits or '-'"),
    "region": (_REGION, "expected a region like us-central1"),
    "service_account": (_SERVICE_ACCOUNT, "expected a service account email"),
    "network": (_NETWORK, "expected projects/PROJECT_NUMBER/global/networks/NAME"),
}
_IMAGE_SETTINGS = {
    "repository": (_REPOSITORY, "an Artifact Registry repository ID is lowercase letters, digits and '-'"),
    "name": (_IMAGE_NAME, "lowercase letters, digits and . _ - /"),
    "uri": (rules.IMAGE_REFERENCE, rules.IMAGE_REFERENCE_RULE),
}


def check_settings(
    checker: Checker, data: Any, path: KeyPath, allowed: Iterable[str] = SETTINGS_KEYS
) -> Settings | None:
    data = checker.mapping(data, path, allowed)
    if data is None:
        return None
    # An empty value is not set: `${VAR:-}` makes a setting optional on an environment variable.
    data = {key: value for key, value in data.items() if value != ""}
    image_path = (*path, "image")
    image = checker.mapping(data.get("image"), image_path, IMAGE_KEYS) or {}
    image = {key: value for key, value in image.items() if value != ""}
    get, text = checker.get, checker.text
    return Settings(
        **{key: get(data, key, path, text, *rule) for key, rule in _TEXT_SETTINGS.items()},
        **{f"image_{key}": get(image, key, image_path, text, *rule) for key, rule in _IMAGE_SETTINGS.items()},
        staging_bucket=get(data, "staging_bucket", path, _staging_bucket, checker),
        base_output_directory=get(data, "base_output_directory", path, _gcs, checker),
        tensorboard=get(data, "tensorboard", path, _tensorboard, checker),
        labels=get(data, "labels", path, check_labels, checker, default={}) or {},
    )


def check_labels(value: Any, path: KeyPath, checker: Checker) -> dict[str, str] | None:
    data = checker.names(value, path, "labels")
    if data is None:
        return None
    result = {}
    for key, item in data.items():
        if key in _RESERVED_LABEL_KEYS:
            checker.report((*path, key), f"label {key!r} is set by this tool; choose another key", key=True)
            continue
        found = rules.label_problem(key, "")
        if found:
            checker.report((*path, key), found[1], key=True)
            continue
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            checker.report((*path, key), f"label values are text, got {kind_of(item)}")
            continue
        item = str(item)
        found = rules.label_problem(key, item)
        if found:
            checker.report((*path, key), found[1])
            continue
        result[key] = item
    return result


def check_experiment(
    checker: Checker, name: str, data: Any, path: KeyPath, defaults: Settings
) -> Experiment | None:
    """One experiment, found at `path`, merged over `defaults`."""
    before = len(checker.problems)
    data = checker.mapping(data, path, EXPERIMENT_KEYS)
    if data is None:
        return None
    get = checker.get
    own = check_settings(checker, {k: v for k, v in data.items() if k in SETTINGS_KEYS}, path)
    settings = (own or Settings()).over(defaults)
    _check_required_settings(checker, settings, path)
    _check_tensorboard(checker, settings, path, written_here=own is not None and own.tensorboard is not None)
    problem = rules.label_count_problem(len(settings.labels), len(_RESERVED_LABEL_KEYS))
    if problem:
        checker.report((*path, "labels"), problem)

    if "metric" not in data:
        checker.report(path, "missing required key 'metric'", key=True)
    metric_path = (*path, "metric")
    metric = checker.mapping(data.get("metric"), metric_path, ("id", "goal")) or {}
    metric_rule = (_METRIC_ID, "the tag the trainer reports, without spaces")
    metric_id = get(metric, "id", metric_path, checker.text, *metric_rule, required="metric" in data)
    goal = get(metric, "goal", metric_path, checker.choice, GOALS, required="metric" in data)

    algorithm = get(data, "algorithm", path, checker.choice, ALGORITHMS, default="bayesian")
    parameters = get(data, "parameters", path, check_parameters, checker, algorithm, required=True)
    # int32 in the message, and at most this tool's limits (rules.TOOL_LIMITS)
    max_trials = get(data, "max_trial_count", path, checker.limited, 1, required=True)
    parallel = get(data, "parallel_trial_count", path, checker.limited, 1, default=1)
    max_failed = get(data, "max_failed_trial_count", path, checker.limited, 0, default=0)
    if max_trials is not None:
        for field, message in rules.trial_count_problems(max_trials, parallel or 1, max_failed or 0):
            checker.report((*path, field), message)

    trainer_path = (*path, "trainer")
    trainer = checker.mapping(data.get("trainer"), trainer_path, ("args", "env")) or {}
    trainer_args = get(trainer, "args", trainer_path, checker.text_list, default=()) or ()
    check_flag_collisions(checker, parameters or (), trainer_args, (*trainer_path, "args"))
    pools = get(data, "worker_pools", path, check_worker_pools, checker, required=True)
    experiment = Experiment(
        name=name,
        settings=settings,
        metric_id=metric_id,
        goal=goal,
        parameters=parameters,
        worker_pools=pools,
        max_trial_count=max_trials,
        parallel_trial_count=parallel,
        max_failed_trial_count=max_failed,
        algorithm=algorithm,
        trainer_args=trainer_args,
        measurement_selection=get(
            data, "measurement_selection", path, checker.choice, MEASUREMENT_SELECTIONS
        ),
        early_stopping=get(data, "early_stopping", path, _check_early_stopping, checker, parameters),
        trainer_env=get(trainer, "env", trainer_path, checker.env) or (),
        timeout_seconds=get(data, "timeout", path, checker.duration),
        restart_job_on_worker_restart=bool(get(data, "restart_job_on_worker_restart", path, checker.boolean)),
        scheduling_strategy=get(data, "scheduling_strategy", path, checker.choice, SCHEDULING_STRATEGIES),
        enable_web_access=bool(get(data, "enable_web_access", path, checker.boolean)),
        gate=get(data, "gate", path, check_gate, checker),
        description=get(data, "description", path, checker.text) or "",
    )
    if len(checker.problems) > before or parameters is None or pools is None:
        return None
    return experiment


# What a job needs from defaults or the experiment: what to call it -> the settings, any of which will do.
_REQUIRED_SETTINGS = {
    "project": ("project",),
    "region": ("region",),
    "staging_bucket (or base_output_directory)": ("staging_bucket", "base_output_directory"),
    "image.repository (or image.uri)": ("image_repository", "image_uri"),
}


def _check_required_settings(checker: Checker, settings: Settings, path: KeyPath) -> None:
    def unset(field: str) -> bool:
        # A setting written with a bad value is already reported where it is written.
        key = tuple(field.split("_", 1)) if field.startswith("image_") else (field,)
        written = any((*root, *key) in checker.source.keys for root in (("defaults",), path))
        return getattr(settings, field) is None and not written

    missing = [what for what, fields in _REQUIRED_SETTINGS.items() if all(map(unset, fields))]
    if missing:
        checker.report(path, f"missing {', '.join(missing)}: set in defaults or in the experiment", key=True)
    if settings.image_uri is None and settings.image_repository is not None and settings.image_name is None:
        checker.report(path, "missing image.name: set in defaults or in the experiment", key=True)


def _check_tensorboard(checker: Checker, settings: Settings, path: KeyPath, *, written_here: bool) -> None:
    """What streaming to the experiment's TensorBoard needs (the rule book's `tensorboard_problems`),
    reported where `tensorboard` was written: in the experiment, else on the experiment that
    inherits it from defaults (each of them is a job Vertex AI would refuse)."""
    if settings.tensorboard is None:
        return
    here = (*path, "tensorboard")
    where, key = (here, False) if written_here else (path, True)
    inherited = "" if written_here else "tensorboard (from defaults): "
    name = rules.tensorboard_name(settings.tensorboard, settings.project, settings.region)
    if name is None:
        return  # a bare ID without a project or region: those are reported missing already
    # A job always gets a base output directory (staging_bucket/hpt without base_output_directory),
    # and a file with neither is reported missing them: only the service account is left to check.
    for field, message in rules.tensorboard_problems(
        name, service_account=settings.service_account is not None, output_directory=True
    ):
        if field == "service_account":
            message = f"{message}; set service_account in defaults or in the experiment"
        checker.report(where, inherited + message, key=key)
    problem = rules.tensorboard_region_problem(name, settings.region) if settings.region else None
    if problem:
        checker.report(where, inherited + problem, key=key)


def _tensorboard(value: Any, path: KeyPath, checker: Checker) -> str | None:
    """A TensorBoard instance: its full name, or its ID alone (the experiment's project and region
    complete it when compiled)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)  # an instance's ID is a number: `tensorboard: 1234` reads as an integer
    text = checker.text(value, path)
    if text is None:
        return None
    if not (rules.TENSORBOARD_NAME.fullmatch(text) or rules.TENSORBOARD_ID.fullmatch(text)):
        checker.report(path, f"{text!r} is not valid: {rules.TENSORBOARD_RULE}")
        return None
    return text


def _check_early_stopping(
    value: Any, path: KeyPath, checker: Checker, parameters: tuple[Parameter, ...] | None
) -> EarlyStopping | None:
    data, rule = checker.tagged(
        value, path, ("rule", "use_elapsed_duration", *CONVEX_KEYS), "rule", STOPPING_RULES
    )
    if rule is None:
        return None
    get = checker.get
    for key in CONVEX_KEYS if rule != "convex" else ():
        if key in data:
            checker.report((*path, key), f"{key!r} applies to the convex rule only", key=True)
    counts = {
        key: get(data, key, path, checker.integer, 0)
        for key in ("max_step_count", "min_step_count", "min_measurement_count")
    }
    low, high = counts["min_step_count"], counts["max_step_count"]
    if low is not None and high is not None and low > high:
        checker.report((*path, "min_step_count"), "must not be more than max_step_count")
    lr_name = get(data, "learning_rate_parameter_name", path, checker.text)
    if lr_name is not None and parameters is not None and lr_name not in all_ids(parameters):
        checker.report(
            (*path, "learning_rate_parameter_name"), f"{lr_name!r} is not a parameter of this experiment"
        )
    return EarlyStopping(
        rule=rule,
        use_elapsed_duration=bool(get(data, "use_elapsed_duration", path, checker.boolean)),
        learning_rate_parameter_name=lr_name,
        update_all_stopped_trials=get(data, "update_all_stopped_trials", path, checker.boolean),
        **counts,
    )


def check_worker_pools(value: Any, path: KeyPath, checker: Checker) -> tuple[WorkerPool, ...] | None:
    if not isinstance(value, list) or not value:
        checker.report(
            path,
            f"expected a list of 1 to {rules.MAX_WORKER_POOLS} worker pools, got "
            f"{'an empty list' if value == [] else kind_of(value)}",
        )
        return None
    problem = rules.worker_pool_count_problem(len(value))
    if problem:
        checker.report((*path, rules.MAX_WORKER_POOLS), problem)
        return None
    pools = [
        WorkerPool()  # a skipped position, e.g. no parameter servers
        if item is None and index > 0
        else _check_worker_pool(checker, item, (*path, index), chief=index == 0)
        for index, item in enumerate(value)
    ]
    if pools[-1] is not None and pools[-1].machine_type is None:
        checker.report((*path, len(value) - 1), "the last worker pool must not be empty")
        return None
    return None if None in pools else tuple(pools)


def _check_worker_pool(checker: Checker, value: Any, path: KeyPath, chief: bool) -> WorkerPool | None:
    before = len(checker.problems)
    data = checker.mapping(value, path, WORKER_POOL_KEYS)
    if data is None:
        return None
    get = checker.get
    machine = get(data, "machine_type", path, checker.text, required=True)
    problem = machine_type_problem(machine) if machine is not None else None
    if problem:
        checker.report((*path, "machine_type"), problem)
        machine = None
    where = (*path, "accelerator")
    accelerator = checker.mapping(data.get("accelerator"), where, ("type", "count")) or {}
    kind = get(accelerator, "type", where, checker.choice, ACCELERATOR_TYPES, required="accelerator" in data)
    count = get(accelerator, "count", where, checker.limited, 1, "accelerator_count", default=int(bool(kind)))
    retired = rules.retired_accelerator_problem(kind)
    if retired:
        checker.report((*where, "type"), retired)
    elif machine is not None and (kind is not None or "type" not in accelerator):
        problem = accelerator_problem(machine, kind, count or 0)
        if problem:
            checker.report(where if "accelerator" in data else (*path, "machine_type"), problem)
    replicas = get(data, "replica_count", path, checker.limited, 1, default=1)
    problem = rules.chief_replica_problem(replicas) if chief and replicas is not None else None
    if problem:
        checker.report((*path, "replica_count"), problem)
    disk_path = (*path, "boot_disk")
    disk = checker.mapping(data.get("boot_disk"), disk_path, ("type", "size_gb")) or {}
    pool = WorkerPool(
        machine_type=machine,
        accelerator_type=kind,
        accelerator_count=count or 0,
        replica_count=replicas,
        boot_disk_type=get(disk, "type", disk_path, checker.choice, BOOT_DISK_TYPES),
        boot_disk_size_gb=get(disk, "size_gb", disk_path, checker.limited, 100, "boot_disk_size_gb"),
        args=get(data, "args", path, checker.text_list) or (),
        env=get(data, "env", path, checker.env) or (),
    )
    return None if len(checker.problems) > before else pool


def check_profile(checker: Checker, name: str, value: Any, path: KeyPath) -> Profile | None:
    before = len(checker.problems)
    data = checker.mapping(value, path, PROFILE_KEYS)
    if data is None:
        return None
    get = checker.get
    profile = Profile(
        name=name,
        description=get(data, "description", path, checker.text) or "",
        trainer_args=get(data, "trainer_args", path, checker.text_list) or (),
        trainer_env=get(data, "trainer_env", path, checker.env) or (),
        set=tuple((get(data, "set", path, checker.names, "fields") or {}).items()),
    )
    return None if len(checker.problems) > before else profile


def _gcs(value: Any, path: KeyPath, checker: Checker) -> str | None:
    text = checker.text(value, path, _GCS_URI, "expected gs://BUCKET or gs://BUCKET/PATH")
    return text.rstrip("/") if text else None


def _staging_bucket(value: Any, path: KeyPath, checker: Checker) -> str | None:
    """`gs://BUCKET[/PATH]`, or a bare bucket name as `build` and `doctor` take $HPT_STAGING_BUCKET."""
    if isinstance(value, str) and _BUCKET_NAME.fullmatch(value.rstrip("/")):
        value = f"gs://{value}"
    text = checker.text(value, path, _GCS_URI, "expected BUCKET, gs://BUCKET or gs://BUCKET/PATH")
    return text.rstrip("/") if text else None

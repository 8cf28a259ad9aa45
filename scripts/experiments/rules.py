"""The rule book: every constraint Vertex AI documents for a HyperparameterTuningJob, in one place.

Two doors use it. `validate` (the `schema` and `parameters` checks) calls the rule functions
with the values written in experiments.yaml and reports each problem at its
`FILE:LINE:COL: field`. The emulator calls `job_rules.job_problems`, which applies these rules
to the job it received (as the protobuf mapping with proto field names,
`MessageToDict(..., preserving_proto_field_name=True)`), and answers INVALID_ARGUMENT naming the
field. So a job that passes `validate` or the emulator passes the same rules Vertex AI applies,
and both doors refuse the same jobs.

Import-light: plain values in, messages out; no cloud library (validate must stay fast).

Each rule cites where Vertex AI documents it:

| rule | source |
|---|---|
| display name 1-128 characters | [HPT] `displayName` |
| max_trial_count, parallel_trial_count >= 1; parallel <= max trials; failed >= 0 | [HPT] |
| at most 4 worker pools; pool 0 (the chief) has one replica; the last pool is not empty | [DIST] |
| a machine type from the catalog; accelerators the machine takes | [COMPUTE], `machines` |
| no accelerator Google has retired (K80: end of support) | [ACCEL], [K80] |
| parameter ids unique over the whole spec, conditional ones included | [STUDY] `parameterId` |
| double/integer: min < max; log and reverse-log scales need a positive range | [STUDY] `ScaleType` |
| discrete values increasing and distinct; categorical values distinct; neither empty | [STUDY] |
| conditional parameters only under discrete, integer, categorical parents | [STUDY] |
| exactly one metric (a HyperparameterTuningJob optimizes one), with an id and a goal | [STUDY] `MetricSpec` |
| a metric id holds no whitespace ("Must not contain whitespaces") | [STUDY] `MetricSpec.metricId` |
| at most 64 labels; keys, values: <= 63 of `a-z 0-9 _ -`, keys from a letter | [HPT] `labels` |
| a scheduling timeout is positive | [CUSTOM] `Scheduling.timeout` |
| no `default_value`: "not supported by HyperparameterTuningJob" | [STUDY] `DoubleValueSpec` |
| no NUL byte in a container's command, args or env (C strings in the container) | [CUSTOM] `ContainerSpec` |
| trials, replicas, accelerators and boot disk size bounded (validate only) | this tool's `TOOL_LIMITS` |
| an image URI is a container image reference, no spaces or shell syntax (validate) | [CUSTOM] `imageUri` |
| a TensorBoard is `projects/P/locations/L/tensorboards/ID` | [CUSTOM] `tensorboard` |
| a TensorBoard needs a service account and a base output directory | [TB-SETUP], [TB-TRAINING] |
| a TensorBoard is in the job's region (validate: the emulator is not told the region) | [TB-SETUP] |

[HPT]: https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.hyperparameterTuningJobs
[STUDY]: https://cloud.google.com/vertex-ai/docs/reference/rest/v1/StudySpec
[CUSTOM]: https://cloud.google.com/vertex-ai/docs/reference/rest/v1/CustomJobSpec
[DIST]: https://cloud.google.com/vertex-ai/docs/training/distributed-training
[COMPUTE]: https://cloud.google.com/vertex-ai/docs/training/configure-compute
[ACCEL]: https://cloud.google.com/vertex-ai/docs/reference/rest/v1/MachineSpec#AcceleratorType
[K80]: https://cloud.google.com/compute/docs/eol/k80-eol
[TB-SETUP]: https://cloud.google.com/vertex-ai/docs/experiments/tensorboard-setup
[TB-TRAINING]: https://cloud.google.com/vertex-ai/docs/experiments/tensorboard-training
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

from scripts.experiments.machines import accelerator_problem, machine_type_problem

MAX_DISPLAY_NAME = 128  # [HPT] displayName: "up to 128 characters long"
MAX_WORKER_POOLS = 4  # [DIST]: chief, workers, parameter servers, evaluators
MAX_LABELS = 64  # [HPT] labels
LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")  # [HPT] labels
LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")  # [HPT] labels
LOG_SCALES = ("UNIT_LOG_SCALE", "UNIT_REVERSE_LOG_SCALE")
# experiments.yaml's scale names as the API's
SCALES = {"linear": "UNIT_LINEAR_SCALE", "log": "UNIT_LOG_SCALE", "reverse_log": "UNIT_REVERSE_LOG_SCALE"}
_SCALE_NAMES = {api: name for name, api in SCALES.items()}
CONDITIONAL_PARENTS = ("discrete_value_spec", "integer_value_spec", "categorical_value_spec")
VALUE_SPECS = ("double_value_spec", "integer_value_spec", "discrete_value_spec", "categorical_value_spec")


DEFAULT_VALUE_UNSUPPORTED = (
    "not supported by HyperparameterTuningJob (the v1 API documents default_value for Vertex AI Vizier only)"
)


# -- one value at a time: what both doors call -----------------------------------------------------


NUL_MESSAGE = "contains a NUL byte (\\0), which no command-line argument or environment value can hold"


def nul_problem(text: str) -> str | None:
    """[CUSTOM] ContainerSpec: a process's arguments and environment are C strings."""
    return NUL_MESSAGE if "\0" in text else None


def display_name_problem(name: str) -> str | None:
    """[HPT] displayName: required, up to 128 characters."""
    if not name:
        return "a display name is required"
    if len(name) > MAX_DISPLAY_NAME:
        return f"at most {MAX_DISPLAY_NAME} characters, got {len(name)} ({name[:40]!r}...)"
    return None


def trial_count_problems(max_trials: int, parallel: int, max_failed: int) -> Iterator[tuple[str, str]]:
    """[HPT] maxTrialCount and parallelTrialCount are required (positive); parallel trials beyond
    the total cannot run; maxFailedTrialCount is a count (0: Vertex AI decides)."""
    if max_trials < 1:
        yield "max_trial_count", f"must be at least 1, got {max_trials}"
    if parallel < 1:
        yield "parallel_trial_count", f"must be at least 1, got {parallel}"
    elif max_trials >= 1 and parallel > max_trials:
        yield (
            "parallel_trial_count",
            f"{parallel} parallel trials is more than max_trial_count ({max_trials})",
        )
    if max_failed < 0:
        yield "max_failed_trial_count", f"must not be negative, got {max_failed}"
    elif max_trials >= 1 and max_failed > max_trials:
        yield "max_failed_trial_count", f"{max_failed} is more than max_trial_count ({max_trials})"


def worker_pool_count_problem(count: int) -> str | None:
    """[DIST] 1 to 4 worker pools: chief, workers, parameter servers, evaluators."""
    if count < 1:
        return "at least one worker pool (the chief) is required"
    if count > MAX_WORKER_POOLS:
        return (
            f"Vertex AI has {MAX_WORKER_POOLS} worker pools (chief, workers, parameter servers, "
            f"evaluators); got {count}"
        )
    return None


# -- this tool's limits: validate only ---------------------------------------------------------
# What a job may ask for at most, so that a slip of a few zeros (or a fork's file) cannot reach a
# job whose worst case is millions: Vertex AI documents no upper bound for these counts (they are
# bounded by quota), so each limit is this tool's own, said so in its message; the emulator does
# not apply them (Vertex AI would accept such a job). The boot disk's is Compute Engine's: a
# Persistent Disk volume holds at most 64 TiB (https://cloud.google.com/compute/docs/disks/persistent-disks),
# 64,000 GB here; its least is Vertex AI's default, 100 GB (DiskSpec.boot_disk_size_gb).
TOOL_LIMITS: dict[str, tuple[int, str]] = {
    "max_trial_count": (1_000, "this tool's limit on the trials of one job"),
    "parallel_trial_count": (100, "this tool's limit on the trials one job runs at a time"),
    "max_failed_trial_count": (1_000, "this tool's limit on the trials of one job"),
    "replica_count": (100, "this tool's limit on the replicas of one worker pool"),
    "accelerator_count": (16, "the most accelerators one Vertex AI machine takes (a2-megagpu-16g: 16 A100s)"),
    "boot_disk_size_gb": (
        64_000,
        "a Persistent Disk volume holds at most 64 TiB, and this tool allows a boot disk 64,000 GB",
    ),
}


def tool_limit_problem(field: str, value: int) -> str | None:
    """Why `value` is more than this tool lets `field` ask for (None: it is not)."""
    limit, why = TOOL_LIMITS[field]
    return f"at most {limit:,}, got {value:,}: {why}" if value > limit else None


# [CUSTOM] ContainerSpec.imageUri: "The URI of a container image in the Container Registry that is
# to be run on each worker replica". A reference as Docker's distribution/reference grammar reads
# one, with its registry host written out: HOST[:PORT]/PATH[:TAG][@sha256:DIGEST]. No whitespace,
# no shell syntax (`$(...)`, `;`, quotes): nothing but a registry reference reaches a job.
_HOST_PART = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
IMAGE_REFERENCE = re.compile(
    rf"{_HOST_PART}(?:\.{_HOST_PART})*(?::[0-9]{{1,5}})?"  # registry host[:port]
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+"  # /path/components
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"  # :tag
    r"(?:@sha256:[a-f0-9]{64})?"  # @digest
)
IMAGE_REFERENCE_RULE = (
    "expected a container image reference, HOST[:PORT]/PATH[:TAG][@sha256:DIGEST] without spaces "
    "(e.g. us-central1-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE:TAG)"
)


def chief_replica_problem(replicas: int) -> str | None:
    """[DIST] the first worker pool runs the chief: exactly one replica."""
    if replicas != 1:
        return "the first worker pool (the chief) has exactly one replica; add workers as a second pool"
    return None


# [ACCEL] AcceleratorType: "NVIDIA_TESLA_K80: Deprecated: Nvidia Tesla K80 GPU has reached end of
# support" (google.cloud.aiplatform_v1 2.x says the same). P100 and P4 are not marked so (checked
# 2026-12-01 against the v1 reference and the Compute Engine GPU list, which lists both as
# generally available): they stay allowed until Google retires them.
RETIRED_ACCELERATORS: dict[str, str] = {
    "NVIDIA_TESLA_K80": (
        "NVIDIA_TESLA_K80 has reached end of support on Google Cloud "
        "(https://cloud.google.com/compute/docs/eol/k80-eol); use NVIDIA_TESLA_T4 or NVIDIA_L4 "
        "(g2-standard-*) instead"
    ),
}


def retired_accelerator_problem(accelerator: str | None) -> str | None:
    """[ACCEL] an accelerator Google no longer provides cannot run a trial."""
    return RETIRED_ACCELERATORS.get(accelerator or "")


def machine_problem(machine_type: str, accelerator: str | None, count: int) -> str | None:
    """[COMPUTE] a catalogued machine type taking these accelerators; [ACCEL] none retired."""
    return (
        retired_accelerator_problem(accelerator)
        or machine_type_problem(machine_type)
        or accelerator_problem(machine_type, accelerator, count)
    )


def range_problem(kind: str, low: float, high: float, scale: str | None) -> tuple[str, str] | None:
    """[STUDY] DoubleValueSpec/IntegerValueSpec: min < max; UNIT_LOG_SCALE and
    UNIT_REVERSE_LOG_SCALE "require the entire feasible space to be strictly positive"."""
    if low >= high:
        return "max", f"max ({high}) must be greater than min ({low})"
    if scale in LOG_SCALES and low <= 0:
        return "min", f"{_SCALE_NAMES[scale]} scale needs min > 0, got {low}"
    return None


def discrete_values_problem(values: Sequence[float], scale: str | None) -> tuple[int | None, str] | None:
    """[STUDY] DiscreteValueSpec.values: "should be in increasing order"; distinct; a log scale
    needs them positive. Returns the index of the offending value (None: the list) and why."""
    if not values:
        return None, "the list of values is empty"
    for index in range(1, len(values)):
        if values[index] == values[index - 1]:
            return index, f"values must be distinct: {values[index]} appears twice"
        if values[index] < values[index - 1]:
            return index, f"values must be increasing: {values[index]} comes after {values[index - 1]}"
    if scale in LOG_SCALES and values[0] <= 0:
        return 0, f"{_SCALE_NAMES[scale]} scale needs positive values, got {values[0]}"
    return None


def categorical_values_problem(values: Sequence[str]) -> str | None:
    """[STUDY] CategoricalValueSpec.values: a non-empty list of distinct values."""
    if not values:
        return "the list of values is empty"
    seen: set[str] = set()
    for value in values:
        if value in seen:
            return f"values must be distinct: {value!r} appears twice"
        seen.add(value)
    return None


def conditional_parent_problem(parent_kind: str) -> str | None:
    """[STUDY] ConditionalParameterSpec: the parent's values are discrete, integer or categorical."""
    if parent_kind not in CONDITIONAL_PARENTS:
        return (
            "conditional parameters need a discrete, integer or categorical parent, not double "
            "(the Vertex SDK would silently drop the condition)"
        )
    return None


def metric_id_problem(metric_id: str) -> str | None:
    """[STUDY] MetricSpec.metricId: required, and "Must not contain whitespaces"."""
    if not metric_id:
        return "required"
    if any(character.isspace() for character in metric_id):
        return f"metric id {metric_id!r} must not contain whitespace"
    return None


def duplicate_ids(ids: Iterable[str]) -> list[str]:
    """[STUDY] parameterId: unique among all parameters, conditional ones included."""
    seen: set[str] = set()
    repeated = []
    for parameter_id in ids:
        if parameter_id in seen:
            repeated.append(parameter_id)
        seen.add(parameter_id)
    return repeated


def label_problem(key: str, value: str) -> tuple[bool, str] | None:
    """[HPT] labels: keys and values of at most 63 lowercase letters, digits, '_' and '-', keys
    starting with a letter. Returns (is it the key, why)."""
    if not LABEL_KEY.fullmatch(key):
        return True, (
            f"label key {key!r} must be 1-63 lowercase letters, digits, '_' or '-', starting with a letter"
        )
    if not LABEL_VALUE.fullmatch(value):
        return False, f"label value {value!r} must be at most 63 lowercase letters, digits, '_' or '-'"
    return None


def label_count_problem(count: int, reserved: int = 0) -> str | None:
    """[HPT] labels: at most 64 per resource (`reserved` of them set by this tool)."""
    if count + reserved > MAX_LABELS:
        if reserved:
            return (
                f"at most {MAX_LABELS - reserved} labels: Vertex AI allows {MAX_LABELS} "
                f"and this tool sets {reserved}"
            )
        return f"at most {MAX_LABELS} labels, got {count}"
    return None


# [CUSTOM] tensorboard: "projects/{project}/locations/{location}/tensorboards/{tensorboard}" (a project
# ID or number; an instance's ID is what Vertex AI gave it at creation, a number in practice).
TENSORBOARD_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
TENSORBOARD_NAME = re.compile(
    r"projects/(?P<project>[a-z0-9-]{1,30})/locations/(?P<location>[a-z0-9-]{1,63})"
    r"/tensorboards/(?P<id>[A-Za-z0-9_-]{1,128})"
)
TENSORBOARD_RULE = "expected projects/PROJECT/locations/REGION/tensorboards/ID, or the instance's ID alone"
# [TB-SETUP]: "The Vertex AI TensorBoard integration with custom training requires attaching a service
# account"; [TB-TRAINING]: the logs streamed are the ones the trainer writes to AIP_TENSORBOARD_LOG_DIR,
# which Vertex AI sets only when the job has a base output directory ([CUSTOM] baseOutputDirectory).
TENSORBOARD_NEEDS_SERVICE_ACCOUNT = (
    "streaming to a TensorBoard needs a service_account: Vertex AI TensorBoard with custom training "
    "requires attaching a service account (https://cloud.google.com/vertex-ai/docs/experiments/tensorboard-setup)"
)
TENSORBOARD_NEEDS_OUTPUT = (
    "streaming to a TensorBoard needs a base_output_directory: the logs streamed are the ones trials write "
    "to AIP_TENSORBOARD_LOG_DIR, which Vertex AI sets only under a base output directory"
)


def tensorboard_name(value: str, project: str | None, region: str | None) -> str | None:
    """A TensorBoard instance's full name: as written, or a bare ID completed with the job's project
    and region (None when it is neither, or a bare ID has no project and region to complete it)."""
    if TENSORBOARD_NAME.fullmatch(value):
        return value
    if TENSORBOARD_ID.fullmatch(value) and project and region:
        return f"projects/{project}/locations/{region}/tensorboards/{value}"
    return None


def tensorboard_problems(
    name: str, *, service_account: bool, output_directory: bool
) -> Iterator[tuple[str, str]]:
    """[CUSTOM] tensorboard names an instance; [TB-SETUP], [TB-TRAINING] what streaming to it needs.
    Yields (the field at fault: tensorboard, service_account or base_output_directory, why)."""
    if not TENSORBOARD_NAME.fullmatch(name):
        yield "tensorboard", f"{name!r} is not valid: {TENSORBOARD_RULE}"
    if not service_account:
        yield "service_account", TENSORBOARD_NEEDS_SERVICE_ACCOUNT
    if not output_directory:
        yield "base_output_directory", TENSORBOARD_NEEDS_OUTPUT


def tensorboard_region_problem(name: str, region: str) -> str | None:
    """[TB-SETUP]: the bucket, the training job and the TensorBoard instance "must be in same region"."""
    match = TENSORBOARD_NAME.fullmatch(name)
    if match and match["location"] != region:
        return (
            f"the TensorBoard is in {match['location']}, but the job runs in {region}: Vertex AI streams "
            "only to an instance in the job's region (https://cloud.google.com/vertex-ai/docs/experiments/"
            "tensorboard-setup)"
        )
    return None

"""Machine types and accelerators: the catalog Vertex AI trains on, what each machine can take.

`MACHINE_TYPES` is the catalog of machine types Vertex AI custom training (and so each trial of
a HyperparameterTuningJob) accepts, from "Configure compute resources for custom training"
(https://cloud.google.com/vertex-ai/docs/training/configure-compute#machine-types); a name
outside it is refused with the nearest names ("did you mean").

`ACCELERATOR_TYPES` mirrors `google.cloud.aiplatform_v1.AcceleratorType` (a test keeps the
two equal) so that `validate` needs no cloud library. The attachment rules follow the Compute
Engine GPU and TPU machine families: N1 machines take K80/P4/T4/P100/V100 GPUs in the counts
listed; the accelerator-optimized families (A2, A3, A4, G2) come with a fixed number of one
GPU model, written in the machine type's name or table below.
"""

from __future__ import annotations

import re

ACCELERATOR_TYPES: tuple[str, ...] = (
    "NVIDIA_TESLA_K80",
    "NVIDIA_TESLA_P100",
    "NVIDIA_TESLA_V100",
    "NVIDIA_TESLA_P4",
    "NVIDIA_TESLA_T4",
    "NVIDIA_TESLA_A100",
    "NVIDIA_A100_80GB",
    "NVIDIA_L4",
    "NVIDIA_H100_80GB",
    "NVIDIA_H100_MEGA_80GB",
    "NVIDIA_H200_141GB",
    "NVIDIA_B200",
    "NVIDIA_GB200",
    "NVIDIA_RTX_PRO_6000",
    "TPU_V2",
    "TPU_V3",
    "TPU_V4_POD",
    "TPU_V5_LITEPOD",
)

# GPUs that attach to N1 machines, and the counts a machine can take.
_N1_GPU_COUNTS: dict[str, tuple[int, ...]] = {
    "NVIDIA_TESLA_K80": (1, 2, 4, 8),
    "NVIDIA_TESLA_P4": (1, 2, 4),
    "NVIDIA_TESLA_T4": (1, 2, 4),
    "NVIDIA_TESLA_P100": (1, 2, 4),
    "NVIDIA_TESLA_V100": (1, 2, 4, 8),
}

# Accelerator-optimized families: machine type pattern -> (accelerator, count from the name).
_FIXED_GPU_FAMILIES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"a2-(?:highgpu|megagpu)-(\d+)g"), "NVIDIA_TESLA_A100"),
    (re.compile(r"a2-ultragpu-(\d+)g"), "NVIDIA_A100_80GB"),
    (re.compile(r"a3-highgpu-(\d+)g"), "NVIDIA_H100_80GB"),
    (re.compile(r"a3-megagpu-(\d+)g"), "NVIDIA_H100_MEGA_80GB"),
    (re.compile(r"a3-ultragpu-(\d+)g"), "NVIDIA_H200_141GB"),
    (re.compile(r"a4-highgpu-(\d+)g"), "NVIDIA_B200"),
    (re.compile(r"a4x-highgpu-(\d+)g"), "NVIDIA_GB200"),
)
# G2 machines: one to eight L4 GPUs, by size.
_G2_L4_COUNTS = {4: 1, 8: 1, 12: 1, 16: 1, 32: 1, 24: 2, 48: 4, 96: 8}
_G2 = re.compile(r"g2-standard-(\d+)")
_TPU_MACHINE = re.compile(r"cloud-tpu|ct\d")


def _sizes(family: str, sizes: tuple[int | str, ...]) -> tuple[str, ...]:
    return tuple(f"{family}-{size}" for size in sizes)


# https://cloud.google.com/vertex-ai/docs/training/configure-compute#machine-types
MACHINE_TYPES: frozenset[str] = frozenset(
    (
        *_sizes("e2-standard", (4, 8, 16, 32)),
        *_sizes("e2-highmem", (2, 4, 8, 16)),
        *_sizes("e2-highcpu", (16, 32)),
        *_sizes("n2-standard", (4, 8, 16, 32, 48, 64, 80)),
        *_sizes("n2-highmem", (2, 4, 8, 16, 32, 48, 64, 80)),
        *_sizes("n2-highcpu", (16, 32, 48, 64, 80, 96)),
        *_sizes("n1-standard", (4, 8, 16, 32, 64, 96)),
        *_sizes("n1-highmem", (2, 4, 8, 16, 32, 64, 96)),
        *_sizes("n1-highcpu", (16, 32, 64, 96)),
        "c2-standard-60",
        *_sizes("m1-ultramem", (40, 80, 160)),
        "m1-megamem-96",
        *_sizes("a2-highgpu", ("1g", "2g", "4g", "8g")),
        "a2-megagpu-16g",
        *_sizes("a2-ultragpu", ("1g", "2g", "4g", "8g")),
        *_sizes("a3-highgpu", ("1g", "2g", "4g", "8g")),
        "a3-megagpu-8g",
        "a3-ultragpu-8g",
        "a4-highgpu-8g",
        "a4x-highgpu-4g",
        *_sizes("g2-standard", (4, 8, 12, 16, 24, 32, 48, 96)),
        "cloud-tpu",
        *_sizes("ct5lp-hightpu", ("1t", "4t", "8t")),
        *_sizes("ct6e-standard", ("1t", "4t", "8t")),
    )
)


def machine_type_problem(name: str) -> str | None:
    """Why `name` is not a machine type Vertex AI trains on (None: it is), with the nearest names."""
    if not name:
        return "a machine type is required (e.g. n1-standard-4)"
    if name in MACHINE_TYPES:
        return None
    import difflib  # only when there is a problem to explain

    close = difflib.get_close_matches(name, sorted(MACHINE_TYPES), n=3, cutoff=0.6)
    hint = f" (did you mean {' or '.join(repr(item) for item in close)}?)" if close else ""
    family = name.rsplit("-", 1)[0]
    sizes = sorted(item for item in MACHINE_TYPES if item.rsplit("-", 1)[0] == family)
    known = f"; {family} comes in {', '.join(sizes)}" if sizes and not close else ""
    return f"{name!r} is not a machine type Vertex AI trains on{hint}{known}"


def _fixed_gpus(machine_type: str) -> tuple[str, str | int | None] | None:
    """The GPU an accelerator-optimized machine type comes with, and how many (None: not known)."""
    for pattern, gpu in _FIXED_GPU_FAMILIES:
        match = pattern.fullmatch(machine_type)
        if match:
            return gpu, match.group(1)
    match = _G2.fullmatch(machine_type)
    return ("NVIDIA_L4", _G2_L4_COUNTS.get(int(match.group(1)))) if match else None


def accelerator_problem(machine_type: str, accelerator: str | None, count: int) -> str | None:
    """Why `machine_type` cannot take `count` x `accelerator` (None: it can)."""
    gpu, expected = _fixed_gpus(machine_type) or (None, None)
    if accelerator is None:
        if gpu is None:
            return None
        return f"machine type {machine_type} comes with {gpu} GPUs: set accelerator.type to {gpu}"
    if accelerator.startswith("TPU_"):
        if not _TPU_MACHINE.match(machine_type):
            return f"{accelerator} needs a TPU machine type (e.g. cloud-tpu), not {machine_type}"
        return None
    if machine_type.startswith("n1-"):
        counts = _N1_GPU_COUNTS.get(accelerator)
        if counts is None:
            return f"N1 machines take {', '.join(_N1_GPU_COUNTS)} GPUs, not {accelerator}"
        if count not in counts:
            return (
                f"{machine_type} takes {accelerator} in counts of {', '.join(map(str, counts))}, not {count}"
            )
        return None
    if gpu is not None:
        if accelerator != gpu:
            return f"machine type {machine_type} comes with {gpu} GPUs, not {accelerator}"
        if expected is not None and count != int(expected):
            return f"machine type {machine_type} comes with exactly {expected} {gpu}, not {count}"
        return None
    if machine_type.startswith(("e2-", "n2-", "n2d-", "c2-", "c2d-", "m1-", "t2d-")):
        family = machine_type.split("-")[0].upper()
        return f"{family} machines take no accelerators; use an N1 machine or an accelerator-optimized type"
    return None

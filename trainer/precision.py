"""The dtype policy: `auto` picks a mixed policy only where the hardware gains from it.

bfloat16 pays off on CPUs with AVX512-BF16 or AMX and on GPUs of compute capability 8.0 or
newer (Ampere on); float16 with loss scaling on 7.x (V100, T4); everything else trains in
float32. The model keeps its output layer in float32 whatever the policy (see `model.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

_CPU_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def choose_policy(
    requested: str, gpu_capabilities: Sequence[tuple[int, int]], cpu_flags: Iterable[str]
) -> str:
    """The Keras dtype policy name for `requested` on this hardware (pure; no TensorFlow)."""
    if requested != "auto":
        return requested
    if gpu_capabilities:
        oldest = min(gpu_capabilities)  # replicas run in lockstep: the slowest card decides
        if oldest >= (8, 0):
            return "mixed_bfloat16"
        if oldest >= (7, 0):
            return "mixed_float16"
        return "float32"
    return "mixed_bfloat16" if _CPU_BF16_FLAGS & set(cpu_flags) else "float32"


def cpu_flags(cpuinfo_path: str = "/proc/cpuinfo") -> set[str]:
    """The CPU feature flags Linux reports; empty where there is no /proc/cpuinfo."""
    try:
        with open(cpuinfo_path, encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def gpu_capabilities() -> list[tuple[int, int]]:
    """Compute capabilities of the visible GPUs (TensorFlow is imported here, by the trainer only)."""
    import tensorflow as tf  # the trainer loads it after choosing the CPU kernels (task.train)

    capabilities = []
    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if capability:
            capabilities.append(tuple(capability))
    return capabilities


def apply_policy(requested: str) -> str:
    """Chooses and sets the global Keras dtype policy; returns its name for the log."""
    import keras  # as tensorflow above; choose_policy stays pure

    name = choose_policy(requested, gpu_capabilities(), cpu_flags())
    keras.mixed_precision.set_global_policy(name)
    return name

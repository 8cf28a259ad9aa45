"""The distribution strategy, as in the codelab: mirror over the local devices, or over workers.

- several workers in `TF_CONFIG` (Vertex multi-replica pools) -> `MultiWorkerMirroredStrategy`;
- otherwise `MirroredStrategy` over the local GPUs, or one CPU (split into `cpu_replicas`
  logical devices when asked, which is how the multi-replica path is tested without GPUs).

The global batch is the per-replica batch times `num_replicas_in_sync`.
"""

from __future__ import annotations

from trainer.environment import Cluster


def configure_cpu_replicas(cpu_replicas: int) -> None:
    """Splits the CPU into logical devices; must run before TensorFlow initializes its runtime."""
    if cpu_replicas <= 1:
        return
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return  # GPUs are the replicas
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_replicas)


def make_strategy(cluster: Cluster):
    """The `tf.distribute.Strategy` for this process's place in the cluster."""
    import tensorflow as tf

    if cluster.is_multi_worker:
        # Ring all-reduce works on CPUs and GPUs alike; NCCL would be picked on GPUs by AUTO anyway.
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    devices = [device.name for device in gpus or tf.config.list_logical_devices("CPU")]
    if not gpus and len(devices) > 1:
        # No NCCL on CPUs: reduce through the host.
        return tf.distribute.MirroredStrategy(devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
    return tf.distribute.MirroredStrategy(devices)

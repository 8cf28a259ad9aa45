"""The distribution strategy, as in the codelab: mirror over the local devices, or over workers.

- several workers in `TF_CONFIG` (Vertex multi-replica pools) -> `MultiWorkerMirroredStrategy`;
- several local GPUs (or the CPU split into `cpu_replicas` logical devices, which is how the
  multi-replica path is tested without GPUs) -> `MirroredStrategy`, as in the codelab;
- one device -> TensorFlow's default strategy. Mirroring over a single device only adds
  overhead: on a 2-core CPU it cost about a third of the wall time per epoch (same CPU time,
  less parallelism; measured in bench/trainer.py).

The global batch is the per-replica batch times `num_replicas_in_sync`.
"""

from __future__ import annotations

from trainer.environment import Cluster


def configure_cpu_replicas(cpu_replicas: int) -> None:
    """Splits the CPU into logical devices; must run before TensorFlow initializes its runtime."""
    if cpu_replicas <= 1:
        return
    import tensorflow as tf  # the trainer loads it after choosing the CPU kernels (task.train)

    if tf.config.list_physical_devices("GPU"):
        return  # GPUs are the replicas
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_replicas)


def make_strategy(cluster: Cluster):
    """The `tf.distribute.Strategy` for this process's place in the cluster."""
    import tensorflow as tf  # the trainer loads it after choosing the CPU kernels (task.train)

    if cluster.is_multi_worker:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        _reduce_leaf_by_leaf(strategy)
        return strategy
    gpus = tf.config.list_logical_devices("GPU")
    devices = [device.name for device in gpus or tf.config.list_logical_devices("CPU")]
    if len(devices) == 1:
        return tf.distribute.get_strategy()
    if not gpus:
        # No NCCL on CPUs: reduce through the host.
        return tf.distribute.MirroredStrategy(devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
    return tf.distribute.MirroredStrategy(devices)


def strategy_name(strategy, cluster: Cluster) -> str:
    """For the log (MultiWorkerMirroredStrategy's class is called CollectiveAllReduceStrategy)."""
    if cluster.is_multi_worker:
        return "MultiWorkerMirroredStrategy"
    if strategy.num_replicas_in_sync == 1:
        return "default strategy (one device)"
    return "MirroredStrategy"


def _reduce_leaf_by_leaf(strategy) -> None:
    """Works around Keras 3's multi-worker `fit` (keras-team/keras#20585, tensorflow#72388).

    Keras 3 calls `strategy.reduce` on a whole `(images, labels)` batch before training and
    with `axis=0` on scalar metrics each step; MultiWorkerMirroredStrategy rejects both. This
    reduces each tensor on its own and drops the axis for scalars, which is what Keras means.
    Remove once Keras handles CollectiveAllReduceStrategy itself.
    """
    import tensorflow as tf  # the trainer loads it after choosing the CPU kernels (task.train)

    reduce = strategy.reduce

    def reduce_each(reduce_op, value, axis=None):
        def reduce_one(tensor):
            first = tensor.values[0] if isinstance(tensor, tf.distribute.DistributedValues) else tensor
            rank = tf.convert_to_tensor(first).shape.rank
            return reduce(reduce_op, tensor, axis=axis if rank else None)

        return tf.nest.map_structure(reduce_one, value)

    strategy.reduce = reduce_each

"""`python -m trainer.task --learning_rate=F --momentum=F --num_units=N [...]`: one trial.

Reads top to bottom: flags, where this process stands (Vertex's environment and cluster),
CPU kernels, precision and distribution, data, model, training with per-epoch reports, saving.
Exit status: 0 trained, 2 a problem the user can fix (one line on stderr), 3 the loss diverged
(NaN or infinite), 4 the model collapsed (constant predictions); for 3 and 4 the last line on
stderr is `hpt-trial-outcome: diverged|collapsed: <reason>`.
"""

from __future__ import annotations

import argparse
import logging
import os
import posixpath
import shutil
import sys
import tempfile
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

from trainer import cpu_kernels, environment, flags
from trainer.errors import ModelCollapsed, TrainerUserError, TrialStopped

if TYPE_CHECKING:
    import keras

EXIT_USER_ERROR = 2
EXIT_DIVERGED = 3
EXIT_COLLAPSED = 4
# The trainer's last line when it stops a trial itself: `hpt-trial-outcome: <outcome>: <reason>`.
OUTCOME_PREFIX = "hpt-trial-outcome: "

log = logging.getLogger("trainer")


def main(argv: Sequence[str] | None = None) -> int:
    args = flags.parse_args(argv)  # bad flags exit 2 here, before TensorFlow loads
    logging.basicConfig(level=logging.INFO, format="%(asctime)s trainer %(levelname)s %(message)s")
    try:
        return train(args)
    except TrainerUserError as error:
        print(f"python -m trainer.task: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except TrialStopped as error:
        log.error("training stopped: %s; the trial fails (a smaller --learning_rate usually helps)", error)
        # The last line says how the trial ended, for the tuner to record (docs/trainer.md).
        print(f"{OUTCOME_PREFIX}{error.outcome}: {error}", file=sys.stderr, flush=True)
        return EXIT_COLLAPSED if isinstance(error, ModelCollapsed) else EXIT_DIVERGED


def train(args: argparse.Namespace) -> int:
    # Where this process stands: Vertex's output paths, and its place in a multi-worker cluster.
    env = environment.process_environment()
    environment.ensure_tf_config(env)
    cluster = environment.cluster_from_environment(env)
    paths = environment.output_paths(env, args.model_dir)

    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    # TensorFlow picks its CPU kernels when it loads, so this comes before the first import.
    log.info("%s", cpu_kernels.prefer_onednn(env))
    # Keras warns that fit's shuffle= does not apply to a tf.data input; ours shuffles itself.
    warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed")
    import keras  # now: after the CPU kernels are chosen, never for a bad flag

    # These import TensorFlow too: after the CPU kernels are chosen, and never for a bad flag.
    from trainer import backup, data, distribution, model, precision, reporting

    # Devices, seeds, precision and strategy, in the order TensorFlow needs them.
    distribution.configure_cpu_replicas(args.cpu_replicas)
    keras.utils.set_random_seed(args.seed)
    policy = precision.apply_policy(args.precision)
    strategy = distribution.make_strategy(cluster)
    replicas = strategy.num_replicas_in_sync
    global_batch_size = args.batch_size * replicas

    # Data: decoded once, cached, shuffled with the same seed on every worker.
    images = data.load(
        args.data,
        args.image_size,
        tfds_data_dir=args.tfds_data_dir,
        synthetic_examples=args.synthetic_examples,
    )
    scaling = args.input_scaling
    train_data = data.input_pipeline(
        images.train,
        global_batch_size,
        training=True,
        seed=args.seed,
        scaling=scaling,
        augment=args.augment,
    )
    test_data = data.input_pipeline(
        images.test, global_batch_size, training=False, seed=args.seed, scaling=scaling
    )
    log.info(
        "data %s: %d train / %d test images of %dx%d, classes %s",
        args.data,
        images.train.size,
        images.test.size,
        args.image_size,
        args.image_size,
        list(images.class_names),
    )
    log.info(
        "%s with %d replica(s), global batch %d, precision %s, %s",
        distribution.strategy_name(strategy, cluster),
        replicas,
        global_batch_size,
        policy,
        f"{cluster.task_type} {cluster.task_index} of {cluster.num_workers} workers"
        if cluster.is_multi_worker
        else "one worker",
    )

    if args.dropout or args.augment != "none":
        log.info("regularization: dropout %g, training images augmented: %s", args.dropout, args.augment)

    # The model, built where the strategy places its variables.
    with strategy.scope():
        cnn = model.build_model(args.image_size, args.num_units, dropout=args.dropout)
        model.compile_model(cnn, args.learning_rate, args.momentum)

    # Train: report val_accuracy every epoch; back up after every epoch so a restart resumes.
    callbacks: list[keras.callbacks.Callback] = [
        reporting.StopOnNonFiniteLoss(),  # before the report: a NaN epoch is never reported
        reporting.HypertuneReporter(args.metric_tag, enabled=cluster.is_chief),
        reporting.StopOnCollapse(test_data, patience=args.collapse_patience),
    ]
    scratch = tempfile.mkdtemp(prefix="trainer-")  # what non-chief workers write goes here
    if paths.tensorboard_dir:
        callbacks.append(
            keras.callbacks.TensorBoard(log_dir=_writable(paths.tensorboard_dir, cluster, scratch))
        )
    if paths.checkpoint_dir:
        backup_dir = posixpath.join(paths.checkpoint_dir, "backup")
        callbacks.append(backup.ClusterBackup(backup_dir, is_chief=cluster.is_chief))
    try:
        history = cnn.fit(
            train_data,
            epochs=args.epochs,
            validation_data=test_data,
            callbacks=callbacks,
            verbose=args.verbose,
        )
        val_accuracy = history.history.get("val_accuracy", [])
        if val_accuracy:
            log.info("val_accuracy by epoch: %s", ", ".join(f"{value:.4f}" for value in val_accuracy))
        if cluster.is_chief:  # one forward pass over the validation images
            log.info(
                "validation errors after the last epoch: %s",
                reporting.errors_by_class(cnn, test_data, images.class_names),
            )

        # Every worker saves (saving may synchronize), but only the chief's copy is kept.
        if paths.model_dir:
            _save(cnn, _writable(paths.model_dir, cluster, scratch), args.export_format)
            if cluster.is_chief:
                log.info("model saved to %s", paths.model_dir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _worker_suffix(name: str, cluster: environment.Cluster) -> str:
    return name if cluster.is_chief else f"{name}-{cluster.task_type}-{cluster.task_index}"


def _writable(directory: str, cluster: environment.Cluster, scratch: str) -> str:
    """The chief writes to `directory`; the other workers to their own scratch space."""
    return directory if cluster.is_chief else os.path.join(scratch, _worker_suffix("out", cluster))


def _save(cnn: keras.Model, directory: str, export_format: str) -> None:
    import tensorflow as tf  # loaded by keras already

    tf.io.gfile.makedirs(directory)
    if export_format == "saved_model":
        cnn.export(directory, format="tf_saved_model", verbose=False)
    else:
        cnn.save(posixpath.join(directory, "model.keras"))


if __name__ == "__main__":
    sys.exit(main())

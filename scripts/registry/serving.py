"""Which container serves a promoted model, and whether it can serve what the trial saved.

The default is Vertex AI's prebuilt TensorFlow CPU container for inference, whose model must be
a SavedModel directory (`saved_model.pb` at the top of `artifact_uri`); see "Prebuilt containers
for inference and explanation" and "Export model artifacts for inference"
(https://cloud.google.com/vertex-ai/docs/predictions/pre-built-containers,
https://cloud.google.com/vertex-ai/docs/training/exporting-model-artifacts). Google publishes
only `:latest` tags of these images, in three multi-region repositories (us, europe, asia).

The trainer saves a SavedModel by default (`--export_format saved_model`, trainer/flags.py), with
the `serving_default` signature these containers call; with `--export_format keras` it saves
`model.keras`, which they cannot serve: promoting such a trial is refused with what to change,
rather than registering a version no endpoint can deploy.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

# The newest TensorFlow version with a prebuilt inference container (the page above lists 2.15
# first; the trainer's TensorFlow is newer, and a SavedModel of plain Keras layers loads in it).
PREBUILT_TENSORFLOW = "tf2-cpu.2-15"
_PREBUILT = re.compile(r"^(us|europe|asia)-docker\.pkg\.dev/vertex-ai/prediction/tf2?-(cpu|gpu)\.")

# trainer/flags.py `--export_format`: its default and the value that writes a SavedModel (a test
# keeps these equal to the trainer's own).
TRAINER_EXPORT_DEFAULT = "saved_model"
SAVED_MODEL_FORMAT = "saved_model"
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def default_serving_image(location: str) -> str:
    """The prebuilt TensorFlow CPU container from the multi-region nearest `location`."""
    area = location.split("-", 1)[0]
    repository = area if area in ("europe", "asia") else "us"
    return f"{repository}-docker.pkg.dev/vertex-ai/prediction/{PREBUILT_TENSORFLOW}:latest"


def serves_only_saved_models(image: str) -> bool:
    """Whether `image` is one of Vertex AI's prebuilt TensorFlow inference containers."""
    return bool(_PREBUILT.match(image))


def export_format(job: HyperparameterTuningJob) -> str | None:
    """What the job told the trainer to save: the chief pool's last `--export_format` (as argparse
    reads it), else the trainer's default; None when the pool runs a command of its own (not the
    trainer's ENTRYPOINT), whose output this cannot know."""
    pools = job.trial_job_spec.worker_pool_specs
    if not pools or "container_spec" not in pools[0] or pools[0].container_spec.command:
        return None
    found = TRAINER_EXPORT_DEFAULT
    args = list(pools[0].container_spec.args)
    for index, arg in enumerate(args):
        if arg == "--export_format" and index + 1 < len(args):
            found = args[index + 1]
        elif arg.startswith("--export_format="):
            found = arg.split("=", 1)[1]
    return found


def _fix(image: str) -> str:
    return (
        f"{image} serves a TensorFlow SavedModel only: drop `--export_format=keras` from the "
        "experiment's `trainer.args` (the trainer's default is `saved_model`) and run it again, or "
        "pass `--serving-image` a container that serves what the trainer saved"
    )


def serving_problem(
    job: HyperparameterTuningJob, trial_id: str, artifact_uri: str, image: str, local_dir: Path | None
) -> str | None:
    """Why `image` cannot serve trial `trial_id`'s model, or None.

    `local_dir` is where `artifact_uri` is on this machine (an emulator's job): its files decide.
    Otherwise (Vertex AI, where reading the bucket needs a role the deployer lacks) the job's own
    trainer arguments say what the trainer saved.
    """
    if local_dir is not None:
        files = sorted(path.name for path in local_dir.iterdir()) if local_dir.is_dir() else []
        if not files:
            return (
                f"trial {trial_id} saved no model in {artifact_uri} (the trainer saves to $AIP_MODEL_DIR "
                "when it ends well)"
            )
        if serves_only_saved_models(image) and not any(name in files for name in SAVED_MODEL_FILES):
            shown = ", ".join(files[:5]) + (", ..." if len(files) > 5 else "")
            return f"trial {trial_id}'s model in {artifact_uri} is not a SavedModel ({shown}); {_fix(image)}"
        return None
    if not serves_only_saved_models(image):
        return None
    saved = export_format(job)
    if saved is not None and saved != SAVED_MODEL_FORMAT:
        return (
            f"trial {trial_id}'s trainer saved `model.keras` (`--export_format {saved}`), "
            f"not a SavedModel; {_fix(image)}"
        )
    return None

"""Register a tuning job's best (or named) trial's model as a new version of its experiment's model.

    python -m scripts promote JOB --backend local|vertex [--trial N] [--alias NAME]
                              [--serving-image IMAGE] [--format table|json] [--project P] [--region R]

The trial is the best SUCCEEDED one of an ended job (`scripts.results.trials`), or `--trial N`.
Its model, `<base_output_directory>/<trial>/model` (the trial's `$AIP_MODEL_DIR`), is uploaded
to the Model Registry of the job's project and region (`scripts.registry.promotion`). Promoting
a trial again uploads nothing and prints the version that holds it. `--backend local` reads the
job from the local state directory (or `VERTEX_AI_EMULATOR_HOST`) and registers it there.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from scripts.commands.backend_args import add_backend_argument, reading_backend
from scripts.commands.format_args import add_format_argument
from scripts.commands.job_args import add_job_arguments, named_job
from scripts.registry.names import alias_problem
from scripts.registry.promotion import Promotion, Result, headline, promote_trial
from scripts.registry.serving import default_serving_image
from scripts.vertex.service import JobService

if TYPE_CHECKING:
    from scripts.wiring import Wiring


def _alias(text: str) -> str:
    problem = alias_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_job_arguments(parser)
    add_backend_argument(parser)
    parser.add_argument(
        "--trial", metavar="N", help="promote this trial (it must have SUCCEEDED); default: the best one"
    )
    parser.add_argument(
        "--alias",
        metavar="NAME",
        type=_alias,
        help="give the version this alias (moved from the version that has it), e.g. production",
    )
    parser.add_argument(
        "--serving-image",
        metavar="IMAGE",
        help="the container that serves the model (default: Vertex AI's prebuilt TensorFlow CPU "
        f"container nearest the job's region, e.g. {default_serving_image('us-central1')})",
    )
    add_format_argument(
        parser,
        {
            "table": "the version registered (or already holding the trial), with its files and labels",
            "json": "the model version as protobuf JSON",
        },
        default="table",
    )


def run(args: argparse.Namespace, wiring: Wiring) -> int:
    with reading_backend(args.backend, wiring.backend) as backend:
        job = named_job(JobService(backend), args.job, args, wiring.env)
        # The one road, shared with `/hpt promote` (scripts/github/promote_flow.py).
        promotion, result = promote_trial(
            backend, job, trial_id=args.trial, serving_image=args.serving_image, alias=args.alias
        )
        _print(args, promotion, result, wiring)
    return 0


def _print(args: argparse.Namespace, promotion: Promotion, result: Result, wiring: Wiring) -> None:
    # The Vertex AI types (about 1 s): not for --help.
    from google.cloud.aiplatform_v1 import Model
    from google.protobuf import json_format

    version = result.model
    if args.format == "json":
        wiring.say(headline(promotion, result))
        print(json_format.MessageToJson(Model.pb(version), indent=2))
        return
    print(headline(promotion, result))
    rows = {
        "artifacts": version.artifact_uri,
        "serving": version.container_spec.image_uri,
        "aliases": ", ".join(version.version_aliases) or "-",
        "labels": ", ".join(f"{key}={value}" for key, value in sorted(version.labels.items())),
    }
    for key, value in rows.items():
        print(f"  {key:<10} {value}")

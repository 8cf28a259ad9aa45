"""The flags that say where the trainer image lives, for `build` and `image-ref`.

Each flag falls back to an environment variable and a default (scripts/cloudbuild/settings.py);
this module adds the flags and says what is missing in terms of them.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from scripts.cloudbuild.settings import SOURCES, BucketIsAPath, ImageSettings, MissingSettings, resolve
from scripts.errors import UserError

_HELPS = {
    "project": "Google Cloud project",
    "region": "Artifact Registry region (and Cloud Build region)",
    "repository": "Artifact Registry Docker repository",
    "image": "image name in the repository",
    "bucket": "staging bucket for the source archive (name or gs://name)",
}


def add_image_arguments(parser: argparse.ArgumentParser, *, bucket: bool = False) -> None:
    """--project, --region, --repository, --image, and with `bucket` the staging --bucket."""
    names = ["project", "region", "repository", "image"] + (["bucket"] if bucket else [])
    for name in names:
        variable, default = SOURCES[name]
        suffix = f"; default ${variable}" + (f", else {default}" if default else "")
        parser.add_argument(f"--{name}", help=_HELPS[name] + suffix)


def image_settings(
    args: argparse.Namespace, env: Mapping[str, str], *, need_bucket: bool = False
) -> ImageSettings:
    """The settings from the flags and the environment; a UserError names every missing flag."""
    given = {name: getattr(args, name, None) for name in SOURCES}
    try:
        return resolve(given, env, need_bucket=need_bucket)
    except MissingSettings as error:
        flags = [f"--{name} (or ${SOURCES[name][0]})" for name in error.names]
        raise UserError(f"missing {' and '.join(flags)}") from None
    except BucketIsAPath as error:
        raise UserError(f"--bucket {error.value!r}: give a bucket name, not a path in it") from None

"""Where the trainer image lives: flags, else environment variables, else the defaults below.

The defaults match the substitution defaults in cloudbuild.yaml.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

# flag destination -> (environment variable, default)
SOURCES: dict[str, tuple[str, str | None]] = {
    "project": ("GOOGLE_CLOUD_PROJECT", None),
    "region": ("GOOGLE_CLOUD_REGION", "us-central1"),
    "repository": ("HPT_ARTIFACT_REPOSITORY", "hpt"),
    "image": ("HPT_IMAGE", "trainer"),
    "bucket": ("HPT_STAGING_BUCKET", None),
}


@dataclass(frozen=True)
class ImageSettings:
    project: str
    region: str
    repository: str
    image: str
    bucket: str | None = None


def add_arguments(parser: argparse.ArgumentParser, *, bucket: bool = False) -> None:
    names = ["project", "region", "repository", "image"] + (["bucket"] if bucket else [])
    helps = {
        "project": "Google Cloud project",
        "region": "Artifact Registry region (and Cloud Build region)",
        "repository": "Artifact Registry Docker repository",
        "image": "image name in the repository",
        "bucket": "staging bucket for the source archive (name or gs://name)",
    }
    for name in names:
        env, default = SOURCES[name]
        suffix = f"; default ${env}" + (f", else {default}" if default else "")
        parser.add_argument(f"--{name}", help=helps[name] + suffix)


def resolve(
    args: argparse.Namespace, *, need_bucket: bool = False, environ: dict[str, str] | None = None
) -> ImageSettings:
    """The settings from flags and environment; raises ValueError naming every missing one."""
    env = os.environ if environ is None else environ
    values: dict[str, str | None] = {}
    for name, (variable, default) in SOURCES.items():
        values[name] = getattr(args, name, None) or env.get(variable) or default
    missing = [
        f"--{name} (or ${SOURCES[name][0]})"
        for name in ("project", "bucket")
        if not values[name] and (name == "project" or need_bucket)
    ]
    if missing:
        raise ValueError(f"missing {' and '.join(missing)}")
    bucket = values["bucket"]
    if bucket:
        bucket = bucket.removeprefix("gs://").rstrip("/")
        if "/" in bucket:
            raise ValueError(f"--bucket {values['bucket']!r}: give a bucket name, not a path in it")
    return ImageSettings(
        project=values["project"] or "",
        region=values["region"] or "",
        repository=values["repository"] or "",
        image=values["image"] or "",
        bucket=bucket,
    )

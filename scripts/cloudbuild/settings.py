"""Where the trainer image lives: given values, else environment variables, else the defaults below.

The defaults match the substitution defaults in cloudbuild.yaml. This module knows settings and
variables, not flags: the commands name the flags in their messages (scripts/commands/image_args.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# setting -> (environment variable, default)
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


class MissingSettings(ValueError):
    """Required settings that were neither given nor set in the environment (all of them, at once)."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        super().__init__(f"missing {' and '.join(names)}")


class BucketIsAPath(ValueError):
    """A staging bucket given as a path inside a bucket: the archive's object name is ours to choose."""

    def __init__(self, value: str) -> None:
        self.value = value
        super().__init__(f"bucket {value!r}: give a bucket name, not a path in it")


def lookup(given: Mapping[str, str | None], environ: Mapping[str, str]) -> dict[str, str | None]:
    """Each setting from `given` (empty counts as unset), else its variable, else its default."""
    return {
        name: given.get(name) or environ.get(variable) or default
        for name, (variable, default) in SOURCES.items()
    }


def bucket_name(value: str) -> str:
    """`value` without the `gs://` and trailing slash accepted around a bucket name (a `/` left: a path)."""
    return value.removeprefix("gs://").rstrip("/")


def resolve(
    given: Mapping[str, str | None], environ: Mapping[str, str], *, need_bucket: bool = False
) -> ImageSettings:
    """The settings `lookup` finds; raises MissingSettings naming every missing one, or BucketIsAPath."""
    values = lookup(given, environ)
    required = ("project", "bucket") if need_bucket else ("project",)
    missing = tuple(name for name in required if not values[name])
    if missing:
        raise MissingSettings(missing)
    bucket = values["bucket"]
    if bucket:
        bucket = bucket_name(bucket)
        if "/" in bucket:
            raise BucketIsAPath(values["bucket"] or "")
    return ImageSettings(
        project=values["project"] or "",
        region=values["region"] or "",
        repository=values["repository"] or "",
        image=values["image"] or "",
        bucket=bucket,
    )

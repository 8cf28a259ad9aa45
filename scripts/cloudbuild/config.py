"""cloudbuild.yaml as the `Build` message that `CreateBuild` takes, with our source and substitutions.

The YAML file uses the Build resource's JSON field names (`machineType`, `waitFor`, ...), so it
parses with the protobuf JSON mapping; a misspelt field is an error here, before anything is
uploaded or submitted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from google.cloud.devtools import cloudbuild_v1

# A build tag that marks the builds of this project, next to the content tag.
BUILD_TAG = "hpt-trainer"


class ConfigError(Exception):
    """cloudbuild.yaml cannot become a Build; the message names the file and the problem."""


@dataclass(frozen=True)
class Target:
    """Where the image goes and which build inputs it holds."""

    project: str
    region: str
    repository: str
    image: str
    content_tag: str
    commit: str
    source_url: str = ""
    # The layer cache: a previous image by digest (`submit.newest_image`), or "" for none.
    cache_from: str = ""

    def substitutions(self) -> dict[str, str]:
        # COMMIT_SHA is a built-in that only triggered builds fill in; a build from a storage
        # source may set it, as `gcloud builds submit --substitutions` does.
        return {
            "_REGION": self.region,
            "_REPOSITORY": self.repository,
            "_IMAGE": self.image,
            "_CONTENT_TAG": self.content_tag,
            "_SOURCE_URL": self.source_url,
            "_CACHE_FROM": self.cache_from,
            "COMMIT_SHA": self.commit,
        }


def load_build(path: Path, target: Target, bucket: str, object_name: str) -> cloudbuild_v1.Build:
    """The Build of `path` with its source at gs://bucket/object_name and the target's substitutions."""
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(document, dict) or not document.get("steps"):
        raise ConfigError(f"{path}: a build config needs a `steps` list")
    declared = document.get("substitutions") or {}
    unknown = sorted(key for key in target.substitutions() if key.startswith("_") and key not in declared)
    if unknown:
        raise ConfigError(f"{path}: substitutions: declare {', '.join(unknown)} with a default")
    try:
        build = cloudbuild_v1.Build.from_json(json.dumps(document), ignore_unknown_fields=False)
    except Exception as error:  # json_format.ParseError names the field; nothing else raises here
        raise ConfigError(_parse_error(path, str(error))) from None
    build.substitutions.update(target.substitutions())
    build.source = cloudbuild_v1.Source(
        storage_source=cloudbuild_v1.StorageSource(bucket=bucket, object_=object_name)
    )
    build.tags.extend(tag for tag in (BUILD_TAG, target.content_tag) if tag not in build.tags)
    return build


def _parse_error(path: Path, message: str) -> str:
    """`FILE:LINE:COL: message` for the protobuf parser's first line, pointing at the unknown field."""
    first = message.splitlines()[0].strip() if message.strip() else "not a valid build config"
    match = re.search(r'has no field named "([^"]+)"', first)
    if match:
        for key in _mapping_keys(yaml.compose(path.read_text())):
            if key.value == match.group(1):
                mark = key.start_mark
                return f"{path}:{mark.line + 1}:{mark.column + 1}: unknown field {key.value!r} ({first})"
    return f"{path}: {first}"


def _mapping_keys(node: yaml.Node | None) -> Iterator[yaml.ScalarNode]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield from _mapping_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _mapping_keys(item)

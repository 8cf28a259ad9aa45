"""Names in the Model Registry: a model's id, its versions and aliases, the labels of a version.

Import-light (no cloud library): `promote --alias` is checked with it, and the emulator
validates uploads with the same patterns. From the `aiplatform.v1` reference:

- a model id (`UploadModelRequest.model_id`): at most 63 of `[a-z0-9_-]`, the first neither a
  digit nor `-`;
- a version alias (`Model.version_aliases`): `[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]`, so never a
  number; `default` is the alias the first version gets, and the version a name without one means;
- a version: `projects/P/locations/L/models/ID@VERSION` (the version id, a number) or `...@ALIAS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scripts.jobs import labels

MODEL_ID = re.compile(r"[a-z_][a-z0-9_-]{0,62}")
ALIAS = re.compile(r"[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]")
DEFAULT_ALIAS = "default"

# What a promoted version carries besides the job's identity labels (`scripts.jobs.labels`):
# the job and the trial it came from, which is how a second promotion finds it.
JOB = "hpt-job"
TRIAL = "hpt-trial"

_MODEL_NAME = re.compile(
    r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/models/(?P<id>[^/@]+)(?:@(?P<version>[^/@]+))?$"
)


@dataclass(frozen=True)
class ModelName:
    """A model's resource name, taken apart; `version` is a version id, an alias, or "" (default)."""

    project: str
    location: str
    id: str
    version: str = ""

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.location}"

    @property
    def model(self) -> str:
        """The name without a version: `projects/P/locations/L/models/ID`."""
        return f"{self.parent}/models/{self.id}"

    def __str__(self) -> str:
        return f"{self.model}@{self.version}" if self.version else self.model


def parse_model_name(text: str) -> ModelName | None:
    """The parts of `projects/P/locations/L/models/ID[@VERSION]`, or None for text of another shape."""
    match = _MODEL_NAME.match(text or "")
    if match is None:
        return None
    return ModelName(match["project"], match["location"], match["id"], match["version"] or "")


def alias_problem(alias: str) -> str | None:
    """Why `alias` cannot be a version alias, or None."""
    if ALIAS.fullmatch(alias):
        return None
    return (
        f"version alias {alias!r} must be 2-128 characters: a lowercase letter, then letters, digits "
        "or '-', ending in a lowercase letter or digit"
    )


def model_id_for(experiment: str) -> str:
    """The id of an experiment's model: the experiment as a label value (lowercase `[a-z0-9_-]`, at
    most 63), with `hpt-` in front when it would start with a digit: `2024-cnn` -> `hpt-2024-cnn`."""
    value = labels.label_value(experiment) or "model"
    if not MODEL_ID.fullmatch(value):
        value = f"hpt-{value}"[:63].rstrip("-")
    return value

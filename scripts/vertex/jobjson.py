"""A HyperparameterTuningJob to and from the protobuf JSON mapping (what `--json` prints)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob


def to_json(job: HyperparameterTuningJob) -> str:
    """The job in the protobuf JSON mapping: lowerCamelCase fields, enums by name, defaults omitted."""
    from google.protobuf import json_format  # only --json prints a job

    return json_format.MessageToJson(type(job).pb(job), indent=2)


def from_json(text: str) -> HyperparameterTuningJob:
    """The job printed by `to_json` (or by `run --json`), read back."""
    # The Vertex AI types (about 1 s): only a reader of a printed job loads them.
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

    return HyperparameterTuningJob.from_json(text, ignore_unknown_fields=True)

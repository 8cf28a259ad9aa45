"""Promote a job's trial through a backend: the one road `promote` and `/hpt promote` share.

    promotion, result = promote_trial(backend, job)     # the best trial, or trial_id="3"
    print(headline(promotion, result))                  # "registered MODEL@1: ..." / "already promoted: ..."

The steps are `scripts.registry.promotion`'s (choose the trial, plan the version, look before
uploading); this module adds what depends on where the job ran: an emulator's job has its trials'
files on this machine (checked before anything is uploaded), and the Model Registry client is
the backend's (the emulator's channel, or the job's regional endpoint).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from scripts.emulator.contract import OutsideStateDir
from scripts.errors import UserError
from scripts.jobs.names import parse_job_name
from scripts.registry.promotion import Promotion, Result, choose_trial, plan_promotion, promote

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

    from scripts.vertex.backend import Backend


def local_outputs(backend: Backend, prefix: str) -> Path | None:
    """Where an emulator keeps the job's base output directory, when it says (None on Vertex AI)."""
    if not backend.is_emulator or not prefix:
        return None
    try:
        where = backend.trial_outputs(prefix)
    except OutsideStateDir:
        return None
    return Path(where) if where else None


def promote_trial(
    backend: Backend,
    job: HyperparameterTuningJob,
    *,
    trial_id: str | None = None,
    serving_image: str | None = None,
    alias: str | None = None,
) -> tuple[Promotion, Result]:
    """Register trial `trial_id` of `job` (default: its best) in the backend's Model Registry, or
    find the version that already holds it; raises `UserError` saying why it cannot."""
    parsed = parse_job_name(job.name)
    if parsed is None:
        raise UserError(f"{job.name!r} is not a tuning job's name")
    trial = choose_trial(job, trial_id)
    promotion = plan_promotion(
        job,
        trial,
        serving_image=serving_image,
        alias=alias,
        local_outputs=local_outputs(backend, job.trial_job_spec.base_output_directory.output_uri_prefix),
    )
    client = backend.model_service_client(parsed.location)
    return promotion, promote(client, promotion, emulator=backend.emulator)


def headline(promotion: Promotion, result: Result) -> str:
    """What happened, in one line: the version registered, or the one that already holds the trial."""
    if result.created:
        return (
            f"registered {result.version_name}: trial {promotion.trial_id} of {promotion.job}, "
            f"{promotion.metric} {promotion.value:.6g}"
        )
    line = f"already promoted: {result.version_name} holds trial {promotion.trial_id} of {promotion.job}"
    if result.aliases_added:
        line += f"; alias {', '.join(result.aliases_added)} moved to it"
    return line

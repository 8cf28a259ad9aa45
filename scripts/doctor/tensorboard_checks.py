"""The TensorBoard instances experiments stream to: each one exists where the experiment names it.

An experiment's `tensorboard` compiles to the trial job's full instance name
(`projects/P/locations/L/tensorboards/ID`); Vertex AI refuses a job naming one that is not there,
after the merge, so doctor asks first (`TensorboardService.GetTensorboard`, permission
`aiplatform.tensorboards.get`, at the instance's regional endpoint). No line when no experiment
names one: streaming is optional.
"""

from __future__ import annotations

from google.api_core import exceptions

from scripts.doctor.clients import bounded, disabled_service
from scripts.doctor.report import Check, fail, first_names, ok, skip
from scripts.doctor.target import Context
from scripts.experiments.rules import TENSORBOARD_NAME

NAME = "tensorboard"
VIEWER_ROLE = "roles/aiplatform.viewer"  # holds aiplatform.tensorboards.get


def tensorboard(context: Context) -> list[Check]:
    return [_one(context, name, experiments) for name, experiments in context.target.tensorboards]


def skipped(context: Context, reason: str) -> list[Check]:
    """The lines of a run that cannot reach Google Cloud: one per instance named, none otherwise."""
    return [
        skip(NAME, f"{reason} (named by {first_names(experiments)})")
        for _, experiments in context.target.tensorboards
    ]


def _one(context: Context, name: str, experiments: tuple[str, ...]) -> Check:
    match = TENSORBOARD_NAME.fullmatch(name)
    if match is None:  # validate refuses it: reached only with a hand-made target
        return fail(NAME, f"{name} is not a TensorBoard instance's name ({first_names(experiments)})")
    project, region, instance = match["project"], match["location"], match["id"]
    named_by = f"named by {first_names(experiments)}"
    create = (
        f"gcloud ai tensorboards create --display-name=hpt --project={project} --region={region}\n"
        "# then set tensorboard: to the new instance's ID in experiments.yaml"
    )
    try:
        # https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.tensorboards/get
        found = bounded(context.calls().tensorboards(region).get_tensorboard, name=name)
    except exceptions.NotFound:
        return fail(NAME, f"no TensorBoard instance {instance} in {project} / {region} ({named_by})", create)
    except exceptions.PermissionDenied as error:
        if disabled_service(error):
            raise
        return fail(
            NAME,
            f"{name} ({named_by}) does not exist, or {context.who} may not read it "
            "(aiplatform.tensorboards.get)",
            context.grant(VIEWER_ROLE, project)
            + context.member_note()
            + f"\n# if it does not exist: {create.splitlines()[0]}",
        )
    shown = f" ({found.display_name})" if found.display_name else ""
    return ok(NAME, f"{name}{shown} exists; trials of {first_names(experiments)} stream to it", instance=name)

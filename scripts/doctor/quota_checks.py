"""The accelerator quota: for each accelerator, region and provisioning model the experiments use,
whether the project's quota covers their peak (`needs.peaks`)."""

from __future__ import annotations

from typing import Any

from google.api_core import exceptions

from scripts.doctor import needs
from scripts.doctor.clients import bounded, describe_error, disabled_service
from scripts.doctor.report import Check, fail, ok, skip, warn
from scripts.doctor.target import Context

CONSOLE_QUOTAS = "https://console.cloud.google.com/iam-admin/quotas?project={project}"
MAX_QUOTA_PAGES = 20


def quota(context: Context) -> list[Check]:
    peaks = needs.peaks(context.target.demands)
    if not peaks:
        return [ok("quota", "no experiment uses accelerators")]
    if "cloudquotas.googleapis.com" in context.disabled_apis:
        return [
            warn(
                _quota_name(peak),
                f"cannot read quota (Cloud Quotas API off): needs {peak.explain()}",
                context.enable("cloudquotas.googleapis.com"),
            )
            for peak in peaks
        ]
    infos: dict[str, dict[str, Any]] = {}  # each project's quotas, read once
    return [_covered(context, peak, infos) for peak in peaks]


def _covered(context: Context, peak: needs.Demand, infos: dict[str, dict[str, Any]]) -> Check:
    """Whether the project's quota covers one peak."""
    name = _quota_name(peak)
    if peak.project not in infos:
        try:
            infos[peak.project] = _quota_infos(context, peak.project)
        except exceptions.PermissionDenied as error:
            service = disabled_service(error)
            # roles/servicemanagement.quotaViewer is Cloud Quotas' view-manage role.
            viewer = context.grant("roles/servicemanagement.quotaViewer", peak.project)
            fix = context.enable(service) if service else viewer
            return warn(name, f"cannot read quota ({describe_error(error)}): needs {peak.explain()}", fix)
    info = infos[peak.project].get(peak.metric)
    look_up = f"# look it up: {CONSOLE_QUOTAS.format(project=peak.project)}"
    if info is None:
        return warn(name, f"no quota {peak.metric} found: needs {peak.explain()} in {peak.region}", look_up)
    limit = _limit(info, peak.region)
    data = {"need": peak.peak, "have": limit, "metric": peak.metric, "quota_id": info.quota_id}
    if limit is None:
        return warn(
            name, f"{info.quota_id} has no value for {peak.region}: needs {peak.explain()}", look_up, **data
        )
    if limit == -1 or limit >= peak.peak:
        have = "unlimited" if limit == -1 else str(limit)
        return ok(name, f"need {peak.explain()}, have {have} in {peak.region}", **data)
    fix = (
        f"gcloud quotas preferences create --service={needs.QUOTA_SERVICE} "
        f"--project={peak.project} --quota-id={info.quota_id} "
        f"--preferred-value={peak.peak} --dimensions=region={peak.region}"
        f"\n# or request it at {CONSOLE_QUOTAS.format(project=peak.project)}"
    )
    return fail(name, f"need {peak.explain()}, have {limit} in {peak.region}", fix, **data)


def skipped(context: Context, reason: str) -> list[Check]:
    """One skipped line per peak, so a blocked report still says what the experiments need."""
    peaks = needs.peaks(context.target.demands)
    if peaks:
        return [skip(_quota_name(peak), f"{reason} (needs {peak.short()})") for peak in peaks]
    return [skip("quota", reason)]


def _quota_infos(context: Context, project: str) -> dict[str, Any]:
    """The service's QuotaInfos by metric, preferring the per-region quota of each metric.

    https://cloud.google.com/docs/quotas/reference/rest/v1/projects.locations.services.quotaInfos/list
    (permission cloudquotas.quotas.get).
    """
    ref = context.project_number if project == context.project and context.project_number else project
    parent = f"projects/{ref}/locations/global/services/{needs.QUOTA_SERVICE}"
    pager = bounded(context.calls().quotas().list_quota_infos, request={"parent": parent, "page_size": 500})
    found: dict[str, Any] = {}
    for number, page in enumerate(pager.pages):
        for info in page.quota_infos:
            if info.metric not in found or "region" in info.dimensions:
                found[info.metric] = info
        if number + 1 >= MAX_QUOTA_PAGES:
            break
    return found


def _quota_name(peak: needs.Demand) -> str:
    return f"quota {peak.accelerator}{' spot' if peak.spot else ''} {peak.region}"


def _limit(info: Any, region: str) -> int | None:
    """The quota's value in `region`: its own dimension, else one applicable there, else the default."""
    fallback = None
    for dimension in info.dimensions_infos:
        region_of = dimension.dimensions.get("region")
        if region_of == region or (region_of is None and region in dimension.applicable_locations):
            return int(dimension.details.value)
        if not dimension.dimensions and fallback is None:
            fallback = int(dimension.details.value)
    return fallback

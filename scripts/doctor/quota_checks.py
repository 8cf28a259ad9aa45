"""The accelerator quota: for each accelerator, region and provisioning model the experiments use,
whether the project's quota covers their peak (`needs.peaks`)."""

from __future__ import annotations

from typing import Any

from scripts.doctor import needs
from scripts.doctor.api_errors import describe_error, disabled_service
from scripts.doctor.clients import CALL_TIMEOUT
from scripts.doctor.context import Context
from scripts.doctor.result import Check, fail, ok, skip, warn

CONSOLE_QUOTAS = "https://console.cloud.google.com/iam-admin/quotas?project={project}"
MAX_QUOTA_PAGES = 20


def quota(context: Context) -> list[Check]:
    from google.api_core import exceptions

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
    infos: dict[str, dict[str, Any]] = {}
    checks = []
    for peak in peaks:
        name = _quota_name(peak)
        if peak.project not in infos:
            try:
                infos[peak.project] = _quota_infos(context, peak.project)
            except exceptions.PermissionDenied as error:
                service = disabled_service(error)
                fix = (
                    context.enable(service)
                    if service
                    else f"gcloud projects add-iam-policy-binding {peak.project} --member={context.member} "
                    "--role=roles/servicemanagement.quotaViewer"  # Cloud Quotas: view-manage
                )
                checks.append(
                    warn(name, f"cannot read quota ({describe_error(error)}): needs {peak.explain()}", fix)
                )
                continue
        info = infos[peak.project].get(peak.metric)
        console = CONSOLE_QUOTAS.format(project=peak.project)
        if info is None:
            checks.append(
                warn(
                    name,
                    f"no quota {peak.metric} found: needs {peak.explain()} in {peak.region}",
                    f"# look it up: {console}",
                )
            )
            continue
        limit = _limit(info, peak.region)
        data = {"need": peak.peak, "have": limit, "metric": peak.metric, "quota_id": info.quota_id}
        if limit is None:
            checks.append(
                warn(
                    name,
                    f"{info.quota_id} has no value for {peak.region}: needs {peak.explain()}",
                    f"# look it up: {console}",
                    **data,
                )
            )
        elif limit == -1 or limit >= peak.peak:
            have = "unlimited" if limit == -1 else str(limit)
            checks.append(ok(name, f"need {peak.explain()}, have {have} in {peak.region}", **data))
        else:
            fix = (
                f"gcloud quotas preferences create --service={needs.QUOTA_SERVICE} "
                f"--project={peak.project} --quota-id={info.quota_id} "
                f"--preferred-value={peak.peak} --dimensions=region={peak.region}"
                f"\n# or request it at {console}"
            )
            checks.append(fail(name, f"need {peak.explain()}, have {limit} in {peak.region}", fix, **data))
    return checks


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
    pager = (
        context.calls()
        .quotas()
        .list_quota_infos(
            request={
                "parent": f"projects/{ref}/locations/global/services/{needs.QUOTA_SERVICE}",
                "page_size": 500,
            },
            timeout=CALL_TIMEOUT,
            retry=None,
        )
    )
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

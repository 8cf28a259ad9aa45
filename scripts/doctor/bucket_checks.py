"""The staging bucket: it exists, the caller may write to it, and it lies in the jobs' region."""

from __future__ import annotations

from google.api_core import exceptions

from scripts.doctor import needs
from scripts.doctor.clients import bounded
from scripts.doctor.report import Check, fail, ok, skip, warn
from scripts.doctor.target import Context

# A multi-region bucket location and the prefix of the regions it spans.
_MULTI_REGIONS = {"US": "us-", "EU": "europe-", "ASIA": "asia-"}


def bucket(context: Context) -> list[Check]:
    target = context.target
    if not target.bucket:
        return [skip("bucket", "HPT_STAGING_BUCKET is not set")]
    project, region, name = context.project, target.region, target.bucket
    create = (
        f"gcloud storage buckets create gs://{name} --project={project} --location={region} "
        "--uniform-bucket-level-access"
    )
    bucket = context.calls().storage(project).bucket(name)
    location = None
    try:
        bounded(bucket.reload)
        location = (bucket.location or "").upper()
    except exceptions.NotFound:
        return [fail("bucket", f"gs://{name} does not exist", create)]
    except exceptions.Forbidden:
        pass  # object roles do not include storage.buckets.get: the permissions below still say much
    granted = set(bounded(bucket.test_iam_permissions, list(needs.BUCKET_PERMISSIONS)))
    missing = [permission for permission in needs.BUCKET_PERMISSIONS if permission not in granted]
    if missing:
        roles = sorted({needs.BUCKET_PERMISSIONS[permission] for permission in missing})
        fix = "\n".join(
            f"gcloud storage buckets add-iam-policy-binding gs://{name} "
            f"--member={context.member} --role={role}"
            for role in roles
        )
        where = "" if location else " (or it does not exist)"
        return [
            fail(
                "bucket",
                f"{context.who} may not write to gs://{name}{where}: missing {', '.join(missing)}",
                fix + context.member_note(),
            )
        ]
    if location is None:
        return [
            warn(
                "bucket",
                f"gs://{name} is writable, but its location is not readable (storage.buckets.get)",
                f"gcloud storage buckets describe gs://{name} --format='value(location)'  # must be {region}",
            )
        ]
    if location.lower() == region:
        return [ok("bucket", f"gs://{name} in {region}, writable by {context.who}")]
    prefix = _MULTI_REGIONS.get(location)
    move = (
        create.replace(f"gs://{name}", "gs://NEW_BUCKET")
        + "\n# then set HPT_STAGING_BUCKET=NEW_BUCKET (a bucket cannot move)"
    )
    if prefix and region.startswith(prefix):
        return [warn("bucket", f"gs://{name} is in multi-region {location}, not in {region}", move)]
    return [
        fail("bucket", f"gs://{name} is in {location}, but jobs run in {region}", move, location=location)
    ]

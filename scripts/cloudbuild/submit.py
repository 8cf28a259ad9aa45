"""Submit a build to Cloud Build and follow it to the end.

`CLOUD_BUILD_EMULATOR_HOST=host:port` sends every Cloud Build call to that address over an
insecure channel (as the Vertex AI emulator's variable does for the JobService);
`STORAGE_EMULATOR_HOST`, which google-cloud-storage honours itself, does the same for the upload.

Nothing is trusted by its name alone: a source object already in the bucket is built from only
when its bytes are the archive's (and the build reads the generation that was checked), and an
image tag already in the registry counts only when a successful build of this project pushed that
very digest for it (`pushing_build`).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from google.api_core import exceptions
from google.cloud.devtools import cloudbuild_v1

from scripts.cloudbuild import registry
from scripts.cloudbuild.archive import SourceArchive
from scripts.cloudbuild.config import BUILD_TAG
from scripts.emulator.contract import emulator_client

if TYPE_CHECKING:
    from google.api_core import operation as operation_module
    from google.cloud import storage

CLOUD_BUILD_HOST_ENV = "CLOUD_BUILD_EMULATOR_HOST"  # the command reads it: `cloud_build_client(host)`
SOURCE_PREFIX = "hpt-build-source"

# Build.Status names: still going, and the ends that are not a success.
RUNNING = frozenset({"STATUS_UNKNOWN", "PENDING", "QUEUED", "WORKING"})
FAILED = frozenset({"FAILURE", "INTERNAL_ERROR", "TIMEOUT", "CANCELLED", "EXPIRED"})
# How many of the newest builds with a tag are read (newest first) to find one.
LISTED_BUILDS = 50
# Seconds: the most a followed build's poll interval grows to (`build --poll-interval` says so).
MAX_POLL_INTERVAL = 30.0


class BuildError(Exception):
    """The build could not be submitted or did not succeed; the message says which and why."""


@dataclass(frozen=True)
class StagedSource:
    """The build source in the staging bucket: the object and the generation that was checked."""

    bucket: str
    name: str
    generation: int


@dataclass(frozen=True)
class Started:
    build_id: str
    log_url: str
    operation: operation_module.Operation | None = None


def cloud_build_client(host: str | None = None) -> cloudbuild_v1.CloudBuildClient:
    """The Cloud Build client: Application Default Credentials, or the emulator at `host`."""
    if host:
        return emulator_client(cloudbuild_v1.CloudBuildClient, host)
    return cloudbuild_v1.CloudBuildClient()


def storage_client(project: str) -> storage.Client:
    # Here, not at the top: the storage library (about 0.3 s) is for an upload, which a build of
    # an image already pushed never makes.
    from google.cloud import storage

    return storage.Client(project=project)


def upload_source(client: storage.Client, bucket: str, archive: SourceArchive) -> StagedSource:
    """Upload the archive under a name made of its hash (once: a re-run finds it).

    The name is only a name: anyone who may write the bucket can put other bytes under it. An
    object that is already there is used only when its MD5 is the archive's, and the build is to
    read the generation checked here (`StorageSource.generation`), not whatever the name holds later.
    """
    name = f"{SOURCE_PREFIX}/{archive.sha256[:32]}.tar.gz"
    blob = client.bucket(bucket).blob(name)
    try:
        blob.upload_from_string(archive.data, content_type="application/gzip", if_generation_match=0)
    except exceptions.PreconditionFailed:
        _check_existing(blob, bucket, archive)
    except exceptions.NotFound:
        raise BuildError(f"staging bucket gs://{bucket} does not exist") from None
    except exceptions.Forbidden:
        raise BuildError(f"cannot write to gs://{bucket}: grant roles/storage.objectCreator") from None
    if not blob.generation:
        raise BuildError(f"Cloud Storage named no generation for gs://{bucket}/{name}")
    return StagedSource(bucket, name, int(blob.generation))


def _check_existing(blob: storage.Blob, bucket: str, archive: SourceArchive) -> None:
    """Refuse an object already under the archive's name unless it holds the archive's bytes."""
    try:
        blob.reload()
    except exceptions.NotFound:
        raise BuildError(f"gs://{bucket}/{blob.name} was deleted while it was checked: run again") from None
    expected = base64.b64encode(hashlib.md5(archive.data).digest()).decode()
    if blob.md5_hash != expected:
        raise BuildError(
            f"gs://{bucket}/{blob.name} exists with other content (MD5 {blob.md5_hash or 'none'}, the "
            f"archive's is {expected}): not building from it. Only this command should write under "
            f"{SOURCE_PREFIX}/; find out who wrote it, then delete it and run again"
        )


def builds_tagged(
    client: cloudbuild_v1.CloudBuildClient, project: str, region: str, tag: str
) -> list[cloudbuild_v1.Build]:
    """This project's newest builds (up to `LISTED_BUILDS`) that carry the build tag `tag`, newest first."""
    parent = client.common_location_path(project, region)
    request = cloudbuild_v1.ListBuildsRequest(
        project_id=project, parent=parent, filter=f'tags="{tag}"', page_size=LISTED_BUILDS
    )
    try:
        listed = list(itertools.islice(client.list_builds(request=request), LISTED_BUILDS))
    except exceptions.InvalidArgument:
        # Should the service refuse the filter, the newest builds unfiltered do (checked below).
        request.filter = ""
        listed = list(itertools.islice(client.list_builds(request=request), LISTED_BUILDS))
    return [build for build in listed if tag in build.tags and build.project_id == project]


def pushing_build(
    client: cloudbuild_v1.CloudBuildClient,
    project: str,
    region: str,
    content_tag: str,
    reference: str,
    digest: str,
) -> cloudbuild_v1.Build | None:
    """The successful build of this project, for `content_tag`, that pushed `reference` as `digest`.

    None when there is none: the tag was pushed some other way (by hand, by a build of other
    inputs) or moved after the build, and what it names was never built from these inputs here.
    """
    for build in builds_tagged(client, project, region, content_tag):
        if (
            build.status.name == "SUCCESS"
            and BUILD_TAG in build.tags
            and build.substitutions.get("_CONTENT_TAG") == content_tag
            and pushed_digest(build, reference) == digest
        ):
            return build
    return None


def newest_image(
    client: cloudbuild_v1.CloudBuildClient, project: str, region: str, name: registry.ImageName
) -> str:
    """The newest image of `name` a successful build of this project pushed, by digest ("" if none).

    It is the layer cache: a tag could be moved to an image whose layers were never built here.
    """
    prefix = name.reference("")  # "HOST/PROJECT/REPOSITORY/IMAGE:"
    for build in builds_tagged(client, project, region, BUILD_TAG):
        if build.status.name != "SUCCESS":
            continue
        for image in build.results.images:
            if image.name.startswith(prefix) and registry.DIGEST.fullmatch(image.digest):
                return name.by_digest(image.digest)
    return ""


def ongoing_build(
    client: cloudbuild_v1.CloudBuildClient, project: str, region: str, content_tag: str
) -> cloudbuild_v1.Build | None:
    """A build of the same content tag that has not finished yet, if there is one."""
    # Newest first; a running build of these inputs is among the most recent ones.
    for build in builds_tagged(client, project, region, content_tag):
        if build.status.name in RUNNING:
            return build
    return None


def start(
    client: cloudbuild_v1.CloudBuildClient, project: str, region: str, build: cloudbuild_v1.Build
) -> Started:
    """Create the build; its id and log URL come from the operation's metadata at once."""
    parent = client.common_location_path(project, region)
    request = cloudbuild_v1.CreateBuildRequest(project_id=project, parent=parent, build=build)
    operation = client.create_build(request=request)
    metadata = operation.metadata
    if metadata is None or not metadata.build.id:
        raise BuildError(f"Cloud Build named no build id in operation {operation.operation.name}")
    return Started(build_id=metadata.build.id, log_url=metadata.build.log_url, operation=operation)


def _progress(build: cloudbuild_v1.Build) -> str:
    steps = ", ".join(
        f"{step.id or step.name}={step.status.name}"
        for step in build.steps
        if step.status.name != "STATUS_UNKNOWN"
    )
    return f"build {build.id}: {build.status.name}" + (f" ({steps})" if steps else "")


def follow(
    client: cloudbuild_v1.CloudBuildClient,
    project: str,
    region: str,
    started: Started,
    *,
    poll_interval: float = 5.0,
) -> cloudbuild_v1.Build:
    """Poll until the build ends; return it if it succeeded, else raise BuildError naming the failing step.

    With an operation, polling is `GetOperation` (what the operation's `done()` does); its
    metadata carries the build's progress. The final word is `GetBuild`: a build can fail while
    its operation carries no error, so the build's own status decides.
    """
    name = f"{client.common_location_path(project, region)}/builds/{started.build_id}"
    interval = poll_interval
    last = ""
    while True:
        if started.operation is not None:
            done = started.operation.done()
            build = started.operation.metadata.build if started.operation.metadata else None
        else:
            build = client.get_build(name=name, project_id=project, id=started.build_id)
            done = build.status.name not in RUNNING
        if build is not None:
            line = _progress(build)
            if line != last:
                print(line, file=sys.stderr, flush=True)
                last = line
        if done:
            break
        time.sleep(interval)
        interval = min(interval * 1.5, MAX_POLL_INTERVAL)

    final = client.get_build(name=name, project_id=project, id=started.build_id)
    operation_error = ""
    if started.operation is not None and started.operation.operation.HasField("error"):
        error = started.operation.operation.error
        operation_error = error.message or f"code {error.code}"
    if final.status.name != "SUCCESS" or operation_error:
        raise BuildError(describe_failure(final, operation_error))
    return final


def describe_failure(build: cloudbuild_v1.Build, operation_error: str = "") -> str:
    """One line: the build's status, the step that failed and why, and where the logs are."""
    parts = [f"build {build.id} ended {build.status.name}"]
    failing = next((step for step in build.steps if step.status.name in FAILED), None)
    if failing is None:
        # A build that timed out or was cancelled may leave the step it stopped in as WORKING.
        failing = next((step for step in build.steps if step.status.name in {"QUEUED", "WORKING"}), None)
    if failing is not None:
        parts.append(f"at step {failing.id or failing.name!r} ({failing.status.name})")
    details = [text for text in (build.status_detail, build.failure_info.detail, operation_error) if text]
    if details:
        parts.append("- " + "; ".join(dict.fromkeys(details)))
    if build.log_url:
        parts.append(f"- logs: {build.log_url}")
    return " ".join(parts)


def pushed_digest(build: cloudbuild_v1.Build, reference: str) -> str | None:
    """The digest Cloud Build recorded for the pushed image `reference` (`name:tag`)."""
    for image in build.results.images:
        if image.name == reference:
            return image.digest or None
    return None

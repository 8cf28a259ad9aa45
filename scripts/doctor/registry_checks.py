"""The image's side: the Artifact Registry repository, its immutable tags, and the image pushed to it.

The repository check records whether the repository may be read; the tags and image checks are
skipped when it may not.
"""

from __future__ import annotations

import re

from scripts.cloudbuild import registry
from scripts.doctor import needs
from scripts.doctor.api_errors import disabled_service, one_line
from scripts.doctor.clients import CALL_TIMEOUT
from scripts.doctor.context import Context
from scripts.doctor.result import Check, fail, ok, skip, warn

_IMAGE = re.compile(
    r"^(?P<region>[a-z0-9-]+)-docker\.pkg\.dev/(?P<project>[^/]+)/(?P<repo>[^/]+)/(?P<image>[^:@]+):(?P<tag>[\w.-]+)$"
)


def repository(context: Context) -> list[Check]:
    from google.api_core import exceptions
    from google.cloud.artifactregistry_v1 import Repository

    project, region, repository = context.project, context.target.region, context.target.repository
    name = f"projects/{project}/locations/{region}/repositories/{repository}"
    create = (
        f"gcloud artifacts repositories create {repository} --repository-format=docker "
        f"--location={region} --project={project}"
    )
    grant = (
        f"gcloud artifacts repositories add-iam-policy-binding {repository} --location={region} "
        f"--project={project} --member={context.member} --role="
    )
    client = context.calls().artifact_registry()
    try:
        found = client.get_repository(name=name, timeout=CALL_TIMEOUT, retry=None)
    except exceptions.NotFound:
        return [fail("repository", f"no Artifact Registry repository {repository} in {region}", create)]
    except exceptions.PermissionDenied as error:
        if disabled_service(error):
            raise
        return [
            fail(
                "repository",
                f"{repository} in {region} does not exist, or {context.who} may not read it "
                "(artifactregistry.repositories.get)",
                f"{create}  # if it does not exist\n{grant}roles/artifactregistry.reader"
                + context.member_note(),
            )
        ]
    if found.format_ != Repository.Format.DOCKER:
        return [
            fail(
                "repository",
                f"{repository} in {region} holds {found.format_.name}, not Docker images",
                create,
            )
        ]
    response = client.test_iam_permissions(
        request={"resource": name, "permissions": list(needs.REPOSITORY_PERMISSIONS)},
        timeout=CALL_TIMEOUT,
        retry=None,
    )
    missing = [p for p in needs.REPOSITORY_PERMISSIONS if p not in set(response.permissions)]
    if missing:
        roles = sorted({needs.REPOSITORY_PERMISSIONS[p] for p in missing})
        return [
            fail(
                "repository",
                f"{context.who} may not read images in {repository}: missing {', '.join(missing)}",
                "\n".join(grant + role for role in roles) + context.member_note(),
            )
        ]
    context.repository_ok = True
    return [ok("repository", f"{repository} (Docker) in {region}, readable by {context.who}")]


def immutable_tags(context: Context) -> list[Check]:
    """The repository refuses to move a tag: a content tag, once built, names one image for good."""
    from google.cloud.artifactregistry_v1 import Repository

    if not context.repository_ok:
        return [skip("tags", "the repository check failed: cannot tell whether its tags are immutable")]
    project, region, repository = context.project, context.target.region, context.target.repository
    client = context.calls().artifact_registry()
    name = f"projects/{project}/locations/{region}/repositories/{repository}"
    found = client.get_repository(name=name, timeout=CALL_TIMEOUT, retry=None)
    # No docker_config at all is Artifact Registry's default: mutable tags.
    if Repository.pb(found).HasField("docker_config") and found.docker_config.immutable_tags:
        return [ok("tags", f"{repository} has immutable tags")]
    return [
        fail(
            "tags",
            f"{repository} has tags that can be moved: whoever may push could point a content tag "
            "at another image (docs/image.md)",
            f"gcloud artifacts repositories update {repository} --location={region} "
            f"--project={project} --immutable-tags",
        )
    ]


def image(context: Context) -> list[Check]:
    if not context.repository_ok:
        return [skip("image", "the repository check failed")]
    if not context.target.image_uris:
        return [warn("image", "no image to look for (no experiment compiled)")]
    checks = []
    for uri in context.target.image_uris:
        match = _IMAGE.match(uri)
        if not match:
            checks.append(warn("image", f"{uri} is not in Artifact Registry: not checked"))
            continue
        name = registry.ImageName(match["region"], match["project"], match["repo"], match["image"])
        try:
            digest = registry.find_digest(name, match["tag"], context.endpoints.registry)
        except registry.RegistryError as error:
            checks.append(fail("image", one_line(str(error))))
            continue
        if digest is None:
            checks.append(
                fail(
                    "image",
                    f"{uri} is not pushed yet",
                    "python -m scripts build  # or push the commit to main: build-image.yml builds it",
                )
            )
        else:
            checks.append(ok("image", f"{uri} ({digest[:19]}…)"))
    return checks

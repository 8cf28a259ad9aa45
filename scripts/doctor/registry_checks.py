"""The image's side: the Artifact Registry repository, its immutable tags, and the image pushed to it.

The repository check records the repository when it may be read (the tags check reads its
settings there); the tags and image checks are skipped when it may not.
"""

from __future__ import annotations

import re

from google.api_core import exceptions

from scripts.cloudbuild import registry
from scripts.doctor import needs
from scripts.doctor.clients import bounded, disabled_service, one_line
from scripts.doctor.report import Check, fail, ok, skip, warn
from scripts.doctor.target import Context

_IMAGE = re.compile(
    r"^(?P<region>[a-z0-9-]+)-docker\.pkg\.dev/(?P<project>[^/]+)/(?P<repo>[^/]+)/(?P<image>[^:@]+):(?P<tag>[\w.-]+)$"
)


def repository(context: Context) -> list[Check]:
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
        found = bounded(client.get_repository, name=name)
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
    if found.format_.name != "DOCKER":
        return [
            fail(
                "repository",
                f"{repository} in {region} holds {found.format_.name}, not Docker images",
                create,
            )
        ]
    response = bounded(
        client.test_iam_permissions,
        request={"resource": name, "permissions": list(needs.REPOSITORY_PERMISSIONS)},
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
    context.repository = found
    return [ok("repository", f"{repository} (Docker) in {region}, readable by {context.who}")]


def immutable_tags(context: Context) -> list[Check]:
    """The repository refuses to move a tag: a content tag, once built, names one image for good."""
    found = context.repository
    if found is None:
        return [skip("tags", "the repository check failed: cannot tell whether its tags are immutable")]
    project, region, repository = context.project, context.target.region, context.target.repository
    # No docker_config at all is Artifact Registry's default: mutable tags.
    if "docker_config" in found and found.docker_config.immutable_tags:
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
    if context.repository is None:
        return [skip("image", "the repository check failed")]
    if not context.target.image_uris:
        return [warn("image", "no image to look for (no experiment compiled)")]
    return [_image(context, uri) for uri in context.target.image_uris]


def _image(context: Context, uri: str) -> Check:
    match = _IMAGE.match(uri)
    if not match:
        return warn("image", f"{uri} is not in Artifact Registry: not checked")
    name = registry.ImageName(match["region"], match["project"], match["repo"], match["image"])
    try:
        digest = registry.find_digest(name, match["tag"], context.endpoints.registry)
    except registry.RegistryError as error:
        return fail("image", one_line(str(error)))
    if digest is None:
        build = "python -m scripts build  # or push the commit to main: build-image.yml builds it"
        return fail("image", f"{uri} is not pushed yet", build)
    return ok("image", f"{uri} ({digest[:19]}…)")

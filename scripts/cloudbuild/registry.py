"""Whether an image tag exists in Artifact Registry, through the Docker Registry HTTP API v2.

`HEAD /v2/PROJECT/REPOSITORY/IMAGE/manifests/TAG` on `https://REGION-docker.pkg.dev` answers 200
with the manifest digest (`Docker-Content-Digest`) or 404, with an OAuth access token from
Application Default Credentials as the bearer token. It is the same lookup `docker pull` does, so
"exists" means exactly "a trial can pull it", and it needs no client library beyond google-auth.

A `registry_url` (the setting `HPT_REGISTRY_URL`, for example `http://127.0.0.1:5000`, which the
caller reads) sends the lookup to another registry without credentials, as tests and local
registries need.

`digest_reference` turns a tagged reference into `HOST/PROJECT/REPOSITORY/IMAGE@sha256:...`, the
form a submitted job names its image by: a tag can be moved, a digest names the same bytes forever.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REGISTRY_URL_ENV = "HPT_REGISTRY_URL"
# Every manifest type a pushed image can have: single-platform or index, Docker or OCI.
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
TIMEOUT_SECONDS = 30
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# A reference that already names its image by digest (with or without a tag before it).
DIGEST_REFERENCE = re.compile(r"[^\s@]+@sha256:[0-9a-f]{64}")
# REGION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE:TAG (IMAGE may hold slashes; tag rules of Docker).
TAGGED_REFERENCE = re.compile(
    r"(?P<region>[a-z0-9-]+)-docker\.pkg\.dev/(?P<project>[a-z0-9.:-]+)/(?P<repository>[a-z0-9._-]+)"
    r"/(?P<image>[a-z0-9._/-]+):(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})"
)


class RegistryError(Exception):
    """The registry could not answer whether the image exists; the message says why."""


@dataclass(frozen=True)
class ImageName:
    region: str
    project: str
    repository: str
    image: str

    @property
    def host(self) -> str:
        return f"{self.region}-docker.pkg.dev"

    def reference(self, tag: str) -> str:
        return f"{self.host}/{self.project}/{self.repository}/{self.image}:{tag}"

    def by_digest(self, digest: str) -> str:
        """`HOST/PROJECT/REPOSITORY/IMAGE@sha256:...`: the tag dropped, as Vertex AI takes it."""
        return f"{self.host}/{self.project}/{self.repository}/{self.image}@{digest}"

    def manifest_url(self, tag: str, base_url: str | None = None) -> str:
        base = (base_url or f"https://{self.host}").rstrip("/")
        return f"{base}/v2/{self.project}/{self.repository}/{self.image}/manifests/{tag}"


def _access_token() -> str:
    # Here, not at the top: every command imports this module (the backend names REGISTRY_URL_ENV),
    # and the auth and HTTP libraries take about 0.15 s that only an image look-up needs.
    import google.auth
    import google.auth.transport.requests
    from google.auth.exceptions import DefaultCredentialsError, RefreshError

    try:
        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
        credentials.refresh(google.auth.transport.requests.Request())
    except (DefaultCredentialsError, RefreshError) as error:
        raise RegistryError(f"no Google credentials to read Artifact Registry with: {error}") from None
    return credentials.token


def find_digest(name: ImageName, tag: str, base_url: str | None = None) -> str | None:
    """The digest of `name:tag` if the registry has it (Artifact Registry's, or the one at
    `base_url`), else None."""
    import requests  # about 0.13 s, for a look-up only (see _access_token)

    headers = {"Accept": MANIFEST_TYPES}
    if not base_url:
        headers["Authorization"] = f"Bearer {_access_token()}"
    url = name.manifest_url(tag, base_url)
    try:
        response = requests.head(url, headers=headers, timeout=TIMEOUT_SECONDS, allow_redirects=True)
    except requests.RequestException as error:
        raise RegistryError(f"cannot reach {name.host}: {type(error).__name__}") from None
    if response.status_code == 404:
        return None
    if response.status_code in (401, 403):
        raise RegistryError(
            f"not allowed to read {name.reference(tag)} (HTTP {response.status_code}): the caller needs "
            f"roles/artifactregistry.reader on repository {name.repository}"
        )
    if response.status_code != 200:
        raise RegistryError(f"{name.host} answered HTTP {response.status_code} for {name.reference(tag)}")
    digest = response.headers.get("Docker-Content-Digest", "")
    if not DIGEST.fullmatch(digest):
        raise RegistryError(f"{name.host} sent no manifest digest for {name.reference(tag)}")
    return digest


def parse_tagged(reference: str) -> tuple[ImageName, str] | None:
    """(image, tag) of an Artifact Registry `REGION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE:TAG`."""
    match = TAGGED_REFERENCE.fullmatch(reference)
    if match is None:
        return None
    name = ImageName(match["region"], match["project"], match["repository"], match["image"])
    return name, match["tag"]


def digest_reference(reference: str, registry_url: str | None = None) -> str:
    """`reference` named by digest: as it is when it has one, else its tag looked up in the registry
    (Artifact Registry's, or the one at `registry_url`).

    Raises RegistryError when it cannot be: not an Artifact Registry tag, not pushed, or no answer.
    """
    if DIGEST_REFERENCE.fullmatch(reference):
        return reference
    parsed = parse_tagged(reference)
    if parsed is None:
        raise RegistryError(
            f"{reference!r} is not an Artifact Registry image "
            "(REGION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE:TAG) nor named by @sha256 digest"
        )
    name, tag = parsed
    digest = find_digest(name, tag, registry_url)
    if digest is None:
        raise RegistryError(f"{reference} is not in the registry: build it first (python -m scripts build)")
    return name.by_digest(digest)

"""The Google API clients `doctor` calls, for Google Cloud or for loopback fakes.

Every client is built here with the caller's credentials, or, when an endpoint is overridden,
without credentials against that address (as Google's emulators are reached):

- `HPT_DOCTOR_EMULATOR_HOST=host:port`: Resource Manager, Service Usage, IAM, Artifact Registry,
  Cloud Quotas, Cloud Build and Vertex AI's TensorboardService over an insecure gRPC channel to
  one server (tests use it);
- `CLOUD_BUILD_EMULATOR_HOST=host:port`: Cloud Build alone (as `build` reads it);
- `STORAGE_EMULATOR_HOST=http://host:port`: Cloud Storage's JSON API (as google-cloud-storage reads it);
- `HPT_REGISTRY_URL=http://host:port`: the Docker registry API the image lookup asks
  (`scripts.cloudbuild.registry`, without credentials);
- `HPT_DOCTOR_IAM_URL=http://host:port`: IAM's REST API, for the workload identity provider
  (the Python client library has no client for workload identity pools).

Each call gets `CALL_TIMEOUT` seconds and no retry: a check that cannot answer says so at once.
What an API error says is told in one line: its type and message, or the API it says is disabled.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from scripts.cloudbuild.registry import REGISTRY_URL_ENV
from scripts.emulator.contract import emulator_client
from scripts.vertex.backend import api_endpoint

GRPC_HOST_ENV = "HPT_DOCTOR_EMULATOR_HOST"
CLOUD_BUILD_HOST_ENV = "CLOUD_BUILD_EMULATOR_HOST"  # scripts.cloudbuild.submit.CLOUD_BUILD_HOST_ENV
STORAGE_HOST_ENV = "STORAGE_EMULATOR_HOST"
IAM_REST_URL_ENV = "HPT_DOCTOR_IAM_URL"
IAM_REST_URL = "https://iam.googleapis.com"
CALL_TIMEOUT = 10.0
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
T = TypeVar("T")


def bounded(method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`method(*args, **kwargs)`, a Google call, given `CALL_TIMEOUT` seconds and no retry."""
    return method(*args, timeout=CALL_TIMEOUT, retry=None, **kwargs)


def one_line(text: str, limit: int = 240) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_error(error: BaseException) -> str:
    """`PermissionDenied: ...` for an API error; the type and message in one line for anything else."""
    message = getattr(error, "message", None) or str(error) or ""
    return one_line(f"{type(error).__name__}: {message}" if message else type(error).__name__)


def disabled_service(error: BaseException) -> str | None:
    """The API an error says is disabled (ErrorInfo reason SERVICE_DISABLED), else None."""
    if getattr(error, "reason", None) != "SERVICE_DISABLED":
        return None
    metadata = getattr(error, "metadata", None) or {}
    return metadata.get("service") or metadata.get("serviceTitle") or "the API"


def missing_account(error: BaseException) -> bool:
    """IAM answers 403 rather than 404 for an account that does not exist, saying so in the message."""
    return "does not exist" in str(getattr(error, "message", error))


@dataclass(frozen=True)
class Endpoints:
    """Where the calls go: None is Google Cloud; an address is a fake or an emulator."""

    grpc: str | None = None
    cloud_build: str | None = None
    storage: str | None = None
    iam_rest: str | None = None
    registry: str | None = None

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Endpoints:
        grpc_host = env.get(GRPC_HOST_ENV) or None
        return cls(
            grpc=grpc_host,
            cloud_build=env.get(CLOUD_BUILD_HOST_ENV) or grpc_host,
            storage=env.get(STORAGE_HOST_ENV) or None,
            iam_rest=env.get(IAM_REST_URL_ENV) or None,
            registry=env.get(REGISTRY_URL_ENV) or None,
        )


class Clients:
    """Builds each client once, on first use, with `credentials` (None for a fake endpoint)."""

    def __init__(self, endpoints: Endpoints, credentials: Any) -> None:
        self.endpoints = endpoints
        self.credentials = credentials
        self._made: dict[str, Any] = {}

    def _gapic(self, module: str, name: str, address: str | None, key: str = "", **options: Any) -> Any:
        """The GAPIC client `module.name`: over an insecure channel to `address` when there is one
        (no credentials, as Google's emulators are reached), else to Google with the credentials."""
        key = key or name
        if key not in self._made:
            # Each client library takes 0.3-1 s to import: only those of the checks that run.
            client_class = getattr(importlib.import_module(module), name)
            if address:
                self._made[key] = emulator_client(client_class, address)
            else:
                self._made[key] = client_class(credentials=self.credentials, **options)
        return self._made[key]

    def projects(self) -> Any:
        return self._gapic("google.cloud.resourcemanager_v3", "ProjectsClient", self.endpoints.grpc)

    def service_usage(self) -> Any:
        return self._gapic("google.cloud.service_usage_v1", "ServiceUsageClient", self.endpoints.grpc)

    def iam(self) -> Any:
        return self._gapic("google.cloud.iam_admin_v1", "IAMClient", self.endpoints.grpc)

    def artifact_registry(self) -> Any:
        return self._gapic("google.cloud.artifactregistry_v1", "ArtifactRegistryClient", self.endpoints.grpc)

    def quotas(self) -> Any:
        return self._gapic("google.cloud.cloudquotas_v1", "CloudQuotasClient", self.endpoints.grpc)

    def cloud_build(self) -> Any:
        return self._gapic(
            "google.cloud.devtools.cloudbuild_v1", "CloudBuildClient", self.endpoints.cloud_build
        )

    def tensorboards(self, region: str) -> Any:
        """Vertex AI's TensorboardService, at `region`'s endpoint (an instance lives in one region)."""
        options = {} if self.endpoints.grpc else {"client_options": {"api_endpoint": api_endpoint(region)}}
        service = "TensorboardServiceClient"
        return self._gapic(
            "google.cloud.aiplatform_v1", service, self.endpoints.grpc, f"tensorboards:{region}", **options
        )

    def iam_rest_get(self, name: str) -> tuple[int, dict[str, Any]]:
        """GET `/v1/{name}` of IAM's REST API: (HTTP status, its JSON body, {} when it has none).

        https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools.providers/get
        """
        # requests and google-auth's transport (0.2 s): only the identity provider check asks
        import requests
        from google.auth.transport.requests import AuthorizedSession

        fake = self.endpoints.iam_rest  # no credentials, as for the other fakes
        session = requests.Session() if fake else AuthorizedSession(self.credentials)
        base = fake.rstrip("/") if fake else IAM_REST_URL
        response = session.get(f"{base}/v1/{name}", timeout=CALL_TIMEOUT)
        try:
            body = response.json()
        except ValueError:
            body = {}
        return response.status_code, body if isinstance(body, dict) else {}

    def storage(self, project: str) -> Any:
        if "storage" not in self._made:
            # google-cloud-storage (0.3 s): only the bucket check asks
            from google.auth.credentials import AnonymousCredentials
            from google.cloud import storage

            fake = {
                "credentials": AnonymousCredentials(),
                "client_options": {"api_endpoint": self.endpoints.storage},
            }
            options = fake if self.endpoints.storage else {"credentials": self.credentials}
            self._made["storage"] = storage.Client(project=project, **options)
        return self._made["storage"]

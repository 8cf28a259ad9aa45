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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scripts.cloudbuild.registry import REGISTRY_URL_ENV

GRPC_HOST_ENV = "HPT_DOCTOR_EMULATOR_HOST"
CLOUD_BUILD_HOST_ENV = "CLOUD_BUILD_EMULATOR_HOST"  # scripts.cloudbuild.submit.CLOUD_BUILD_HOST_ENV
STORAGE_HOST_ENV = "STORAGE_EMULATOR_HOST"
IAM_REST_URL_ENV = "HPT_DOCTOR_IAM_URL"
IAM_REST_URL = "https://iam.googleapis.com"
CALL_TIMEOUT = 10.0
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)


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

    def _gapic(self, key: str, client_class: Any, transport_class: Any, address: str | None) -> Any:
        if key not in self._made:
            if address:
                import grpc

                channel = grpc.insecure_channel(address)
                self._made[key] = client_class(transport=transport_class(channel=channel))
            else:
                self._made[key] = client_class(credentials=self.credentials)
        return self._made[key]

    def projects(self) -> Any:
        from google.cloud import resourcemanager_v3
        from google.cloud.resourcemanager_v3.services.projects.transports import ProjectsGrpcTransport

        return self._gapic(
            "projects", resourcemanager_v3.ProjectsClient, ProjectsGrpcTransport, self.endpoints.grpc
        )

    def service_usage(self) -> Any:
        from google.cloud import service_usage_v1
        from google.cloud.service_usage_v1.services.service_usage.transports import ServiceUsageGrpcTransport

        return self._gapic(
            "service_usage",
            service_usage_v1.ServiceUsageClient,
            ServiceUsageGrpcTransport,
            self.endpoints.grpc,
        )

    def iam(self) -> Any:
        from google.cloud import iam_admin_v1
        from google.cloud.iam_admin_v1.services.iam.transports import IAMGrpcTransport

        return self._gapic("iam", iam_admin_v1.IAMClient, IAMGrpcTransport, self.endpoints.grpc)

    def artifact_registry(self) -> Any:
        from google.cloud import artifactregistry_v1
        from google.cloud.artifactregistry_v1.services.artifact_registry.transports import (
            ArtifactRegistryGrpcTransport,
        )

        return self._gapic(
            "artifact_registry",
            artifactregistry_v1.ArtifactRegistryClient,
            ArtifactRegistryGrpcTransport,
            self.endpoints.grpc,
        )

    def quotas(self) -> Any:
        from google.cloud import cloudquotas_v1
        from google.cloud.cloudquotas_v1.services.cloud_quotas.transports import CloudQuotasGrpcTransport

        return self._gapic(
            "quotas", cloudquotas_v1.CloudQuotasClient, CloudQuotasGrpcTransport, self.endpoints.grpc
        )

    def cloud_build(self) -> Any:
        from google.cloud.devtools import cloudbuild_v1
        from google.cloud.devtools.cloudbuild_v1.services.cloud_build.transports import (
            CloudBuildGrpcTransport,
        )

        return self._gapic(
            "cloud_build", cloudbuild_v1.CloudBuildClient, CloudBuildGrpcTransport, self.endpoints.cloud_build
        )

    def tensorboards(self, region: str) -> Any:
        """Vertex AI's TensorboardService, at `region`'s endpoint (an instance lives in one region)."""
        from google.cloud import aiplatform_v1
        from google.cloud.aiplatform_v1.services.tensorboard_service.transports import (
            TensorboardServiceGrpcTransport,
        )

        key = f"tensorboards:{region}"
        if self.endpoints.grpc or key in self._made:
            return self._gapic(
                key,
                aiplatform_v1.TensorboardServiceClient,
                TensorboardServiceGrpcTransport,
                self.endpoints.grpc,
            )
        from google.api_core.client_options import ClientOptions

        from scripts.vertex.client import api_endpoint

        self._made[key] = aiplatform_v1.TensorboardServiceClient(
            credentials=self.credentials, client_options=ClientOptions(api_endpoint=api_endpoint(region))
        )
        return self._made[key]

    def iam_rest_get(self, name: str) -> tuple[int, dict[str, Any]]:
        """GET `/v1/{name}` of IAM's REST API: (HTTP status, its JSON body, {} when it has none).

        https://cloud.google.com/iam/docs/reference/rest/v1/projects.locations.workloadIdentityPools.providers/get
        """
        import requests

        if self.endpoints.iam_rest:
            session: Any = requests.Session()  # a fake: no credentials, as for the other fakes
            base = self.endpoints.iam_rest.rstrip("/")
        else:
            from google.auth.transport.requests import AuthorizedSession

            session = AuthorizedSession(self.credentials)
            base = IAM_REST_URL
        response = session.get(f"{base}/v1/{name}", timeout=CALL_TIMEOUT)
        try:
            body = response.json()
        except ValueError:
            body = {}
        return response.status_code, body if isinstance(body, dict) else {}

    def storage(self, project: str) -> Any:
        if "storage" not in self._made:
            from google.cloud import storage

            if self.endpoints.storage:
                from google.auth.credentials import AnonymousCredentials

                self._made["storage"] = storage.Client(
                    project=project,
                    credentials=AnonymousCredentials(),
                    client_options={"api_endpoint": self.endpoints.storage},
                )
            else:
                self._made["storage"] = storage.Client(project=project, credentials=self.credentials)
        return self._made["storage"]

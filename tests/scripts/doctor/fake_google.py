"""Loopback fakes of the Google APIs `doctor` asks, behind the real client libraries.

One in-process gRPC server (generic handlers, no generated servicers) speaks the wire protocol of
Resource Manager (Projects), Service Usage, IAM, Artifact Registry, Cloud Build, Cloud Quotas and
Vertex AI's TensorboardService; `doctor` reaches it through HPT_DOCTOR_EMULATOR_HOST. Cloud
Storage's JSON API, the Docker registry API, IAM's REST API for workload identity providers and
the OAuth token endpoint are real HTTP on pytest-httpserver (`serve_http`).
Every answer is read from a `World` at call time, so a test changes the world and runs doctor.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.cloud import (
    aiplatform_v1,
    artifactregistry_v1,
    cloudquotas_v1,
    resourcemanager_v3,
    service_usage_v1,
)
from google.cloud.devtools import cloudbuild_v1
from google.iam.v1 import iam_policy_pb2, policy_pb2
from werkzeug import Request, Response

from scripts.doctor import needs

PROJECT = "demo-project"
NUMBER = "123456789012"
REGION = "us-central1"
BUCKET = "demo-bucket"
CALLER = f"doctor@{PROJECT}.iam.gserviceaccount.com"
BUILD_ACCOUNT = f"{NUMBER}-compute@developer.gserviceaccount.com"
TRIAL_ACCOUNT = f"hpt-trial@{PROJECT}.iam.gserviceaccount.com"
REPOSITORY = f"projects/{PROJECT}/locations/{REGION}/repositories/hpt"
TENSORBOARD = f"projects/{PROJECT}/locations/{REGION}/tensorboards/1234567890"
V100 = "aiplatform.googleapis.com/custom_model_training_nvidia_v100_gpus"
# Workload Identity Federation as docs/setup.md step 5 sets it up; the caller is the deployer.
POOL = f"projects/{NUMBER}/locations/global/workloadIdentityPools/github"
PROVIDER = f"{POOL}/providers/hpt"
WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"
ENVIRONMENT_MEMBER = f"principalSet://iam.googleapis.com/{POOL}/attribute.environment/vertex"
REPOSITORY_MEMBER = f"principalSet://iam.googleapis.com/{POOL}/attribute.repository/octo-org/hpt-demo"
MAIN_ONLY = (
    "assertion.repository_id == '123456' && assertion.repository_owner_id == '7890' && "
    "assertion.ref == 'refs/heads/main'"
)
MAPPING = {
    "google.subject": "assertion.sub",
    "attribute.repository_id": "assertion.repository_id",
    "attribute.environment": "has(assertion.environment) ? assertion.environment : 'none'",
}


def quota(metric: str, quota_id: str, values: dict[str, int], default: int = 0) -> cloudquotas_v1.QuotaInfo:
    """A QuotaInfo as Cloud Quotas lists it: one dimension per region set, and the default for the rest."""
    infos = [
        cloudquotas_v1.DimensionsInfo(
            dimensions={"region": region},
            details=cloudquotas_v1.QuotaDetails(value=value),
            applicable_locations=[region],
        )
        for region, value in values.items()
    ]
    infos.append(
        cloudquotas_v1.DimensionsInfo(
            dimensions={},
            details=cloudquotas_v1.QuotaDetails(value=default),
            applicable_locations=["asia-east1"],
        )
    )
    return cloudquotas_v1.QuotaInfo(
        name=f"projects/{NUMBER}/locations/global/services/aiplatform.googleapis.com/quotaInfos/{quota_id}",
        quota_id=quota_id,
        metric=metric,
        service="aiplatform.googleapis.com",
        dimensions=["region"],
        dimensions_infos=infos,
    )


def _filler(count: int) -> list[cloudquotas_v1.QuotaInfo]:
    """Quotas of other metrics, so that the one looked for is on a later page."""
    return [
        quota(f"aiplatform.googleapis.com/other_metric_{n}", f"OtherQuota{n}", {REGION: 100})
        for n in range(count)
    ]


@dataclass
class World:
    """A project in which everything a run needs is in place; tests take pieces away."""

    project_state: resourcemanager_v3.Project.State = resourcemanager_v3.Project.State.ACTIVE
    project_exists: bool = True
    projects_visible: bool = True  # may the caller read the project (resourcemanager.projects.get)
    apis_visible: bool = True  # may the caller read which APIs are enabled (serviceusage.services.get)
    enabled: set[str] = field(default_factory=lambda: {*needs.RUN_APIS, *needs.DOCTOR_APIS})
    project_permissions: set[str] = field(default_factory=lambda: set(needs.PROJECT_PERMISSIONS))
    accounts: set[str] = field(default_factory=lambda: {BUILD_ACCOUNT, TRIAL_ACCOUNT})
    act_as: set[str] = field(default_factory=lambda: {BUILD_ACCOUNT, TRIAL_ACCOUNT})
    build_account: str = f"projects/{PROJECT}/serviceAccounts/{BUILD_ACCOUNT}"
    repositories: dict[str, artifactregistry_v1.Repository.Format] = field(
        default_factory=lambda: {REPOSITORY: artifactregistry_v1.Repository.Format.DOCKER}
    )
    repository_permissions: set[str] = field(default_factory=lambda: set(needs.REPOSITORY_PERMISSIONS))
    immutable_tags: bool = True  # the repository as docs/setup.md creates it
    quotas: list[cloudquotas_v1.QuotaInfo] = field(
        default_factory=lambda: [
            *_filler(5),
            quota(V100, "CustomModelTrainingV100GPUsPerProjectPerRegion", {REGION: 8, "europe-west4": 2}),
        ]
    )
    # HTTP side
    buckets: dict[str, str] = field(default_factory=lambda: {BUCKET: "US-CENTRAL1"})
    bucket_permissions: set[str] = field(default_factory=lambda: set(needs.BUCKET_PERMISSIONS))
    images_pushed: bool = True
    # account -> role -> members: who may act as it (iam.serviceAccounts.getIamPolicy)
    account_policies: dict[str, dict[str, list[str]]] = field(
        default_factory=lambda: {CALLER: {WORKLOAD_IDENTITY_USER: [ENVIRONMENT_MEMBER]}}
    )
    policies_visible: bool = True
    providers: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {
            PROVIDER: {
                "name": PROVIDER,
                "state": "ACTIVE",
                "attributeCondition": MAIN_ONLY,
                "attributeMapping": MAPPING,
            }
        }
    )
    providers_visible: bool = True
    # Vertex AI TensorBoard instances by full name -> display name; readable unless not visible
    tensorboards: dict[str, str] = field(default_factory=lambda: {TENSORBOARD: "hpt"})
    tensorboards_visible: bool = True
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def called(self, method: str) -> list[Any]:
        return [request for name, request in self.calls if name == method]


def _handler(request_type: Any, response_type: Any, fn: Callable[[Any, grpc.ServicerContext], Any]) -> Any:
    """A unary-unary handler for a proto-plus or a plain protobuf message type."""

    def load(data: bytes) -> Any:
        return (
            request_type.deserialize(data)
            if hasattr(request_type, "deserialize")
            else request_type.FromString(data)
        )

    def dump(message: Any) -> bytes:
        return (
            type(message).serialize(message)
            if hasattr(type(message), "serialize")
            else message.SerializeToString()
        )

    return grpc.unary_unary_rpc_method_handler(fn, request_deserializer=load, response_serializer=dump)


class FakeGoogle:
    """The gRPC side on 127.0.0.1:<free port>; `address` is what HPT_DOCTOR_EMULATOR_HOST takes."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.lock = threading.Lock()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.server.add_generic_rpc_handlers(self._handlers())
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{self.port}"

    def __enter__(self) -> FakeGoogle:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop(grace=None)

    def _record(self, method: str, request: Any) -> None:
        with self.lock:
            self.world.calls.append((method, request))

    def _handlers(self) -> list[Any]:
        pb = iam_policy_pb2
        return [
            grpc.method_handlers_generic_handler(
                "google.cloud.resourcemanager.v3.Projects",
                {
                    "GetProject": _handler(resourcemanager_v3.GetProjectRequest, None, self.get_project),
                    "TestIamPermissions": _handler(
                        pb.TestIamPermissionsRequest, None, self.project_permissions
                    ),
                },
            ),
            grpc.method_handlers_generic_handler(
                "google.api.serviceusage.v1.ServiceUsage",
                {
                    "BatchGetServices": _handler(
                        service_usage_v1.BatchGetServicesRequest, None, self.batch_get
                    )
                },
            ),
            grpc.method_handlers_generic_handler(
                "google.iam.admin.v1.IAM",
                {
                    "TestIamPermissions": _handler(
                        pb.TestIamPermissionsRequest, None, self.account_permissions
                    ),
                    "GetIamPolicy": _handler(pb.GetIamPolicyRequest, None, self.account_policy),
                },
            ),
            grpc.method_handlers_generic_handler(
                "google.devtools.artifactregistry.v1.ArtifactRegistry",
                {
                    "GetRepository": _handler(
                        artifactregistry_v1.GetRepositoryRequest, None, self.get_repository
                    ),
                    "TestIamPermissions": _handler(
                        pb.TestIamPermissionsRequest, None, self.repository_permissions
                    ),
                },
            ),
            grpc.method_handlers_generic_handler(
                "google.devtools.cloudbuild.v1.CloudBuild",
                {
                    "GetDefaultServiceAccount": _handler(
                        cloudbuild_v1.GetDefaultServiceAccountRequest, None, self.default_account
                    )
                },
            ),
            grpc.method_handlers_generic_handler(
                "google.api.cloudquotas.v1.CloudQuotas",
                {"ListQuotaInfos": _handler(cloudquotas_v1.ListQuotaInfosRequest, None, self.list_quotas)},
            ),
            grpc.method_handlers_generic_handler(
                "google.cloud.aiplatform.v1.TensorboardService",
                {"GetTensorboard": _handler(aiplatform_v1.GetTensorboardRequest, None, self.get_tensorboard)},
            ),
        ]

    # -- Vertex AI TensorboardService ----------------------------------------------------------

    def get_tensorboard(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("GetTensorboard", request)
        if not self.world.tensorboards_visible:
            context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"Permission 'aiplatform.tensorboards.get' denied on resource '{request.name}'",
            )
        if request.name not in self.world.tensorboards:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Tensorboard {request.name} is not found.")
        return aiplatform_v1.Tensorboard(
            name=request.name, display_name=self.world.tensorboards[request.name]
        )

    # -- Resource Manager --------------------------------------------------------------------

    def get_project(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("GetProject", request)
        known = request.name == f"projects/{PROJECT}" and self.world.project_exists
        if not known or not self.world.projects_visible:
            context.abort(
                grpc.StatusCode.PERMISSION_DENIED, f"Permission denied on resource '{request.name}'"
            )
        return resourcemanager_v3.Project(
            name=f"projects/{NUMBER}", project_id=PROJECT, display_name="Demo", state=self.world.project_state
        )

    def project_permissions(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("Projects.TestIamPermissions", request)
        if request.resource != f"projects/{PROJECT}" or not self.world.project_exists:
            context.abort(
                grpc.StatusCode.PERMISSION_DENIED, f"Permission denied on resource '{request.resource}'"
            )
        granted = [p for p in request.permissions if p in self.world.project_permissions]
        return iam_policy_pb2.TestIamPermissionsResponse(permissions=granted)

    # -- Service Usage -----------------------------------------------------------------------

    def batch_get(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("BatchGetServices", request)
        if not self.world.apis_visible:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "Permission 'serviceusage.services.get' denied")
        if len(request.names) > 30:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "at most 30 names")
        services = []
        for name in request.names:
            service = name.rsplit("/", 1)[-1]
            state = (
                service_usage_v1.State.ENABLED
                if service in self.world.enabled
                else service_usage_v1.State.DISABLED
            )
            services.append(
                service_usage_v1.Service(name=f"projects/{NUMBER}/services/{service}", state=state)
            )
        return service_usage_v1.BatchGetServicesResponse(services=services)

    # -- IAM ---------------------------------------------------------------------------------

    def account_permissions(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("IAM.TestIamPermissions", request)
        email = request.resource.rsplit("/", 1)[-1]
        if email not in self.world.accounts:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Service account {email} does not exist.")
        granted = [p for p in request.permissions if email in self.world.act_as]
        return iam_policy_pb2.TestIamPermissionsResponse(permissions=granted)

    def account_policy(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("IAM.GetIamPolicy", request)
        email = request.resource.rsplit("/", 1)[-1]
        if email not in self.world.account_policies and email not in self.world.accounts:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Service account {email} does not exist.")
        if not self.world.policies_visible:
            context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"Permission 'iam.serviceAccounts.getIamPolicy' denied on resource {email}",
            )
        roles = self.world.account_policies.get(email, {})
        return policy_pb2.Policy(
            version=3,
            bindings=[policy_pb2.Binding(role=role, members=members) for role, members in roles.items()],
        )

    # -- Artifact Registry -------------------------------------------------------------------

    def get_repository(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("GetRepository", request)
        repository_format = self.world.repositories.get(request.name)
        if repository_format is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Requested entity was not found: {request.name}")
        return artifactregistry_v1.Repository(
            name=request.name,
            format_=repository_format,
            docker_config=artifactregistry_v1.Repository.DockerRepositoryConfig(
                immutable_tags=self.world.immutable_tags
            ),
        )

    def repository_permissions(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("ArtifactRegistry.TestIamPermissions", request)
        granted = [p for p in request.permissions if p in self.world.repository_permissions]
        return iam_policy_pb2.TestIamPermissionsResponse(permissions=granted)

    # -- Cloud Build -------------------------------------------------------------------------

    def default_account(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("GetDefaultServiceAccount", request)
        return cloudbuild_v1.DefaultServiceAccount(
            name=request.name, service_account_email=self.world.build_account
        )

    # -- Cloud Quotas: two per page, to exercise the paging ------------------------------------

    def list_quotas(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record("ListQuotaInfos", request)
        start = int(request.page_token or 0)
        page = self.world.quotas[start : start + 2]
        more = start + 2 < len(self.world.quotas)
        return cloudquotas_v1.ListQuotaInfosResponse(
            quota_infos=page, next_page_token=str(start + 2) if more else ""
        )


# -- HTTP: Cloud Storage JSON API, the Docker registry, the OAuth token endpoint ---------------


def serve_http(httpserver: Any, world: World) -> None:
    """Answer GCS bucket reads, bucket permission tests, manifest HEADs and token requests from `world`."""

    def token(request: Request) -> Response:
        return Response(
            '{"access_token": "fake-token", "expires_in": 3600, "token_type": "Bearer"}',
            content_type="application/json",
        )

    def bucket(request: Request) -> Response:
        match = re.match(r"^/storage/v1/b/([^/]+)(/iam/testPermissions)?$", request.path)
        assert match, request.path
        name, test = match.group(1), match.group(2)
        if name not in world.buckets:
            return Response(
                '{"error": {"code": 404, "message": "The specified bucket does not exist."}}',
                404,
                content_type="application/json",
            )
        if test:
            asked = request.args.getlist("permissions")
            granted = [p for p in asked if p in world.bucket_permissions]
            body = {"kind": "storage#testIamPermissionsResponse", "permissions": granted}
            return Response(json.dumps(body), content_type="application/json")
        location = world.buckets[name]
        kind = "multi-region" if location in ("US", "EU", "ASIA") else "region"
        body = {"kind": "storage#bucket", "name": name, "location": location, "locationType": kind}
        return Response(json.dumps(body), content_type="application/json")

    def manifest(request: Request) -> Response:
        if not world.images_pushed:
            return Response("", 404)
        return Response("", 200, headers={"Docker-Content-Digest": "sha256:" + "ab" * 32})

    def provider(request: Request) -> Response:
        name = request.path.removeprefix("/v1/")
        if not world.providers_visible:
            error = {
                "code": 403,
                "message": f"Permission 'iam.workloadIdentityPoolProviders.get' denied on '{name}'",
            }
            return Response(json.dumps({"error": error}), 403, content_type="application/json")
        if name not in world.providers:
            error = {"code": 404, "message": f"Requested entity was not found: {name}"}
            return Response(json.dumps({"error": error}), 404, content_type="application/json")
        return Response(json.dumps(world.providers[name]), content_type="application/json")

    httpserver.expect_request("/token", method="POST").respond_with_handler(token)
    httpserver.expect_request(
        re.compile(r"^/v1/projects/.*/providers/.*"), method="GET"
    ).respond_with_handler(provider)
    httpserver.expect_request(re.compile(r"^/storage/v1/b/.*")).respond_with_handler(bucket)
    httpserver.expect_request(re.compile(r"^/v2/.*/manifests/.*"), method="HEAD").respond_with_handler(
        manifest
    )

"""An in-process Cloud Build API on loopback, for the real google-cloud-build client to talk to.

It serves `google.devtools.cloudbuild.v1.CloudBuild` (CreateBuild, GetBuild, ListBuilds) and
`google.longrunning.Operations` (GetOperation, which the client's operation polls) through gRPC
generic handlers. Each build plays a script: the statuses it goes through, one per poll, and how
its operation ends (with an error, or with the build as its response, as Cloud Build does both).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field

import grpc
from google.cloud.devtools import cloudbuild_v1
from google.longrunning import operations_pb2
from google.protobuf import any_pb2
from google.rpc import status_pb2

Status = cloudbuild_v1.Build.Status


@dataclass
class Script:
    """How a build goes: `(build status, {step id: status})` per poll; the last entry is final."""

    states: list[tuple[Status, dict[str, Status]]]
    operation_error: str | None = None
    failure_detail: str = ""
    on_success: Callable[[cloudbuild_v1.Build], None] | None = None


@dataclass
class FakeCloudBuild:
    script: Script
    create_requests: list[cloudbuild_v1.CreateBuildRequest] = field(default_factory=list)
    get_build_requests: list[cloudbuild_v1.GetBuildRequest] = field(default_factory=list)
    list_requests: list[cloudbuild_v1.ListBuildsRequest] = field(default_factory=list)
    operation_polls: int = 0
    unavailable_polls: int = 0  # answer this many GetOperation calls with UNAVAILABLE first
    builds: dict[str, cloudbuild_v1.Build] = field(default_factory=dict)
    # Builds that ListBuilds returns, and how many GetBuild polls each takes to reach its final state.
    listed: list[cloudbuild_v1.Build] = field(default_factory=list)
    _polls: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- the build's life -------------------------------------------------------------------

    def _state(self, build_id: str) -> cloudbuild_v1.Build:
        build = self.builds[build_id]
        index = min(self._polls.get(build_id, 0), len(self.script.states) - 1)
        status, steps = self.script.states[index]
        build.status = status
        for step in build.steps:
            step.status = steps.get(step.id, Status.STATUS_UNKNOWN)
        if status == Status.SUCCESS and not build.results.images:
            for number, name in enumerate(build.images):
                digest = "sha256:" + f"{number:x}".rjust(64, "a")
                build.results.images.append(cloudbuild_v1.BuiltImage(name=name, digest=digest))
            if self.script.on_success:
                self.script.on_success(build)
        if status not in (Status.QUEUED, Status.WORKING, Status.PENDING, Status.STATUS_UNKNOWN):
            build.failure_info.detail = self.script.failure_detail
        return build

    def _done(self, build_id: str) -> bool:
        return self._polls.get(build_id, 0) >= len(self.script.states) - 1

    def _operation(self, build_id: str) -> operations_pb2.Operation:
        build = self._state(build_id)
        metadata = any_pb2.Any()
        metadata.Pack(
            cloudbuild_v1.BuildOperationMetadata.pb(cloudbuild_v1.BuildOperationMetadata(build=build))
        )
        name = f"operations/build/{build.project_id}/{build_id}"
        operation = operations_pb2.Operation(name=name, metadata=metadata)
        if self._done(build_id):
            operation.done = True
            if self.script.operation_error is not None:
                operation.error.CopyFrom(status_pb2.Status(code=2, message=self.script.operation_error))
            else:
                response = any_pb2.Any()
                response.Pack(cloudbuild_v1.Build.pb(build))
                operation.response.CopyFrom(response)
        return operation

    # --- the RPCs ---------------------------------------------------------------------------

    def create_build(self, request: cloudbuild_v1.CreateBuildRequest, context) -> operations_pb2.Operation:
        with self._lock:
            self.create_requests.append(request)
            build_id = f"build-{len(self.create_requests)}"
            build = cloudbuild_v1.Build(request.build)
            build.id = build_id
            build.project_id = request.project_id
            # Cloud Build expands substitutions in the stored build's images (and steps).
            values = {"PROJECT_ID": request.project_id, **build.substitutions}
            expanded = [_expand(image, values) for image in build.images]
            del build.images[:]
            build.images.extend(expanded)
            build.log_url = (
                f"https://console.cloud.google.com/cloud-build/builds;region=us-central1/{build_id}"
            )
            self.builds[build_id] = build
            self._polls[build_id] = 0
            return self._operation(build_id)

    def get_operation(self, request: operations_pb2.GetOperationRequest, context) -> operations_pb2.Operation:
        with self._lock:
            if self.unavailable_polls:
                self.unavailable_polls -= 1
                context.abort(grpc.StatusCode.UNAVAILABLE, "try again")
            build_id = request.name.rsplit("/", 1)[-1]
            if build_id not in self.builds:
                context.abort(grpc.StatusCode.NOT_FOUND, f"no operation {request.name}")
            self.operation_polls += 1
            self._polls[build_id] += 1
            return self._operation(build_id)

    def get_build(self, request: cloudbuild_v1.GetBuildRequest, context) -> cloudbuild_v1.Build:
        with self._lock:
            self.get_build_requests.append(request)
            if request.id not in self.builds:
                context.abort(grpc.StatusCode.NOT_FOUND, f"no build {request.id}")
            if request.id in {build.id for build in self.listed}:
                self._polls[request.id] += 1  # a followed build advances on GetBuild polls
            return self._state(request.id)

    def list_builds(self, request: cloudbuild_v1.ListBuildsRequest, context):
        """Every build, the ones created here included, newest first, as Cloud Build lists them."""
        with self._lock:
            self.list_requests.append(request)
            wanted = request.filter.removeprefix('tags="').removesuffix('"')
            newest_first = reversed(list(self.builds.values()))
            return cloudbuild_v1.ListBuildsResponse(builds=[b for b in newest_first if wanted in b.tags])

    def add_listed(self, build: cloudbuild_v1.Build) -> None:
        """A build that exists before the test starts (ListBuilds finds it; GetBuild advances it)."""
        self.listed.append(build)
        self.builds[build.id] = build
        self._polls[build.id] = 0


def pushed_build(
    build_id: str, project: str, reference: str, digest: str, status: Status = Status.SUCCESS
) -> cloudbuild_v1.Build:
    """A build of `python -m scripts build` on record that pushed `reference` (`IMAGE:CONTENT_TAG`) as
    `digest`: what `build` asks for before it trusts a content tag already in the registry."""
    tag = reference.rsplit(":", 1)[1]
    return cloudbuild_v1.Build(
        id=build_id,
        project_id=project,
        status=status,
        tags=["hpt-trainer", tag],
        substitutions={"_CONTENT_TAG": tag},
        images=[reference],
        results=cloudbuild_v1.Results(images=[cloudbuild_v1.BuiltImage(name=reference, digest=digest)]),
    )


def _expand(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", lambda m: values[m.group(1) or m.group(2)], text)


def _unary(fn, request_type, response_serializer):
    return grpc.unary_unary_rpc_method_handler(
        fn, request_deserializer=request_type, response_serializer=response_serializer
    )


def serve(fake: FakeCloudBuild) -> tuple[grpc.Server, str]:
    """Start the fake on 127.0.0.1; returns the server and its `host:port`."""
    cloud_build = grpc.method_handlers_generic_handler(
        "google.devtools.cloudbuild.v1.CloudBuild",
        {
            "CreateBuild": _unary(
                fake.create_build,
                cloudbuild_v1.CreateBuildRequest.deserialize,
                operations_pb2.Operation.SerializeToString,
            ),
            "GetBuild": _unary(
                fake.get_build, cloudbuild_v1.GetBuildRequest.deserialize, cloudbuild_v1.Build.serialize
            ),
            "ListBuilds": _unary(
                fake.list_builds,
                cloudbuild_v1.ListBuildsRequest.deserialize,
                cloudbuild_v1.ListBuildsResponse.serialize,
            ),
        },
    )
    operations = grpc.method_handlers_generic_handler(
        "google.longrunning.Operations",
        {
            "GetOperation": _unary(
                fake.get_operation,
                operations_pb2.GetOperationRequest.FromString,
                operations_pb2.Operation.SerializeToString,
            ),
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((cloud_build, operations))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"

"""A fake Vertex AI for `promote --backend vertex`: jobs to read and a Model Registry that records.

One gRPC server on loopback serves `JobService.GetHyperparameterTuningJob` (the jobs given to
`add_job`) and the `ModelService` calls promotion makes (ListModelVersions, UploadModel,
GetModel, MergeVersionAliases), with the real `aiplatform.v1` messages, so the real GAPIC clients
reach it through `VERTEX_AI_EMULATOR_HOST`. Every request is kept, to compare with the message
Vertex AI should receive:

    with FakeVertexRegistry() as fake:
        fake.add_job(job)
        ...  # python -m scripts promote JOB --backend vertex
        [request] = fake.requests("UploadModel")

Unlike the emulator it checks nothing about the model (no state directory, no files): it is
what a request-shape test talks to.
"""

from __future__ import annotations

import threading
from concurrent import futures

import grpc
from google.cloud.aiplatform_v1 import (
    GetHyperparameterTuningJobRequest,
    GetModelRequest,
    HyperparameterTuningJob,
    ListModelVersionsRequest,
    ListModelVersionsResponse,
    MergeVersionAliasesRequest,
    Model,
    UploadModelRequest,
    UploadModelResponse,
)
from google.longrunning import operations_pb2

from scripts.emulator.server import parse_filter


class FakeVertexRegistry:
    def __init__(self) -> None:
        self.jobs: dict[str, HyperparameterTuningJob] = {}
        self.models: dict[str, list[Model]] = {}  # model name -> versions, oldest first
        self.calls: list[tuple[str, object]] = []
        self.address = ""
        self._lock = threading.Lock()
        self._server: grpc.Server | None = None

    def add_job(self, job: HyperparameterTuningJob) -> None:
        self.jobs[job.name] = HyperparameterTuningJob(job)

    def requests(self, method: str) -> list:
        return [request for name, request in self.calls if name == method]

    # -- server -------------------------------------------------------------------------------

    def __enter__(self) -> FakeVertexRegistry:
        def handler(method: str, function, request_type, serializer):
            def handle(request, context: grpc.ServicerContext):
                with self._lock:
                    self.calls.append((method, request))
                    return function(request, context)

            return grpc.unary_unary_rpc_method_handler(
                handle, request_deserializer=request_type.deserialize, response_serializer=serializer
            )

        def plain(message) -> bytes:
            return message.SerializeToString()

        jobs = {
            "GetHyperparameterTuningJob": handler(
                "GetHyperparameterTuningJob",
                self._get_job,
                GetHyperparameterTuningJobRequest,
                HyperparameterTuningJob.serialize,
            )
        }
        models = {
            "ListModelVersions": handler(
                "ListModelVersions",
                self._list_versions,
                ListModelVersionsRequest,
                ListModelVersionsResponse.serialize,
            ),
            "UploadModel": handler("UploadModel", self._upload, UploadModelRequest, plain),
            "GetModel": handler("GetModel", self._get_model, GetModelRequest, Model.serialize),
            "MergeVersionAliases": handler(
                "MergeVersionAliases", self._merge, MergeVersionAliasesRequest, Model.serialize
            ),
        }
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler("google.cloud.aiplatform.v1.JobService", jobs),
                grpc.method_handlers_generic_handler("google.cloud.aiplatform.v1.ModelService", models),
            )
        )
        port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        self.address = f"127.0.0.1:{port}"
        return self

    def __exit__(self, *exc_info) -> None:
        if self._server is not None:
            self._server.stop(grace=None)

    # -- the methods ----------------------------------------------------------------------------

    def _get_job(self, request: GetHyperparameterTuningJobRequest, context) -> HyperparameterTuningJob:
        job = self.jobs.get(request.name)
        if job is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"HyperparameterTuningJob {request.name} not found.")
        return job

    def _list_versions(self, request: ListModelVersionsRequest, context) -> ListModelVersionsResponse:
        versions = self.models.get(request.name)
        if versions is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"Model {request.name} not found.")
        predicates = parse_filter(request.filter)
        return ListModelVersionsResponse(models=[v for v in versions if all(p(v) for p in predicates)])

    def _upload(self, request: UploadModelRequest, context) -> operations_pb2.Operation:
        name = request.parent_model or f"{request.parent}/models/{request.model_id}"
        versions = self.models.setdefault(name, [])
        model = Model(request.model)
        model.name = name
        model.version_id = str(len(versions) + 1)
        if not versions:
            model.version_aliases.insert(0, "default")
        for other in versions:
            other.version_aliases = [a for a in other.version_aliases if a not in model.version_aliases]
        versions.append(model)
        operation = operations_pb2.Operation(name=f"{name}/operations/{len(self.calls)}", done=True)
        operation.response.Pack(
            UploadModelResponse.pb(UploadModelResponse(model=name, model_version_id=model.version_id))
        )
        return operation

    def _version(self, name: str, context) -> Model:
        model, _, version = name.partition("@")
        for candidate in self.models.get(model, []):
            if candidate.version_id == version or version in candidate.version_aliases:
                return candidate
        context.abort(grpc.StatusCode.NOT_FOUND, f"Model {name} not found.")

    def _get_model(self, request: GetModelRequest, context) -> Model:
        return self._version(request.name if "@" in request.name else f"{request.name}@default", context)

    def _merge(self, request: MergeVersionAliasesRequest, context) -> Model:
        target = self._version(request.name, context)
        for other in self.models[target.name]:
            other.version_aliases = [a for a in other.version_aliases if a not in request.version_aliases]
        target.version_aliases.extend(request.version_aliases)
        return target

"""The gRPC side: JobService's hyperparameter tuning methods over the real `aiplatform.v1` messages.

No generated servicer: each method is a generic handler that deserializes the request message,
calls a plain function, and serializes the response, so the GAPIC `JobServiceClient` talks to
it unchanged. Errors carry the status codes Vertex uses: NOT_FOUND for an unknown job,
INVALID_ARGUMENT for a job or filter the emulator cannot take, FAILED_PRECONDITION for
cancelling a finished job or deleting a running one.

Served: Create, Get, List (filters `labels.KEY="VALUE"`, `labels.KEY:*`, `display_name="..."`,
`state=JOB_STATE_...`, joined with AND and OR, OR binding tighter, one level of parentheses;
`-` for any project or location in the parent, as AIP-159 reads across collections; page
tokens), Cancel, Delete (its long-running operation is returned already done;
`google.longrunning.Operations/GetOperation` answers for it too).
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Callable, Sequence
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.cloud.aiplatform_v1 import (
    CancelHyperparameterTuningJobRequest,
    CreateHyperparameterTuningJobRequest,
    DeleteHyperparameterTuningJobRequest,
    DeleteOperationMetadata,
    GenericOperationMetadata,
    GetHyperparameterTuningJobRequest,
    HyperparameterTuningJob,
    JobState,
    ListHyperparameterTuningJobsRequest,
    ListHyperparameterTuningJobsResponse,
    StudySpec,
)
from google.longrunning import operations_pb2
from google.protobuf import empty_pb2, json_format, struct_pb2

from scripts.emulator.contract import INFO_METHOD, INFO_SERVICE
from scripts.emulator.optimizer import delete_study, parameter_specs
from scripts.emulator.scheduler import Scheduler, local_limit_problem
from scripts.emulator.store import UNFINISHED, Store, now
from scripts.experiments import job_rules
from scripts.jobs import fidelity
from scripts.jobs.names import is_parent, parse_job_name

SERVICE = "google.cloud.aiplatform.v1.JobService"
OPERATIONS_SERVICE = "google.longrunning.Operations"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


class RpcFailure(Exception):
    """Ends the call with a status code and message."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def invalid(message: str) -> RpcFailure:
    return RpcFailure(grpc.StatusCode.INVALID_ARGUMENT, message)


def check_parent(parent: str) -> None:
    """INVALID_ARGUMENT for anything but `projects/PROJECT/locations/LOCATION` (no `-` where a new
    resource goes)."""
    if not is_parent(parent) or "-" in parent.split("/"):
        raise invalid(f"parent: expected projects/PROJECT/locations/LOCATION, got {parent!r}")


# -- filters --------------------------------------------------------------------------------------


MAX_FILTER_LENGTH = 4096  # characters; the identity filter this tool writes is a few hundred

_SPACE = re.compile(r"[ \t\r\n]*")
_FIELD = re.compile(r"labels\.[A-Za-z0-9_-]+|display_name|state")
_OPERATOR = re.compile(r"!=|=|:")
_QUOTED = re.compile(r'"([^"]*)"')
_BARE = re.compile(r'[^\s"()]+')
_AND = re.compile(r"AND(?=[ \t\r\n(])")
_OR = re.compile(r"OR(?=[ \t\r\n])")
_OPEN = re.compile(r"\(")
_CLOSE = re.compile(r"\)")

Predicate = Callable[[HyperparameterTuningJob], bool]


def parse_filter(text: str) -> list[Predicate]:
    """The filter as a list of predicates that must all hold: AIP-160's AND of factors, each a
    term or an OR of terms (OR binds tighter than AND, as AIP-160 says), optionally in one level
    of parentheses: `labels.hpt-experiment="x" AND (state="JOB_STATE_RUNNING" OR state=...)`.

    A single left-to-right scan: each token is matched once where the last one ended, so the
    time is linear in the filter's length whatever it holds (no backtracking over spaces).
    """
    if len(text) > MAX_FILTER_LENGTH:
        raise invalid(f"filter: longer than {MAX_FILTER_LENGTH} characters")
    predicates: list[Predicate] = []
    position = _SPACE.match(text, 0).end()
    if position == len(text):
        return []

    def fail(what: str) -> RpcFailure:
        shown = text[position : position + 20]
        return invalid(f"unsupported filter: expected {what} at character {position + 1}, got {shown!r}")

    def expect(pattern: re.Pattern[str], what: str) -> re.Match[str]:
        match = pattern.match(text, position)
        if match is None:
            raise fail(what)
        return match

    def skip(end: int) -> int:
        return _SPACE.match(text, end).end()

    while True:
        grouped = _OPEN.match(text, position)
        if grouped:
            position = skip(grouped.end())
        alternatives: list[Predicate] = []
        while True:
            field = expect(_FIELD, "labels.KEY, display_name or state")
            position = skip(field.end())
            operator = expect(_OPERATOR, "=, != or :")
            position = skip(operator.end())
            if position < len(text) and text[position] == '"':
                value_match = expect(_QUOTED, "a closing quote")
                value = value_match.group(1)
            else:
                value_match = expect(_BARE, "a value")
                value = value_match.group(0)
            alternatives.append(_predicate(field.group(0), operator.group(0), value))
            end = value_match.end()
            position = skip(end)
            if grouped and _CLOSE.match(text, position):
                end = position + 1
                position = skip(end)
                break
            if position == len(text):
                if grouped:
                    raise fail("a closing parenthesis")
                break
            if position == end:
                raise fail("a space")
            alternative = _OR.match(text, position)
            if alternative is None:
                if grouped:
                    raise fail("OR or a closing parenthesis")
                break
            position = skip(alternative.end())
        predicates.append(alternatives[0] if len(alternatives) == 1 else _any_of(alternatives))
        if position == len(text):
            return predicates
        if position == end:
            raise fail("a space")
        position = skip(expect(_AND, "AND").end())


def _any_of(alternatives: list[Predicate]) -> Predicate:
    return lambda job: any(alternative(job) for alternative in alternatives)


def _predicate(field: str, operator: str, value: str) -> Predicate:
    def actual(job: HyperparameterTuningJob) -> str | None:
        if field.startswith("labels."):
            return job.labels.get(field.removeprefix("labels."))
        if field == "state":
            return job.state.name
        return job.display_name

    if operator == ":":
        if value == "*":
            return lambda job: actual(job) is not None
        return lambda job: value in (actual(job) or "")
    if operator == "=":
        return lambda job: actual(job) == value
    return lambda job: actual(job) != value


def page_of(items: list[Any], size: int, token: str) -> tuple[list[Any], str]:
    """The page of `items` that `token` starts (`size` 0: the default size), and the next one's token."""
    size = min(size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    offset = 0
    if token:
        try:
            offset = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("offset:"))
        except ValueError as error:
            raise invalid(f"invalid page_token: {token!r}") from error
    following = base64.urlsafe_b64encode(f"offset:{offset + size}".encode()).decode()
    return items[offset : offset + size], following if offset + size < len(items) else ""


# -- the service ----------------------------------------------------------------------------------


def check_runnable(job: HyperparameterTuningJob, state_dir: Path) -> None:
    """Raise INVALID_ARGUMENT for a job the emulator cannot run, naming the field."""
    # Vertex AI's rules first (the rule book `validate` applies too), then this machine's limits.
    printed = json_format.MessageToDict(
        HyperparameterTuningJob.pb(job), preserving_proto_field_name=True, use_integers_for_enums=False
    )
    for field, message in job_rules.job_problems(printed):
        raise invalid(f"hyperparameter_tuning_job.{field}: {message}")
    for field, why in fidelity.refused(job):
        raise invalid(f"hyperparameter_tuning_job.{field}: not emulated here: {why}")
    problem = local_limit_problem(job, state_dir)
    if problem:
        raise invalid(problem)
    # What the rule book leaves to this machine: the pools it runs, and grids it can enumerate.
    pools = job.trial_job_spec.worker_pool_specs
    where = "hyperparameter_tuning_job.trial_job_spec.worker_pool_specs"
    for index, pool in enumerate(pools):
        used = index == 0 or pool.replica_count > 0
        if used and index >= 2:
            raise invalid(
                f"{where}[{index}]: parameter servers and evaluators (pools 2 and 3) are not run "
                "locally; the local backend runs a chief (pool 0) and workers (pool 1)"
            )
        if used and "container_spec" not in pool:
            raise invalid(
                f"{where}[{index}].container_spec: required locally (python_package_spec is not supported)"
            )
    if job.study_spec.algorithm == StudySpec.Algorithm.GRID_SEARCH:
        for path, parameter in parameter_specs(job.study_spec.parameters, "study_spec.parameters"):
            if "double_value_spec" in parameter:
                raise invalid(
                    f"hyperparameter_tuning_job.{path}: GRID_SEARCH needs integer, discrete or categorical "
                    "parameters"
                )


class JobService:
    """The methods, as plain functions of the request; the server wraps them into handlers."""

    def __init__(self, store: Store, scheduler: Scheduler) -> None:
        self.store = store
        self.scheduler = scheduler
        self._operations: dict[str, operations_pb2.Operation] = {}
        self._lock = threading.Lock()

    def _job(self, name: str) -> HyperparameterTuningJob:
        parsed = parse_job_name(name)
        if parsed is None or not parsed.id.isdigit():  # the emulator numbers its jobs
            raise invalid(f"invalid job name: {name!r}")
        job = self.store.job(name)
        if job is None:
            raise RpcFailure(grpc.StatusCode.NOT_FOUND, f"HyperparameterTuningJob {name} not found")
        return job

    def create(self, request: CreateHyperparameterTuningJobRequest) -> HyperparameterTuningJob:
        check_parent(request.parent)
        check_runnable(request.hyperparameter_tuning_job, self.store.path.parent)
        job = self.store.create_job(request.parent, request.hyperparameter_tuning_job)
        self.scheduler.start(job.name)
        return job

    def get(self, request: GetHyperparameterTuningJobRequest) -> HyperparameterTuningJob:
        return self._job(request.name)

    def list(self, request: ListHyperparameterTuningJobsRequest) -> ListHyperparameterTuningJobsResponse:
        if not is_parent(request.parent):
            raise invalid(f"parent: invalid {request.parent!r}")
        if request.page_size < 0:
            raise invalid("page_size: must not be negative")
        predicates = parse_filter(request.filter)
        matching = [job for job in self.store.jobs(request.parent) if all(p(job) for p in predicates)]
        page, token = page_of(matching, request.page_size, request.page_token)
        return ListHyperparameterTuningJobsResponse(hyperparameter_tuning_jobs=page, next_page_token=token)

    def cancel(self, request: CancelHyperparameterTuningJobRequest) -> empty_pb2.Empty:
        job = self._job(request.name)
        if job.state not in UNFINISHED:
            raise RpcFailure(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"cannot cancel {job.name}: it is already {job.state.name}",
            )
        if job.state != JobState.JOB_STATE_CANCELLING:
            job.state = JobState.JOB_STATE_CANCELLING
            self.store.save_job(job)
        self.scheduler.cancel(job.name)
        return empty_pb2.Empty()

    def delete(self, request: DeleteHyperparameterTuningJobRequest) -> operations_pb2.Operation:
        job = self._job(request.name)
        if job.state in UNFINISHED:
            raise RpcFailure(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"cannot delete {job.name} while it is {job.state.name}; cancel it first",
            )
        self.store.delete_job(job.name)
        delete_study(self.store.path.parent, job.name)
        operation = done_operation(
            f"{job.name}/operations/delete", DeleteOperationMetadata, empty_pb2.Empty()
        )
        with self._lock:
            self._operations[operation.name] = operation
        return operation

    def info(self, request: empty_pb2.Empty) -> struct_pb2.Struct:
        info = struct_pb2.Struct()
        info.update({"state_dir": str(self.store.path.parent)})
        return info

    def get_operation(self, request: operations_pb2.GetOperationRequest) -> operations_pb2.Operation:
        with self._lock:
            operation = self._operations.get(request.name)
        if operation is None:
            raise RpcFailure(grpc.StatusCode.NOT_FOUND, f"operation {request.name} not found")
        return operation


def done_operation(name: str, metadata_type: Any, response: Any) -> operations_pb2.Operation:
    """A long-running operation already done: `metadata_type` stamped now, and `response` (protobuf)."""
    stamp = now()
    metadata = metadata_type(generic_metadata=GenericOperationMetadata(create_time=stamp, update_time=stamp))
    operation = operations_pb2.Operation(name=name, done=True)
    operation.metadata.Pack(metadata_type.pb(metadata))
    operation.response.Pack(response)
    return operation


def service_handler(
    name: str, methods: dict[str, tuple[Callable[[Any], Any], Any]]
) -> grpc.GenericRpcHandler:
    """The handler of service `name`: each method (a plain function of its request, and the request's
    message class) reads the request off the wire and writes the function's answer back, or ends the
    call with an `RpcFailure`'s status. Messages are proto-plus (`aiplatform_v1`) or protobuf's own."""

    def unary(function: Callable[[Any], Any], request_type: Any) -> grpc.RpcMethodHandler:
        def handle(request: Any, context: grpc.ServicerContext) -> Any:
            try:
                return function(request)
            except RpcFailure as failure:
                context.abort(failure.code, str(failure))

        return grpc.unary_unary_rpc_method_handler(
            handle,
            request_deserializer=getattr(request_type, "deserialize", None) or request_type.FromString,
            response_serializer=_serialized,
        )

    return grpc.method_handlers_generic_handler(
        name, {method: unary(function, request_type) for method, (function, request_type) in methods.items()}
    )


def _serialized(reply: Any) -> bytes:
    return type(reply).serialize(reply) if hasattr(type(reply), "serialize") else reply.SerializeToString()


def handlers(service: JobService) -> list[grpc.GenericRpcHandler]:
    """The JobService's methods, the GetOperation a Delete's operation is read back with, GetInfo."""
    methods = {
        "CreateHyperparameterTuningJob": (service.create, CreateHyperparameterTuningJobRequest),
        "GetHyperparameterTuningJob": (service.get, GetHyperparameterTuningJobRequest),
        "ListHyperparameterTuningJobs": (service.list, ListHyperparameterTuningJobsRequest),
        "CancelHyperparameterTuningJob": (service.cancel, CancelHyperparameterTuningJobRequest),
        "DeleteHyperparameterTuningJob": (service.delete, DeleteHyperparameterTuningJobRequest),
    }
    return [
        service_handler(SERVICE, methods),
        service_handler(
            OPERATIONS_SERVICE, {"GetOperation": (service.get_operation, operations_pb2.GetOperationRequest)}
        ),
        service_handler(INFO_SERVICE, {INFO_METHOD: (service.info, empty_pb2.Empty)}),
    ]


def serve(
    services: Sequence[grpc.GenericRpcHandler], host: str = "127.0.0.1", port: int = 0
) -> tuple[grpc.Server, int]:
    """Start a gRPC server for `services`; the server and the port it listens on."""
    # No SO_REUSEPORT (gRPC sets it by default on Linux): a second emulator on the same port must
    # fail to bind, not share it and hand out the same job ids twice.
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="emulator-rpc"),
        options=[("grpc.so_reuseport", 0)],
    )
    server.add_generic_rpc_handlers(services)
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError as error:  # grpc's answer to a port it cannot bind (it never returns 0)
        raise OSError(f"cannot listen on {host}:{port}") from error
    server.start()
    return server, bound

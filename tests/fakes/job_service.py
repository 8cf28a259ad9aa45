"""A fake Vertex AI JobService (hyperparameter tuning jobs) on a real gRPC server on loopback.

It serves the real `google.cloud.aiplatform.v1.JobService` wire protocol with generic handlers,
so the real GAPIC `JobServiceClient` talks to it unchanged (through VERTEX_AI_EMULATOR_HOST or
an injected channel). It keeps jobs in memory, records every request (message and raw bytes),
plays each created job through a scripted lifecycle, one step per Get, and injects faults:

    with FakeJobService() as fake:              # fake.address == "127.0.0.1:PORT"
        fake.script = Script(trials=[...], state=JobState.JOB_STATE_SUCCEEDED)
        fake.fail("CreateHyperparameterTuningJob", Fault(grpc.StatusCode.UNAVAILABLE, applied=True))
        ...
        assert fake.count("CreateHyperparameterTuningJob") == 2 and len(fake.jobs) == 1

A fault with `applied=True` lets the call take effect and then fails it: the reply is lost, as
when a connection drops after the server committed the create.
"""

from __future__ import annotations

import collections
import datetime as dt
import re
import threading
import time
from concurrent import futures
from dataclasses import dataclass, field

import grpc
from google.cloud.aiplatform_v1 import (
    CancelHyperparameterTuningJobRequest,
    CreateHyperparameterTuningJobRequest,
    GetHyperparameterTuningJobRequest,
    HyperparameterTuningJob,
    JobState,
    ListHyperparameterTuningJobsRequest,
    ListHyperparameterTuningJobsResponse,
    Measurement,
    Trial,
)
from google.protobuf import any_pb2, empty_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from scripts.emulator.server import RpcFailure, parse_filter

SERVICE = "google.cloud.aiplatform.v1.JobService"
BASE_TIME = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
STEP = dt.timedelta(minutes=1)

_PARENT = re.compile(r"^projects/[^/]+/locations/[^/]+$")


@dataclass
class Fault:
    """Fail one call with `code`; with `applied`, only after the call took effect."""

    code: grpc.StatusCode
    message: str = "injected fault"
    applied: bool = False
    reason: str | None = None  # an ErrorInfo reason in the status details, as Google APIs send


@dataclass
class Script:
    """How a created job plays out: its trials appear one by one, then it ends in `state`."""

    trials: list[Trial] = field(default_factory=list)
    state: JobState = JobState.JOB_STATE_SUCCEEDED
    error: str = ""


def make_trial(
    trial_id: str,
    parameters: dict[str, object],
    value: float | None,
    *,
    metric: str = "accuracy",
    state: Trial.State = Trial.State.SUCCEEDED,
    steps: int = 2,
    reason: str = "",
) -> Trial:
    """A finished trial with per-step measurements and (when `value` is given) a final one."""
    trial = Trial(id=trial_id, state=state, infeasible_reason=reason)
    for key, raw in parameters.items():
        trial.parameters.append(Trial.Parameter(parameter_id=key, value=raw))
    if value is not None:
        for step in range(1, steps + 1):
            trial.measurements.append(
                Measurement(
                    step_count=step,
                    metrics=[Measurement.Metric(metric_id=metric, value=value * step / steps)],
                )
            )
        trial.final_measurement = Measurement(
            step_count=steps, metrics=[Measurement.Metric(metric_id=metric, value=value)]
        )
    return trial


class _Lifecycle:
    """The frames a job goes through; each Get moves it one frame on."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.position = 0
        self.cancelled = False

    def frames(self) -> int:
        return 2 + 2 * len(self.script.trials) + 1

    def apply(self, job: HyperparameterTuningJob) -> None:
        start = BASE_TIME + STEP
        if self.position >= 1:
            job.state = JobState.JOB_STATE_RUNNING
            job.start_time = start
        done, running = divmod(max(0, self.position - 1), 2)
        shown = []
        for index, final in enumerate(self.script.trials[: done + running]):
            trial = Trial(final)
            trial.start_time = start + STEP * (2 * index)
            if index < done:
                trial.end_time = start + STEP * (2 * index + 1)
            else:  # still running: its first measurement, no final one yet
                del trial.final_measurement
                trial.state = Trial.State.ACTIVE
                trial.infeasible_reason = ""
                measurements = list(trial.measurements)[:1]
                del trial.measurements[:]
                trial.measurements.extend(measurements)
            shown.append(trial)
        del job.trials[:]
        job.trials.extend(shown)
        if self.position >= self.frames() - 1 and not self.cancelled:
            job.state = self.script.state
            job.end_time = start + STEP * (2 * len(self.script.trials))
            if self.script.error:
                job.error.code = code_pb2.INTERNAL
                job.error.message = self.script.error


class FakeJobService:
    """The fake service; `start()` (or `with`) serves it and sets `address`."""

    def __init__(self, *, page_size: int = 50) -> None:
        self.jobs: dict[str, HyperparameterTuningJob] = {}
        self.calls: list[tuple[str, object, bytes]] = []
        self.arrivals: list[float] = []  # time.monotonic() of each call, in the order of `calls`
        self.faults: dict[str, collections.deque[Fault]] = collections.defaultdict(collections.deque)
        self.script = Script()
        self.page_size = page_size
        self.address = ""
        self._lifecycles: dict[str, _Lifecycle] = {}
        self._next_id = 1000
        self._lock = threading.Lock()
        self._server: grpc.Server | None = None

    # -- control ------------------------------------------------------------------------------

    def fail(self, method: str, *faults: Fault) -> None:
        """Fail the next calls of `method` (e.g. "CreateHyperparameterTuningJob"), in order."""
        self.faults[method].extend(faults)

    def count(self, method: str) -> int:
        return sum(1 for name, _, _ in self.calls if name == method)

    def requests(self, method: str) -> list:
        return [request for name, request, _ in self.calls if name == method]

    def raw_requests(self, method: str) -> list[bytes]:
        return [raw for name, _, raw in self.calls if name == method]

    def add_job(self, job: HyperparameterTuningJob, script: Script | None = None) -> HyperparameterTuningJob:
        """Put a job in the store as if created earlier (state as given, no lifecycle unless scripted)."""
        with self._lock:
            stored = self._store(job, job.name.rsplit("/", 3)[0] if job.name else "", script)
        return HyperparameterTuningJob(stored)

    # -- server -------------------------------------------------------------------------------

    def start(self) -> str:
        handlers = {
            "CreateHyperparameterTuningJob": self._handler(
                "CreateHyperparameterTuningJob",
                self._create,
                CreateHyperparameterTuningJobRequest,
                HyperparameterTuningJob.serialize,
            ),
            "GetHyperparameterTuningJob": self._handler(
                "GetHyperparameterTuningJob",
                self._get,
                GetHyperparameterTuningJobRequest,
                HyperparameterTuningJob.serialize,
            ),
            "ListHyperparameterTuningJobs": self._handler(
                "ListHyperparameterTuningJobs",
                self._list,
                ListHyperparameterTuningJobsRequest,
                ListHyperparameterTuningJobsResponse.serialize,
            ),
            "CancelHyperparameterTuningJob": self._handler(
                "CancelHyperparameterTuningJob",
                self._cancel,
                CancelHyperparameterTuningJobRequest,
                empty_pb2.Empty.SerializeToString,
            ),
        }
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        self.address = f"127.0.0.1:{port}"
        return self.address

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None)
            self._server = None

    def __enter__(self) -> FakeJobService:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _handler(self, method: str, function, request_type, serializer):
        def deserialize(data: bytes):
            return data, request_type.deserialize(data)

        def handle(pair, context: grpc.ServicerContext):
            raw, request = pair
            with self._lock:
                self.calls.append((method, request, raw))
                self.arrivals.append(time.monotonic())
                fault = self.faults[method].popleft() if self.faults[method] else None
                if fault is not None and not fault.applied:
                    _abort(context, fault)
                response = function(request, context)
                if fault is not None:
                    _abort(context, fault)
                return response

        return grpc.unary_unary_rpc_method_handler(
            handle, request_deserializer=deserialize, response_serializer=serializer
        )

    # -- the JobService methods ---------------------------------------------------------------

    def _store(
        self, job: HyperparameterTuningJob, parent: str, script: Script | None
    ) -> HyperparameterTuningJob:
        stored = HyperparameterTuningJob(job)
        if not stored.name:
            stored.name = f"{parent}/hyperparameterTuningJobs/{self._next_id}"
            self._next_id += 1
        if "create_time" not in stored:
            stored.create_time = BASE_TIME + dt.timedelta(seconds=len(self.jobs))
        self.jobs[stored.name] = stored
        if script is not None:
            self._lifecycles[stored.name] = _Lifecycle(script)
        return stored

    def _create(self, request: CreateHyperparameterTuningJobRequest, context) -> HyperparameterTuningJob:
        job = request.hyperparameter_tuning_job
        problem = _invalid(request)
        if problem:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
        job = HyperparameterTuningJob(job)
        job.state = JobState.JOB_STATE_PENDING
        for output_only in (
            "name",
            "trials",
            "create_time",
            "start_time",
            "end_time",
            "update_time",
            "error",
        ):
            job._pb.ClearField(output_only)
        stored = self._store(job, request.parent, self.script)
        return HyperparameterTuningJob(stored)

    def _get(self, request: GetHyperparameterTuningJobRequest, context) -> HyperparameterTuningJob:
        job = self.jobs.get(request.name)
        if job is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"HyperparameterTuningJob {request.name} not found.")
        lifecycle = self._lifecycles.get(request.name)
        if lifecycle is not None and job.state.name not in _ENDED:
            lifecycle.position += 1
            if lifecycle.cancelled:
                job.state = JobState.JOB_STATE_CANCELLED
                job.end_time = BASE_TIME + STEP * lifecycle.position
                job.error.code = code_pb2.CANCELLED
                job.error.message = "CANCELED"
            else:
                lifecycle.apply(job)
        return HyperparameterTuningJob(job)

    def _list(
        self, request: ListHyperparameterTuningJobsRequest, context
    ) -> ListHyperparameterTuningJobsResponse:
        # The emulator's reading of AIP-160 (labels, state, display_name; AND, OR, parentheses):
        # what the fake accepts is what the local backend accepts.
        try:
            predicates = parse_filter(request.filter)
        except RpcFailure as failure:
            context.abort(failure.code, f"Unsupported filter: {failure}")
        found = [
            job
            for name, job in sorted(self.jobs.items())
            if name.startswith(request.parent + "/") and all(predicate(job) for predicate in predicates)
        ]
        offset = int(request.page_token or 0)
        size = request.page_size or self.page_size
        page = found[offset : offset + size]
        following = str(offset + size) if offset + size < len(found) else ""
        return ListHyperparameterTuningJobsResponse(
            hyperparameter_tuning_jobs=[HyperparameterTuningJob(job) for job in page],
            next_page_token=following,
        )

    def _cancel(self, request: CancelHyperparameterTuningJobRequest, context) -> empty_pb2.Empty:
        job = self.jobs.get(request.name)
        if job is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"HyperparameterTuningJob {request.name} not found.")
        if job.state.name in _ENDED:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"Job {request.name} has already ended.")
        job.state = JobState.JOB_STATE_CANCELLING
        lifecycle = self._lifecycles.setdefault(request.name, _Lifecycle(Script()))
        lifecycle.cancelled = True
        return empty_pb2.Empty()


_ENDED = {"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"}


def _invalid(request: CreateHyperparameterTuningJobRequest) -> str:
    """What Vertex would reject in a create request (a useful subset of its checks), or ''."""
    job = request.hyperparameter_tuning_job
    if not _PARENT.match(request.parent):
        return f"Invalid parent: {request.parent!r}."
    if not job.display_name:
        return "HyperparameterTuningJob.display_name must be set."
    if not job.study_spec.metrics:
        return "HyperparameterTuningJob.study_spec.metrics must be set."
    if not job.study_spec.parameters:
        return "HyperparameterTuningJob.study_spec.parameters must be set."
    if job.max_trial_count <= 0:
        return "HyperparameterTuningJob.max_trial_count must be positive."
    if not job.trial_job_spec.worker_pool_specs:
        return "HyperparameterTuningJob.trial_job_spec.worker_pool_specs must be set."
    return ""


def _abort(context: grpc.ServicerContext, fault: Fault) -> None:
    if fault.reason is None:
        context.abort(fault.code, fault.message)
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=fault.reason, domain="googleapis.com"))
    status = status_pb2.Status(code=fault.code.value[0], message=fault.message, details=[info])
    context.abort_with_status(rpc_status.to_status(status))

"""Which Vertex AI a command talks to, chosen once and passed down: Google's or an emulator.

    backend = Backend.from_environment(env)       # the one place that reads the emulator variable
    client = backend.job_service_client("us-central1")
    models = backend.model_service_client("us-central1")     # the Model Registry, for `promote`
    backend.console_url(job.name)                 # None for an emulator: it has no console
    backend.trial_outputs(prefix)                 # gs://... on Vertex; the emulator's own directory

Like Google's other emulators, `VERTEX_AI_EMULATOR_HOST=host:port` sends every JobService (and
ModelService) call to that address over an insecure channel, with no credentials; Vertex AI is
`{location}-aiplatform.googleapis.com` with Application Default Credentials (what
google-github-actions/auth sets up in a workflow). The CLI builds the backend once, from its
snapshot of the environment (`scripts.wiring`), and hands it down.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from scripts.cloudbuild.registry import REGISTRY_URL_ENV
from scripts.emulator.contract import (
    EMULATOR_HOST_ENV,
    INFO_METHOD,
    INFO_SERVICE,
    emulator_client,
    output_directory,
    run_directory,
)
from scripts.errors import UserError
from scripts.jobs.names import custom_job_console_url, job_id, parse_job_name
from scripts.paths import REPO_ROOT
from scripts.paths import state_dir as local_state_dir
from scripts.results.summary import Where

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob, JobServiceClient, ModelServiceClient

Client = TypeVar("Client")

# Seconds to wait for an emulator to say where its state directory is.
INFO_TIMEOUT = 5.0


@dataclass(frozen=True)
class Backend:
    """Vertex AI (`emulator=None`, Application Default Credentials) or the emulator at `host:port`.

    `emulator_state_dir` is the emulator's state directory when the caller knows it (it started
    the emulator); otherwise it is asked of the emulator on first use. `local_state_dir` is this
    machine's (`$HPT_STATE_DIR`, where a Vertex AI job's summary files go); `registry_url` the
    Docker registry API images are looked up in (`$HPT_REGISTRY_URL`; None: Artifact Registry).
    """

    emulator: str | None = None
    emulator_state_dir: Path | None = field(default=None, compare=False)
    local_state_dir: Path = field(default=REPO_ROOT / ".hpt", compare=False)
    registry_url: str | None = field(default=None, compare=False)

    @classmethod
    def vertex(cls) -> Backend:
        return cls()

    @classmethod
    def emulator_at(cls, address: str, state_dir: Path | None = None) -> Backend:
        return cls(emulator=address, emulator_state_dir=state_dir)

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Backend:
        """The emulator at `$VERTEX_AI_EMULATOR_HOST` when it is set, else Vertex AI."""
        return cls(
            emulator=env.get(EMULATOR_HOST_ENV) or None,
            local_state_dir=local_state_dir(env),
            registry_url=env.get(REGISTRY_URL_ENV) or None,
        )

    # -- what it is ----------------------------------------------------------------------------

    @property
    def is_emulator(self) -> bool:
        return self.emulator is not None

    @property
    def name(self) -> str:
        """`local` or `vertex`, as summaries record it."""
        return "local" if self.is_emulator else "vertex"

    def describe(self) -> str:
        return f"emulator at {self.emulator}" if self.is_emulator else "Vertex AI"

    # -- the clients ---------------------------------------------------------------------------

    def job_service_client(self, location: str) -> JobServiceClient:
        """A GAPIC `JobServiceClient`: the emulator's channel, or `location`'s regional endpoint."""
        # The Vertex AI client and grpc (about 1.5 s): only a command that calls the service loads them.
        from google.cloud.aiplatform_v1 import JobServiceClient

        return self._client(JobServiceClient, location)

    def model_service_client(self, location: str) -> ModelServiceClient:
        """A GAPIC `ModelServiceClient` (a model lives in its job's region), reached as the jobs are."""
        from google.cloud.aiplatform_v1 import ModelServiceClient  # as in job_service_client

        return self._client(ModelServiceClient, location)

    def _client(self, client_class: type[Client], location: str) -> Client:
        """The emulator's channel, or `location`'s regional endpoint with Application Default
        Credentials; a clear error when there are none."""
        # grpc, google-auth and api_core: only a command that calls the service loads them.
        import google.auth.exceptions
        from google.api_core.client_options import ClientOptions

        if self.emulator:
            return emulator_client(client_class, self.emulator)
        try:
            return client_class(client_options=ClientOptions(api_endpoint=api_endpoint(location)))
        except google.auth.exceptions.DefaultCredentialsError as error:
            raise UserError(
                "no Google Cloud credentials: run `gcloud auth application-default login` locally, or add "
                "google-github-actions/auth to the workflow; or use the local emulator (`--backend local`)"
                f" ({' '.join(str(error).split())[:200]})"
            ) from None

    # -- where to look -------------------------------------------------------------------------

    def console_url(self, job_name: str) -> str | None:
        """The job's Google Cloud console page; None for an emulator's job or a name of another shape."""
        parsed = parse_job_name(job_name)
        return parsed.console_url if parsed and not self.is_emulator else None

    def trial_console_url(self, custom_job: str) -> str | None:
        """The console page of the custom job a trial ran as (Vertex AI only)."""
        return None if self.is_emulator else custom_job_console_url(custom_job)

    @functools.cached_property
    def state_dir(self) -> Path | None:
        """The emulator's state directory (None on Vertex AI, or when the emulator cannot say)."""
        if not self.is_emulator:
            return None
        if self.emulator_state_dir is not None:
            return self.emulator_state_dir
        return _ask_state_dir(self.emulator)

    def trial_outputs(self, output_uri_prefix: str) -> str:
        """Where the trials' base output directory is: as sent on Vertex AI; on disk for an emulator."""
        if not output_uri_prefix or not self.is_emulator:
            return output_uri_prefix
        if self.state_dir is None:
            return ""  # an emulator that does not say where it keeps its files: nothing to point at
        return str(output_directory(output_uri_prefix, self.state_dir))

    def where(self, job: HyperparameterTuningJob) -> Where:
        """Where `job` ran and where to look at it, as the values a summary takes: the results are
        handed these and never call back up into the backend."""
        consoles = {t.custom_job: self.trial_console_url(t.custom_job) for t in job.trials if t.custom_job}
        return Where(
            name=self.name,
            local_state_dir=self.local_state_dir,
            console_url=self.console_url(job.name),
            trial_outputs=self.trial_outputs(job.trial_job_spec.base_output_directory.output_uri_prefix),
            trial_console_urls={custom_job: url for custom_job, url in consoles.items() if url},
        )

    def run_dir(self, job_name: str) -> Path:
        """Where a run's summary files go: under the emulator's state directory for its jobs (this
        machine's when the emulator cannot say), under this machine's for Vertex AI jobs."""
        root = (self.state_dir if self.is_emulator else None) or self.local_state_dir
        return run_directory(root, job_id(job_name))

    def linked_run_dir(self, job_name: str) -> Path | None:
        """The run directory a report links: an emulator job's, once its summary was written there."""
        if not self.is_emulator:
            return None
        directory = self.run_dir(job_name)
        return directory if directory.is_dir() else None


def api_endpoint(location: str) -> str:
    """The Vertex AI endpoint for a location: jobs live in a region, never in `global`."""
    if not location or location == "global":
        raise UserError(
            f"tuning jobs run in a region, not {location or 'an empty location'!r}: set the experiment's "
            "`location` (or GOOGLE_CLOUD_REGION) to a region such as us-central1"
        )
    return f"{location}-aiplatform.googleapis.com"


def _ask_state_dir(address: str) -> Path | None:
    """The emulator's own answer to where its state directory is; None if it gives none."""
    # grpc (about 0.2 s): only an emulator whose state directory is not known is asked.
    import grpc
    from google.protobuf import empty_pb2, struct_pb2

    with grpc.insecure_channel(address) as channel:
        call = channel.unary_unary(
            f"/{INFO_SERVICE}/{INFO_METHOD}",
            request_serializer=empty_pb2.Empty.SerializeToString,
            response_deserializer=struct_pb2.Struct.FromString,
        )
        try:
            info = call(empty_pb2.Empty(), timeout=INFO_TIMEOUT)
        except grpc.RpcError:
            return None
    value = info.fields.get("state_dir")
    return Path(value.string_value) if value is not None and value.string_value else None

"""The GAPIC `JobServiceClient`, for Vertex AI's regional endpoint or for an emulator's address.

Which of the two a command uses is its `Backend`'s choice (`scripts.vertex.backend`); this
module only builds them. An emulator needs no credentials and is reached over an insecure
channel; Vertex AI uses `{location}-aiplatform.googleapis.com` with Application Default
Credentials (what google-github-actions/auth sets up in a workflow).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from scripts.errors import UserError

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import JobServiceClient

Client = TypeVar("Client")


def api_endpoint(location: str) -> str:
    """The JobService endpoint for a location: jobs live in a region, never in `global`."""
    if not location or location == "global":
        raise UserError(
            f"tuning jobs run in a region, not {location or 'an empty location'!r}: set the experiment's "
            "`location` (or GOOGLE_CLOUD_REGION) to a region such as us-central1"
        )
    return f"{location}-aiplatform.googleapis.com"


def emulator_client(address: str) -> JobServiceClient:
    """A client whose every call goes to the emulator at `host:port`."""
    # grpc and the Vertex AI client (about 1.5 s): only a command that calls the service loads them.
    import grpc
    from google.cloud.aiplatform_v1 import JobServiceClient
    from google.cloud.aiplatform_v1.services.job_service.transports import JobServiceGrpcTransport

    return JobServiceClient(transport=JobServiceGrpcTransport(channel=grpc.insecure_channel(address)))


def vertex_client(location: str) -> JobServiceClient:
    """A JobService client for `location`'s regional endpoint, with Application Default Credentials."""
    from google.cloud.aiplatform_v1 import JobServiceClient  # as in emulator_client

    return regional_client(JobServiceClient, location)


def regional_client(client_class: type[Client], location: str) -> Client:
    """A Vertex AI GAPIC client (JobService, ModelService, ...) for `location`'s regional endpoint,
    with Application Default Credentials; a clear error when there are none."""
    # google-auth and api_core: only a command that calls Vertex AI loads them.
    import google.auth.exceptions
    from google.api_core.client_options import ClientOptions

    try:
        return client_class(client_options=ClientOptions(api_endpoint=api_endpoint(location)))
    except google.auth.exceptions.DefaultCredentialsError as error:
        raise UserError(
            "no Google Cloud credentials: run `gcloud auth application-default login` locally, or add "
            "google-github-actions/auth to the workflow; or use the local emulator (`--backend local`)"
            f" ({' '.join(str(error).split())[:200]})"
        ) from None

"""The JobService client: Vertex AI's regional endpoint, or an emulator on `VERTEX_AI_EMULATOR_HOST`.

As with Google's other emulators, `VERTEX_AI_EMULATOR_HOST=host:port` sends every call to that
address over an insecure channel and needs no credentials. Otherwise the client uses the
regional endpoint `{location}-aiplatform.googleapis.com` and Application Default Credentials
(what google-github-actions/auth sets up in a workflow).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from scripts.cli import UserError

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import JobServiceClient

EMULATOR_HOST_ENV = "VERTEX_AI_EMULATOR_HOST"


def emulator_host() -> str | None:
    """The emulator's `host:port`, or None when calls go to Vertex AI."""
    return os.environ.get(EMULATOR_HOST_ENV) or None


def api_endpoint(location: str) -> str:
    """The JobService endpoint for a location: jobs live in a region, never in `global`."""
    if not location or location == "global":
        raise UserError(
            f"tuning jobs run in a region, not {location or 'an empty location'!r}: set the experiment's "
            "`location` (or GOOGLE_CLOUD_REGION) to a region such as us-central1"
        )
    return f"{location}-aiplatform.googleapis.com"


def job_service_client(location: str) -> JobServiceClient:
    """A GAPIC `JobServiceClient` for `location` (or for the emulator, when one is set)."""
    from google.cloud.aiplatform_v1 import JobServiceClient

    address = emulator_host()
    if address:
        import grpc
        from google.cloud.aiplatform_v1.services.job_service.transports import JobServiceGrpcTransport

        channel = grpc.insecure_channel(address)
        return JobServiceClient(transport=JobServiceGrpcTransport(channel=channel))

    import google.auth.exceptions
    from google.api_core.client_options import ClientOptions

    try:
        return JobServiceClient(client_options=ClientOptions(api_endpoint=api_endpoint(location)))
    except google.auth.exceptions.DefaultCredentialsError as error:
        raise UserError(
            "no Google Cloud credentials: run `gcloud auth application-default login` locally, or add "
            "google-github-actions/auth to the workflow; or set VERTEX_AI_EMULATOR_HOST to use an emulator"
            f" ({' '.join(str(error).split())[:200]})"
        ) from None

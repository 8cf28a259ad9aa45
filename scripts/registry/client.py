"""The GAPIC `ModelServiceClient`, built the way `scripts.vertex.client` builds the JobService's.

An emulator's address (the backend's `VERTEX_AI_EMULATOR_HOST`, or the one `--backend local`
started) gets an insecure channel and no credentials; Vertex AI gets the job's regional endpoint,
`{location}-aiplatform.googleapis.com`, with Application Default Credentials.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scripts.errors import UserError

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import ModelServiceClient

    from scripts.vertex.backend import Backend


def model_service_client(backend: Backend, location: str) -> ModelServiceClient:
    """A client for the backend's Model Registry in `location` (a model lives in its job's region)."""
    from google.cloud.aiplatform_v1 import ModelServiceClient

    if backend.emulator:
        import grpc
        from google.cloud.aiplatform_v1.services.model_service.transports import ModelServiceGrpcTransport

        channel = grpc.insecure_channel(backend.emulator)
        return ModelServiceClient(transport=ModelServiceGrpcTransport(channel=channel))

    import google.auth.exceptions
    from google.api_core.client_options import ClientOptions

    from scripts.vertex.client import api_endpoint

    try:
        return ModelServiceClient(client_options=ClientOptions(api_endpoint=api_endpoint(location)))
    except google.auth.exceptions.DefaultCredentialsError as error:
        raise UserError(
            "no Google Cloud credentials: run `gcloud auth application-default login` locally, or add "
            "google-github-actions/auth to the workflow; or use the local emulator (`--backend local`)"
            f" ({' '.join(str(error).split())[:200]})"
        ) from None

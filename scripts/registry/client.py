"""The GAPIC `ModelServiceClient`, built the way `scripts.vertex.client` builds the JobService's.

An emulator's address (the backend's `VERTEX_AI_EMULATOR_HOST`, or the one `--backend local`
started) gets an insecure channel and no credentials; Vertex AI gets the job's regional endpoint,
`{location}-aiplatform.googleapis.com`, with Application Default Credentials.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scripts.vertex.client import regional_client

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import ModelServiceClient

    from scripts.vertex.backend import Backend


def model_service_client(backend: Backend, location: str) -> ModelServiceClient:
    """A client for the backend's Model Registry in `location` (a model lives in its job's region)."""
    # aiplatform_v1 and grpc (1 s): only when a promotion calls, not at `github command`'s start
    import grpc
    from google.cloud.aiplatform_v1 import ModelServiceClient

    if backend.emulator:
        channel = grpc.insecure_channel(backend.emulator)
        return ModelServiceClient(transport=ModelServiceClient.get_transport_class("grpc")(channel=channel))
    return regional_client(ModelServiceClient, location)

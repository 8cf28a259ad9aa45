"""The emulator's Model Registry, through the real GAPIC `ModelServiceClient`."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from google.api_core import exceptions
from google.cloud.aiplatform_v1 import (
    Model,
    ModelContainerSpec,
    ModelServiceClient,
    UploadModelRequest,
)
from google.cloud.aiplatform_v1.services.model_service.transports import ModelServiceGrpcTransport

from scripts.emulator.embedded import running_emulator
from tests.scripts.emulator.conftest import PARENT

MODEL = f"{PARENT}/models/cnn"
ARTIFACTS = "gs://bucket/cnn/1/model"


class CallRecorder(grpc.UnaryUnaryClientInterceptor):
    """The methods a client called, in order."""

    def __init__(self) -> None:
        self.methods: list[str] = []

    def intercept_unary_unary(self, continuation, details, request):
        self.methods.append(details.method)
        return continuation(details, request)


@pytest.fixture
def state_dir(tmp_path) -> Path:
    directory = tmp_path / "state"
    model = directory / "gcs" / "bucket" / "cnn" / "1" / "model"
    model.mkdir(parents=True)
    (model / "saved_model.pb").write_bytes(b"model")
    return directory


@pytest.fixture
def calls() -> CallRecorder:
    return CallRecorder()


@pytest.fixture
def client(state_dir, calls):
    with running_emulator(state_dir, resume=False) as address:
        channel = grpc.intercept_channel(grpc.insecure_channel(address), calls)
        yield ModelServiceClient(transport=ModelServiceGrpcTransport(channel=channel))


def model(**fields) -> Model:
    values = {
        "display_name": "cnn",
        "artifact_uri": ARTIFACTS,
        "container_spec": ModelContainerSpec(
            image_uri="us-docker.pkg.dev/vertex-ai/prediction/tf2-cpu.2-15:latest"
        ),
        "labels": {"hpt-job": "1", "hpt-trial": "2"},
        **fields,
    }
    return Model(**values)


def upload(client: ModelServiceClient, first: bool = False, **fields):
    request = UploadModelRequest(parent=PARENT, model=model(**fields))
    if first:
        request.model_id = "cnn"
    else:
        request.parent_model = MODEL
    return client.upload_model(request=request).result(timeout=10)


def test_versions_count_up_and_the_first_holds_the_default_alias(client, calls):
    first = upload(client, first=True)
    assert (first.model, first.model_version_id) == (MODEL, "1")
    # The operation came back done: result() asked no Operations service.
    assert calls.methods == ["/google.cloud.aiplatform.v1.ModelService/UploadModel"]

    second = upload(client, labels={"hpt-job": "2", "hpt-trial": "1"})
    assert second.model_version_id == "2"
    versions = list(client.list_model_versions(name=MODEL))
    assert [(v.name, v.version_id, list(v.version_aliases)) for v in versions] == [
        (MODEL, "1", ["default"]),
        (MODEL, "2", []),
    ]
    assert client.get_model(name=MODEL).version_id == "1"
    assert client.get_model(name=f"{MODEL}@2").labels["hpt-job"] == "2"
    assert "version_create_time" in versions[1] and versions[1].create_time == versions[0].create_time

    found = list(
        client.list_model_versions(
            request={"name": MODEL, "filter": 'labels.hpt-job="2" AND labels.hpt-trial="1"'}
        )
    )
    assert [v.version_id for v in found] == ["2"]


def test_an_alias_moves_to_the_version_that_takes_it_and_default_is_never_lost(client):
    upload(client, first=True, version_aliases=["production"])
    upload(client, version_aliases=["production"])
    assert client.get_model(name=f"{MODEL}@production").version_id == "2"
    assert list(client.get_model(name=f"{MODEL}@1").version_aliases) == ["default"]

    merged = client.merge_version_aliases(name=f"{MODEL}@2", version_aliases=["default", "-production"])
    assert list(merged.version_aliases) == ["default"]
    assert list(client.get_model(name=f"{MODEL}@1").version_aliases) == []
    with pytest.raises(exceptions.InvalidArgument, match="the default alias cannot be removed"):
        client.merge_version_aliases(name=f"{MODEL}@2", version_aliases=["-default"])
    with pytest.raises(exceptions.NotFound, match="no version or alias 'production'"):
        client.get_model(name=f"{MODEL}@production")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"display_name": ""}, "model.display_name: required"),
        ({"container_spec": ModelContainerSpec()}, "model.container_spec.image_uri: required"),
        ({"artifact_uri": "/tmp/model"}, "model.artifact_uri: '/tmp/model' is not a gs:// URI"),
        (
            {"artifact_uri": "gs://bucket/cnn/9/model"},
            "model.artifact_uri: no files under gs://bucket/cnn/9/model",
        ),
        ({"version_aliases": ["7"]}, r"model.version_aliases\[0\]: version alias '7' must be"),
        ({"labels": {"Bad": "x"}}, r"model.labels\['Bad'\]: label key 'Bad' must be"),
    ],
)
def test_a_model_vertex_would_refuse_is_invalid_argument_naming_the_field(client, fields, message):
    with pytest.raises(exceptions.InvalidArgument, match=message):
        upload(client, first=True, **fields)
    with pytest.raises(exceptions.NotFound):
        list(client.list_model_versions(name=MODEL))


def test_ids_and_parents_are_checked(client):
    with pytest.raises(exceptions.NotFound, match="parent_model"):
        upload(client)  # a version of a model that does not exist
    upload(client, first=True)
    with pytest.raises(exceptions.AlreadyExists, match=f"Model {MODEL} already exists"):
        upload(client, first=True)
    request = UploadModelRequest(parent=PARENT, model_id="1cnn", model=model())
    with pytest.raises(exceptions.InvalidArgument, match="model_id: '1cnn' must be"):
        client.upload_model(request=request)
    with pytest.raises(exceptions.InvalidArgument, match="a model has no state"):
        list(client.list_model_versions(request={"name": MODEL, "filter": 'state="JOB_STATE_RUNNING"'}))


def test_models_outlive_a_restart(state_dir):
    for expected in ("1", "2"):
        with running_emulator(state_dir, resume=False) as address:
            client = ModelServiceClient(
                transport=ModelServiceGrpcTransport(channel=grpc.insecure_channel(address))
            )
            assert upload(client, first=expected == "1").model_version_id == expected
    with running_emulator(state_dir, resume=False) as address:
        client = ModelServiceClient(
            transport=ModelServiceGrpcTransport(channel=grpc.insecure_channel(address))
        )
        assert [v.version_id for v in client.list_model_versions(name=MODEL)] == ["1", "2"]

"""A promotion whose calls fail transiently is retried like every JobService call: one line per
retry naming the call under way, the policy's attempts, then the one-line error of the last."""

from __future__ import annotations

import socket
import time
from types import SimpleNamespace

import grpc
import pytest
from google.api_core.retry import retry_unary
from google.cloud.aiplatform_v1 import Model, ModelServiceClient
from google.cloud.aiplatform_v1.services.model_service.transports import ModelServiceGrpcTransport

from scripts.errors import UserError
from scripts.registry import names
from scripts.registry.promotion import Promotion, promote
from scripts.vertex.calls import RetryPolicy

JOB = "projects/demo-project/locations/us-central1/hyperparameterTuningJobs/7"


def test_a_registry_that_does_not_answer_is_retried_then_named_in_one_line(monkeypatch):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    client = ModelServiceClient(transport=ModelServiceGrpcTransport(channel=grpc.insecure_channel(address)))
    promotion = Promotion(
        job=JOB,
        trial_id="3",
        metric="accuracy",
        value=0.9,
        model_name="projects/demo-project/locations/us-central1/models/cnn",
        model=Model(labels={names.JOB: "7", names.TRIAL: "3"}),
    )
    lines, waits = [], []
    # api_core's Retry waits with its own module's `time.sleep`: recorded here instead of waited.
    monkeypatch.setattr(retry_unary, "time", SimpleNamespace(sleep=waits.append, monotonic=time.monotonic))
    policy = RetryPolicy(notify=lines.append)

    with pytest.raises(UserError) as raised:
        promote(client, promotion, policy=policy, emulator=address)

    assert len(lines) == len(waits) == policy.max_attempts - 1
    assert all(line.startswith("retrying ListModelVersions (UNAVAILABLE: ") for line in lines), lines
    assert lines[-1].endswith(f"attempt {policy.max_attempts} of {policy.max_attempts})")
    expected = f"ListModelVersions for trial 3 of {JOB}: nothing answers at the emulator address {address}"
    assert str(raised.value).startswith(expected)

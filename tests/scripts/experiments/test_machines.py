"""The checked-in accelerator list and attachment rules."""

from __future__ import annotations

from google.cloud.aiplatform_v1 import AcceleratorType

from scripts.experiments.machines import ACCELERATOR_TYPES, accelerator_problem


def test_the_accelerator_list_equals_the_api_enum():
    # validate must not import google.cloud, so it keeps a copy; this keeps the copy honest.
    assert set(ACCELERATOR_TYPES) == {item.name for item in AcceleratorType if item.value != 0}


def test_attachment_rules():
    assert accelerator_problem("n1-standard-4", "NVIDIA_TESLA_V100", 2) is None
    assert accelerator_problem("n1-standard-4", None, 0) is None
    assert accelerator_problem("a2-highgpu-4g", "NVIDIA_TESLA_A100", 4) is None
    assert accelerator_problem("g2-standard-24", "NVIDIA_L4", 2) is None
    assert "N1 machines take" in accelerator_problem("n1-standard-4", "NVIDIA_L4", 1)
    assert "take no accelerators" in accelerator_problem("e2-standard-4", "NVIDIA_TESLA_T4", 1)
    assert "comes with NVIDIA_TESLA_A100" in accelerator_problem("a2-highgpu-1g", None, 0)
    assert "needs a TPU machine type" in accelerator_problem("n1-standard-8", "TPU_V3", 8)

"""What one job may ask for is bounded (trials, replicas, accelerators, boot disk size), and an image
URI must be a container image reference: each refusal is one `validate` line, FILE:LINE:COL: field:
message, at the value that is too much."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scripts import cli
from scripts.experiments import load_text
from scripts.paths import REPO_ROOT

from .helpers import EXPERIMENT, HEADER, marked_line, the_problem

POOL = "      - machine_type: n1-standard-4\n"


def with_pool(lines: str) -> str:
    return HEADER + EXPERIMENT.replace(POOL, lines)


def with_image(uri: str) -> str:
    return (
        HEADER.replace("  image: {repository: hpt, name: trainer}", f"  image:\n    uri: {uri}   # <-")
        + EXPERIMENT
    )


BOUNDS = [
    pytest.param(
        HEADER + EXPERIMENT.replace("max_trial_count: 4", "max_trial_count: 1001   # <-"),
        "experiments.exp.max_trial_count",
        "at most 1,000, got 1,001: this tool's limit on the trials of one job",
        id="trials",
    ),
    pytest.param(
        HEADER
        + EXPERIMENT.replace("max_trial_count: 4", "max_trial_count: 1000").replace(
            "parallel_trial_count: 2", "parallel_trial_count: 101   # <-"
        ),
        "experiments.exp.parallel_trial_count",
        "at most 100, got 101: this tool's limit on the trials one job runs at a time",
        id="parallel trials",
    ),
    pytest.param(
        HEADER + EXPERIMENT + "    max_failed_trial_count: 2147483647   # <-\n",
        "experiments.exp.max_failed_trial_count",
        "at most 1,000, got 2,147,483,647: this tool's limit on the trials of one job",
        id="failed trials",
    ),
    pytest.param(
        with_pool(POOL + "      - machine_type: n1-standard-4\n        replica_count: 101   # <-\n"),
        "experiments.exp.worker_pools[1].replica_count",
        "at most 100, got 101: this tool's limit on the replicas of one worker pool",
        id="replicas",
    ),
    pytest.param(
        with_pool("      - machine_type: cloud-tpu\n        accelerator: {type: TPU_V3, count: 64}   # <-\n"),
        "experiments.exp.worker_pools[0].accelerator.count",
        "at most 16, got 64: the most accelerators one Vertex AI machine takes (a2-megagpu-16g: 16 A100s)",
        id="accelerators",
    ),
    pytest.param(
        with_pool(POOL + "        boot_disk: {type: pd-ssd, size_gb: 2147483647}   # <-\n"),
        "experiments.exp.worker_pools[0].boot_disk.size_gb",
        "at most 64,000, got 2,147,483,647: a Persistent Disk volume holds at most 64 TiB, and this tool "
        "allows a boot disk 64,000 GB",
        id="boot disk",
    ),
]


@pytest.mark.parametrize(("text", "field", "message"), BOUNDS)
def test_a_job_that_asks_for_too_much_is_refused_where_it_says_so(text, field, message):
    problem = the_problem(text, field)
    assert problem.message == message
    assert problem.line == marked_line(text)


def test_the_largest_allowed_values_pass():
    text = (
        with_pool(
            "      - machine_type: a2-megagpu-16g\n"
            "        accelerator: {type: NVIDIA_TESLA_A100, count: 16}\n"
            "        boot_disk: {type: pd-ssd, size_gb: 64000}\n"
            "      - machine_type: n1-standard-4\n"
            "        replica_count: 100\n"
        )
        .replace("max_trial_count: 4", "max_trial_count: 1000")
        .replace("parallel_trial_count: 2", "parallel_trial_count: 100")
    )
    experiment = load_text(text, "experiments.yaml", {}).experiments["exp"]
    assert experiment.max_trial_count == 1000 and experiment.worker_pools[0].boot_disk_size_gb == 64_000


@pytest.mark.parametrize(
    "uri",
    [
        "'foo $(id) bar'",
        "'us-central1-docker.pkg.dev/p/r/trainer:v1; curl evil.example'",
        "'us-central1-docker.pkg.dev/p/r/trainer:`id`'",
        "trainer",  # no registry
        "'us-central1-docker.pkg.dev/p/r/Trainer:v1'",  # repository paths are lowercase
        "'us-central1-docker.pkg.dev/p/r/trainer@sha256:abc'",  # not a whole digest
        "'us-central1-docker.pkg.dev/p/r/trainer:v1\\nother'",
    ],
)
def test_an_image_uri_that_is_not_an_image_reference_is_refused_where_it_is_written(uri):
    text = with_image(uri)
    problem = the_problem(text, "defaults.image.uri")
    assert "is not valid: expected a container image reference, HOST[:PORT]/PATH[:TAG][@sha256:DIGEST]" in (
        problem.message
    )
    assert problem.line == marked_line(text)


@pytest.mark.parametrize(
    "uri",
    [
        "europe-docker.pkg.dev/p/r/t:v1",
        "us-central1-docker.pkg.dev/demo-project/hpt/trainer:inputs-0123abcd",
        "us-central1-docker.pkg.dev/demo-project/hpt/trainer@sha256:" + "d" * 64,
        "us-central1-docker.pkg.dev/demo-project/hpt/trainer:pinned@sha256:" + "0" * 64,
        "docker.io/attacker/miner:latest",
        "localhost:5000/trainer",
        "gcr.io/deeplearning-platform-release/tf-gpu.2-15",
    ],
)
def test_image_references_in_use_pass(uri):
    experiment = load_text(with_image(uri), "experiments.yaml", {}).experiments["exp"]
    assert experiment.settings.image_uri == uri


def test_validate_prints_one_located_line_per_refusal(tmp_path, capsys):
    text = with_image("'foo $(id) bar'").replace("max_trial_count: 4", "max_trial_count: 5000")
    path = tmp_path / "experiments.yaml"
    path.write_text(text)
    assert cli.main(["validate", "--file", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    uri_line, trials_line = marked_line(text), text.splitlines().index("    max_trial_count: 5000") + 1
    assert (
        f"{path}:{uri_line}:10: defaults.image.uri: 'foo $(id) bar' is not valid: expected a container"
        in ("\n".join(lines))
    )
    assert (
        f"{path}:{trials_line}:22: experiments.exp.max_trial_count: at most 1,000, got 5,000: this tool's "
        "limit on the trials of one job"
    ) in lines


def test_the_shipped_file_is_valid():
    result = subprocess.run(
        [sys.executable, "-m", "scripts", "validate"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr

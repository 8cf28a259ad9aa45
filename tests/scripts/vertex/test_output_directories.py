"""Each submitted job writes under a directory of its own: trials of two jobs never share `<dir>/<trial>/`.

Through the compiler (the directory the plan shows) and `submit` against the fake JobService on
loopback (the directory the job gets), with the real GAPIC client.
"""

from __future__ import annotations

import pytest
from google.cloud.aiplatform_v1 import JobState

from scripts.experiments import load_text
from scripts.experiments.compiler import CompileContext, compile_experiment
from scripts.jobs import labels
from tests.scripts.experiments.helpers import EXPERIMENT, HEADER
from tests.scripts.vertex.conftest import PARENT, codelab_job, submit

PLANNED = "gs://demo-bucket/horses-humans"  # codelab_job's (the compiled job's) directory


def _quiet(message: str) -> None:
    pass


def _output(job) -> str:
    return job.trial_job_spec.base_output_directory.output_uri_prefix


def _compiled(commit: str):
    experiments = load_text(HEADER + EXPERIMENT, "experiments.yaml", {})
    return compile_experiment(experiments, "exp", CompileContext(env={}, commit=commit, image_tag="t"))


def test_two_commits_sharing_their_first_seven_hex_digits_write_to_different_directories():
    one, other = _compiled("0123456" + "a" * 33), _compiled("0123456" + "b" * 33)

    assert one.spec_hash == other.spec_hash
    assert _output(one.job) != _output(other.job)
    assert _output(one.job).endswith(f"/exp/{one.spec_hash[:12]}-0123456{'a' * 33}")


def test_a_forced_resubmission_writes_to_its_own_directory_with_the_same_spec_hash(fake, client, compiled):
    first = submit(client, compiled, notify=_quiet, emulator=fake.address)
    second = submit(client, compiled, force=True, notify=_quiet, emulator=fake.address)
    third = submit(client, compiled, force=True, notify=_quiet, emulator=fake.address)

    # The first job writes where the plan said; each later one beside it, never into it.
    assert _output(first) == PLANNED
    assert [_output(second), _output(third)] == [f"{PLANNED}-2", f"{PLANNED}-3"]
    assert {job.labels[labels.SPEC_HASH] for job in (first, second, third)} == {"0123456789abcdef"}
    assert _output(compiled.job) == PLANNED  # the compiled job (the plan's) is left as it was


@pytest.mark.parametrize("state", ["JOB_STATE_FAILED", "JOB_STATE_CANCELLED"])
def test_a_job_submitted_again_after_one_failed_does_not_write_into_its_directory(
    fake, client, compiled, state
):
    old = codelab_job()
    old.name = f"{PARENT}/hyperparameterTuningJobs/77"
    old.state = JobState[state]
    fake.add_job(old)

    job = submit(client, compiled, notify=_quiet, emulator=fake.address)

    assert job.name != old.name and _output(job) == f"{PLANNED}-2"


def test_a_rerun_that_reuses_the_job_keeps_its_directory(fake, client, compiled):
    first = submit(client, compiled, notify=_quiet, emulator=fake.address)
    again = submit(client, compiled, notify=_quiet, emulator=fake.address)

    assert again.name == first.name and _output(again) == PLANNED

"""The field table cannot rot: every field of the installed messages is classified; the emulator
refuses what it cannot emulate and says out loud what it runs without its effect."""

from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.cloud.aiplatform_v1 import DiskSpec, HyperparameterTuningJob, NfsMount, PythonPackageSpec

from scripts.jobs.fidelity import FIELDS, PACKAGE, Handling, markdown_table, not_emulated, refused
from scripts.paths import REPO_ROOT
from tests.scripts.emulator.conftest import PARENT, make_job


def _installed_fields() -> set[str]:
    """Every field of HyperparameterTuningJob and of every message under it, from the descriptors."""
    found: set[str] = set()
    seen: set[str] = set()

    def walk(descriptor) -> None:
        if descriptor.full_name in seen:
            return
        seen.add(descriptor.full_name)
        for field in descriptor.fields:
            key = f"{descriptor.full_name.removeprefix(PACKAGE)}.{field.name}"
            found.add(key)
            message = field.message_type
            if message is None or message.GetOptions().map_entry:
                continue
            if message.full_name.startswith(("google.protobuf.", "google.rpc.")):
                continue
            if FIELDS.get(key, (None,))[0] == Handling.OUTPUT:
                continue  # output only: trials, errors... the service's, not the client's
            walk(message)

    walk(HyperparameterTuningJob.pb().DESCRIPTOR)
    return found


def test_every_installed_field_is_classified_and_no_entry_is_stale():
    installed = _installed_fields()
    missing = sorted(installed - set(FIELDS))
    assert not missing, f"classify these fields in scripts/jobs/fidelity.py: {missing}"
    stale = sorted(set(FIELDS) - installed)
    assert not stale, f"no longer in aiplatform_v1: {stale}"
    for key, (handling, note) in FIELDS.items():
        assert isinstance(handling, Handling)
        assert note or handling in (Handling.HONOURED, Handling.OUTPUT), f"{key}: say why"


def test_reported_fields_are_listed_with_their_values():
    job = make_job()
    spec = job.trial_job_spec
    spec.service_account = "trainer@p.iam.gserviceaccount.com"
    spec.network = "projects/1/global/networks/vpc"
    spec.enable_web_access = True
    spec.worker_pool_specs[0].disk_spec = DiskSpec(boot_disk_type="pd-ssd", boot_disk_size_gb=200)
    spec.worker_pool_specs[0].machine_spec.accelerator_type = "NVIDIA_TESLA_V100"
    spec.worker_pool_specs[0].machine_spec.accelerator_count = 2
    listed = {item["field"]: item["value"] for item in not_emulated(job)}
    pool = "trial_job_spec.worker_pool_specs[0]"
    assert listed == {
        f"{pool}.machine_spec.machine_type": "n1-standard-4",
        f"{pool}.machine_spec.accelerator_type": "NVIDIA_TESLA_V100",
        f"{pool}.machine_spec.accelerator_count": "2",
        f"{pool}.disk_spec.boot_disk_type": "pd-ssd",
        f"{pool}.disk_spec.boot_disk_size_gb": "200",
        f"{pool}.container_spec.image_uri": "us-central1-docker.pkg.dev/p/r/trainer:latest",
        "trial_job_spec.service_account": "trainer@p.iam.gserviceaccount.com",
        "trial_job_spec.network": "projects/1/global/networks/vpc",
        "trial_job_spec.enable_web_access": "True",
    }
    assert refused(job) == []


@pytest.mark.parametrize("field", ["python_package_spec", "nfs_mounts"])
def test_refused_fields_are_an_invalid_argument_naming_the_field(emulator, field):
    job = make_job()
    pool = job.trial_job_spec.worker_pool_specs[0]
    if field == "python_package_spec":
        pool.python_package_spec = PythonPackageSpec(python_module="trainer.task")
    else:
        pool.nfs_mounts = [NfsMount(server="10.0.0.1", path="/share", mount_point="data")]
    with pytest.raises(exceptions.InvalidArgument) as raised:
        emulator.submit(job)
    assert f"trial_job_spec.worker_pool_specs[0].{field}" in raised.value.message
    assert "not emulated here" in raised.value.message
    assert list(emulator.client.list_hyperparameter_tuning_jobs(parent=PARENT)) == []


def test_the_summary_of_a_local_run_lists_what_was_not_emulated(emulator):
    from scripts.results.summary import summary
    from scripts.vertex.backend import Backend

    job = make_job(max_trials=1)
    job.trial_job_spec.service_account = "trainer@p.iam.gserviceaccount.com"
    done = emulator.wait(emulator.submit(job).name)
    local = summary(done, backend=Backend.emulator_at(emulator.address, emulator.state_dir).where(done))
    assert {"field": "trial_job_spec.service_account", "value": "trainer@p.iam.gserviceaccount.com"} in [
        {key: item[key] for key in ("field", "value")} for item in local["not_emulated"]
    ]
    assert summary(done, backend=Backend.vertex().where(done))["not_emulated"] == []


def test_docs_show_the_table():
    text = (REPO_ROOT / "docs" / "local-backend.md").read_text()
    start = text.index("<!-- fields table: generated from scripts/jobs/fidelity.py (markdown_table) -->\n")
    end = text.index("<!-- end of fields table -->")
    shown = text[start:end].split("\n", 1)[1]
    assert shown == markdown_table(), "regenerate the table in docs/local-backend.md from markdown_table()"

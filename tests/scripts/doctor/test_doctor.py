"""`python -m scripts doctor` against loopback fakes of the Google APIs, through the real clients."""

from __future__ import annotations

import json

from scripts.doctor import needs
from tests.scripts.doctor.conftest import line
from tests.scripts.doctor.fake_google import BUILD_ACCOUNT, CALLER, NUMBER, PROJECT, REGION, V100, quota

EXPERIMENT = "horses-humans"  # the codelab's job: 2 x V100 per trial, 2 trials in parallel


def test_a_ready_project_passes_every_check(google, world, doctor):
    code, out = doctor(EXPERIMENT)
    assert code == 0, out
    assert "✗" not in out and "–" not in out
    assert line(out, "credentials").startswith("✓") and CALLER in line(out, "credentials")
    assert f"{PROJECT} (Demo), number {NUMBER}" in line(out, "project")
    assert BUILD_ACCOUNT in line(out, "build service account")
    assert f"gs://demo-bucket in {REGION}" in line(out, "bucket")
    assert (
        "need 4 NVIDIA_TESLA_V100 (2 per trial x 2 parallel trials, horses-humans), have 8 in us-central1"
        in out
    )
    # Exactly what submit, build and report call was asked, in one call each.
    (asked,) = world.called("Projects.TestIamPermissions")
    assert list(asked.permissions) == list(needs.PROJECT_PERMISSIONS)
    (batch,) = world.called("BatchGetServices")
    assert batch.parent == f"projects/{NUMBER}" and len(batch.names) == len(needs.RUN_APIS) + len(
        needs.DOCTOR_APIS
    )
    # The quota listing followed the pages until the V100 quota, on the project's number.
    listed = world.called("ListQuotaInfos")
    assert len(listed) == 3
    assert listed[0].parent == f"projects/{NUMBER}/locations/global/services/aiplatform.googleapis.com"


def test_a_disabled_api_fails_with_the_enable_command(google, world, doctor):
    world.enabled.discard("cloudbuild.googleapis.com")
    code, out = doctor(EXPERIMENT)
    assert code == 5
    assert line(out, "APIs").startswith("✗ APIs") and "cloudbuild.googleapis.com (image builds)" in out
    assert f"$ gcloud services enable cloudbuild.googleapis.com --project={PROJECT}" in out


def test_an_api_only_doctor_uses_is_a_warning(google, world, doctor):
    world.enabled.discard("cloudquotas.googleapis.com")
    code, out = doctor(EXPERIMENT)
    assert code == 0, out
    assert line(out, "APIs").startswith("! APIs")
    assert line(out, "quota NVIDIA_TESLA_V100").startswith("! ") and "needs 4 NVIDIA_TESLA_V100" in out


def test_a_missing_permission_names_the_role_that_grants_it(google, world, doctor):
    world.project_permissions -= {"cloudbuild.builds.create", "aiplatform.hyperparameterTuningJobs.cancel"}
    code, out = doctor(EXPERIMENT)
    assert code == 5
    report = line(out, "permissions")
    assert report.startswith("✗")
    assert "cloudbuild.builds.create (granted by roles/cloudbuild.builds.editor)" in report
    assert "aiplatform.hyperparameterTuningJobs.cancel (granted by roles/aiplatform.user)" in report
    assert (
        f"$ gcloud projects add-iam-policy-binding {PROJECT} --member=serviceAccount:{CALLER} "
        "--role=roles/cloudbuild.builds.editor"
    ) in out


def test_acting_as_the_build_account_is_checked_on_the_account(google, world, doctor):
    world.act_as.discard(BUILD_ACCOUNT)
    code, out = doctor(EXPERIMENT)
    assert code == 5
    assert line(out, "build service account").startswith("✗")
    assert "iam.serviceAccounts.actAs (granted by roles/iam.serviceAccountUser)" in out
    assert f"$ gcloud iam service-accounts add-iam-policy-binding {BUILD_ACCOUNT} --project={PROJECT}" in out
    (asked,) = [r for r in world.called("IAM.TestIamPermissions") if BUILD_ACCOUNT in r.resource]
    assert asked.resource == f"projects/-/serviceAccounts/{BUILD_ACCOUNT}"


def test_a_trial_account_that_does_not_exist(google, world, doctor, monkeypatch):
    monkeypatch.setenv("HPT_TRIAL_SERVICE_ACCOUNT", f"nobody@{PROJECT}.iam.gserviceaccount.com")
    code, out = doctor(EXPERIMENT)
    assert code == 5
    assert "does not exist" in line(out, "trial service account")
    assert f"$ gcloud iam service-accounts create nobody --project={PROJECT}" in out


def test_a_bucket_in_another_region_fails(google, world, doctor):
    world.buckets["demo-bucket"] = "EUROPE-WEST4"
    code, out = doctor(EXPERIMENT)
    assert code == 5
    assert "gs://demo-bucket is in EUROPE-WEST4, but jobs run in us-central1" in line(out, "bucket")
    assert f"gcloud storage buckets create gs://NEW_BUCKET --project={PROJECT} --location={REGION}" in out


def test_a_missing_bucket_fails_with_the_create_command(google, world, doctor):
    world.buckets.clear()
    code, out = doctor(EXPERIMENT)
    assert code == 5
    assert "gs://demo-bucket does not exist" in line(out, "bucket")
    assert "$ gcloud storage buckets create gs://demo-bucket" in out


def test_a_missing_repository_fails_and_the_image_check_is_skipped(google, world, doctor):
    world.repositories.clear()
    code, out = doctor(EXPERIMENT)
    assert code == 5
    assert "no Artifact Registry repository hpt in us-central1" in line(out, "repository")
    assert (
        f"$ gcloud artifacts repositories create hpt --repository-format=docker --location={REGION} "
        f"--project={PROJECT}"
    ) in out
    assert line(out, "image").startswith("– image") and "repository check failed" in line(out, "image")


def test_a_missing_image_says_how_to_build_it(google, world, doctor):
    world.images_pushed = False
    code, out = doctor(EXPERIMENT)
    assert code == 5
    image = line(out, "image")
    assert image.startswith("✗") and f"{REGION}-docker.pkg.dev/{PROJECT}/hpt/trainer:inputs-" in image
    assert "is not pushed yet" in image and "$ python -m scripts build" in out


def test_quota_below_the_peak_says_the_numbers_and_how_to_ask(google, world, doctor):
    world.quotas[-1] = quota(V100, "CustomModelTrainingV100GPUsPerProjectPerRegion", {REGION: 2})
    code, out = doctor(EXPERIMENT)
    assert code == 5
    report = line(out, "quota NVIDIA_TESLA_V100 us-central1")
    assert report.startswith("✗")
    assert (
        "need 4 NVIDIA_TESLA_V100 (2 per trial x 2 parallel trials, horses-humans), have 2 in us-central1"
        in report
    )
    assert (
        "$ gcloud quotas preferences create --service=aiplatform.googleapis.com "
        f"--project={PROJECT} --quota-id=CustomModelTrainingV100GPUsPerProjectPerRegion "
        "--preferred-value=4 --dimensions=region=us-central1"
    ) in out
    assert f"https://console.cloud.google.com/iam-admin/quotas?project={PROJECT}" in out


def test_overrides_size_the_peak(google, world, doctor):
    code, out = doctor(EXPERIMENT, "--set", "parallel_trial_count=5")
    assert code == 5
    assert "need 10 NVIDIA_TESLA_V100 (2 per trial x 5 parallel trials, horses-humans), have 8" in out


def test_a_quota_the_project_does_not_have_is_a_warning(google, world, doctor):
    world.quotas = world.quotas[:-1]
    code, out = doctor(EXPERIMENT)
    assert code == 0
    assert line(out, "quota NVIDIA_TESLA_V100").startswith("! ") and f"no quota {V100} found" in out


def test_an_unknown_project_skips_what_depends_on_it(google, world, doctor):
    world.project_exists = False
    code, out = doctor(EXPERIMENT)
    assert code == 5
    assert line(out, "project").startswith("✗") and f"$ gcloud projects describe {PROJECT}" in out
    for name in ("APIs", "permissions", "bucket", "repository", "image"):
        assert line(out, name).startswith(f"– {name}") and "project not reachable" in line(out, name)


def test_a_missing_setting_names_the_variable(google, doctor, monkeypatch):
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT")
    code, out = doctor(EXPERIMENT)
    assert code == 5
    assert "GOOGLE_CLOUD_PROJECT (the Google Cloud project ID)" in line(out, "settings")
    assert "skipped: GOOGLE_CLOUD_PROJECT is not set" in line(out, "project")


def test_json_and_markdown_and_the_job_summary(google, world, doctor, tmp_path, monkeypatch):
    world.enabled.discard("iam.googleapis.com")
    code, out = doctor(EXPERIMENT, "--format", "json")
    report = json.loads(out)
    assert code == 5 and report["ok"] is False
    apis = next(check for check in report["checks"] if check["name"] == "APIs")
    assert apis["status"] == "fail" and apis["data"]["missing"] == ["iam.googleapis.com"]
    assert apis["fix"] == f"gcloud services enable iam.googleapis.com --project={PROJECT}"

    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out = doctor(EXPERIMENT, "--format", "markdown", "--summary")
    assert code == 5
    assert "| | check | result | fix |" in out
    assert "| ✗ | APIs | not enabled: iam.googleapis.com (service accounts) | `gcloud services enable" in out
    assert summary.read_text().strip() == out.strip()


def test_an_unknown_experiment_is_a_user_error(google, doctor, capsys):
    code = __import__("scripts.cli", fromlist=["main"]).main(["doctor", "no-such-experiment"])
    assert code == 1
    assert "unknown experiment 'no-such-experiment'" in capsys.readouterr().err


def _event(tmp_path, monkeypatch, name: str, payload: dict) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    monkeypatch.setenv("GITHUB_EVENT_NAME", name)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))


def test_from_a_dispatch_event_the_experiment_and_its_overrides_size_the_peak(
    google, world, doctor, tmp_path, monkeypatch
):
    inputs = {"experiment": EXPERIMENT, "parallel_trials": "3", "max_trials": "", "dry_run": False}
    _event(tmp_path, monkeypatch, "workflow_dispatch", {"ref": "refs/heads/main", "inputs": inputs})
    code, out = doctor("--from-event")
    assert code == 0, out
    assert line(out, "experiments").startswith("✓") and f"{EXPERIMENT}; peak 6 NVIDIA_TESLA_V100" in out
    assert "need 6 NVIDIA_TESLA_V100 (2 per trial x 3 parallel trials, horses-humans), have 8" in out
    assert "NVIDIA_TESLA_T4" not in out


def test_from_an_hpt_run_comment_of_an_experiment_this_file_lacks(
    google, world, doctor, tmp_path, monkeypatch
):
    payload = {
        "action": "created",
        "issue": {"number": 7, "pull_request": {}},
        "comment": {
            "body": "/hpt run brand-new 1a2b3c4",
            "user": {"login": "a"},
            "author_association": "OWNER",
        },
    }
    _event(tmp_path, monkeypatch, "issue_comment", payload)
    code, out = doctor("--from-event")
    assert code == 0, out
    assert line(out, "experiments").startswith("! experiments") and "not sized: brand-new" in out


def test_a_caller_who_may_not_read_the_project_or_its_apis_is_warned_not_stopped(google, world, doctor):
    world.projects_visible = False
    world.apis_visible = False
    code, out = doctor(EXPERIMENT)
    assert code == 0, out
    assert line(out, "project").startswith("! project") and "exists, but" in line(out, "project")
    assert "--role=roles/browser" in out
    assert line(out, "APIs").startswith("! APIs") and "--role=roles/serviceusage.serviceUsageConsumer" in out
    assert line(out, "permissions").startswith("✓") and line(out, "quota NVIDIA_TESLA_V100").startswith("✓")


def test_a_repository_whose_tags_can_be_moved_fails_with_the_command_that_fixes_it(google, world, doctor):
    code, out = doctor(EXPERIMENT)
    assert line(out, "tags").startswith("✓ tags") and "immutable" in line(out, "tags")

    world.immutable_tags = False
    code, out = doctor(EXPERIMENT)
    assert code == 5
    assert line(out, "tags").startswith("✗ tags") and "can be moved" in line(out, "tags")
    assert (
        f"$ gcloud artifacts repositories update hpt --location={REGION} --project={PROJECT} --immutable-tags"
        in out
    )


def test_the_tags_check_says_it_cannot_tell_without_the_repository(google, world, doctor):
    world.repositories.clear()
    _, out = doctor(EXPERIMENT)
    assert line(out, "tags").startswith("– tags") and "repository check failed" in line(out, "tags")

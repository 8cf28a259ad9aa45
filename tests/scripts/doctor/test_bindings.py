"""`doctor` reads back who may act as the deployer and what the provider admits (setup.md, step 5).

Against the loopback fakes: the deployer's IAM policy comes from the fake IAM service
(GetIamPolicy), the provider from the fake IAM REST endpoint. The world starts as setup.md leaves
a project: the deployer bound to `attribute.environment/vertex`, a provider that pins the
repository's and owner's ids and `refs/heads/main`.
"""

from __future__ import annotations

from scripts.doctor import binding_checks
from tests.scripts.doctor.conftest import line
from tests.scripts.doctor.fake_google import (
    CALLER,
    ENVIRONMENT_MEMBER,
    MAIN_ONLY,
    NUMBER,
    POOL,
    PROJECT,
    PROVIDER,
    REPOSITORY_MEMBER,
    WORKLOAD_IDENTITY_USER,
)

EXPERIMENT = "horses-humans"
DEPLOYER = f"hpt-deployer@{PROJECT}.iam.gserviceaccount.com"


def _bind(world, account: str, *members: str, role: str = WORKLOAD_IDENTITY_USER) -> None:
    world.account_policies[account] = {role: list(members)}


def test_the_documented_bindings_pass(google, world, doctor):
    code, out = doctor(EXPERIMENT)
    assert code == 0, out
    assert line(out, "deployer binding").startswith("✓")
    assert f"only jobs of environment 'vertex' may act as {CALLER}" in out
    assert line(out, "identity provider").startswith("✓")
    assert "admits only refs/heads/main of repository 123456 (owner 7890)" in out
    (asked,) = world.called("IAM.GetIamPolicy")
    assert asked.resource == f"projects/-/serviceAccounts/{CALLER}"  # the caller: in CI, the deployer


def test_a_deployer_bound_to_the_repository_fails_and_says_how_to_narrow_it(google, world, doctor):
    """The finding: `attribute.repository/OWNER/REPO` lets a workflow on any branch submit jobs."""
    _bind(world, CALLER, REPOSITORY_MEMBER)
    code, out = doctor(EXPERIMENT)
    assert code == 5, out
    report = line(out, "deployer binding")
    assert report.startswith("✗") and REPOSITORY_MEMBER in report
    assert "any job of repository 'octo-org/hpt-demo', on any branch" in report
    assert (
        f"$ gcloud iam service-accounts remove-iam-policy-binding {CALLER} --project={PROJECT} "
        f"--role={WORKLOAD_IDENTITY_USER} --member={REPOSITORY_MEMBER}"
    ) in out
    assert (
        f"$ gcloud iam service-accounts add-iam-policy-binding {CALLER} --project={PROJECT} "
        f"--role={WORKLOAD_IDENTITY_USER} --member={ENVIRONMENT_MEMBER}"
    ) in out


def test_a_wide_member_beside_the_environment_one_still_fails(google, world, doctor):
    _bind(world, CALLER, ENVIRONMENT_MEMBER, f"principalSet://iam.googleapis.com/{POOL}/*")
    code, out = doctor(EXPERIMENT)
    assert code == 5
    assert "every identity of pool 'github'" in line(out, "deployer binding")
    assert "add-iam-policy-binding" not in out  # the environment's binding is there already


def test_token_creator_counts_as_acting_as_the_deployer(google, world, doctor):
    _bind(world, CALLER, REPOSITORY_MEMBER, role="roles/iam.serviceAccountTokenCreator")
    world.account_policies[CALLER][WORKLOAD_IDENTITY_USER] = [ENVIRONMENT_MEMBER]
    code, out = doctor(EXPERIMENT)
    assert code == 5 and line(out, "deployer binding").startswith("✗")


def test_another_environment_than_the_approved_one_fails(google, world, doctor):
    _bind(world, CALLER, f"principalSet://iam.googleapis.com/{POOL}/attribute.environment/vertex-build")
    code, out = doctor(EXPERIMENT)
    assert code == 5
    assert "environment 'vertex-build', which is not the approved 'vertex'" in line(out, "deployer binding")


def test_a_renamed_spending_environment_is_the_one_expected(google, world, doctor, monkeypatch):
    monkeypatch.setenv("HPT_ENVIRONMENT", "approved")
    _bind(world, CALLER, f"principalSet://iam.googleapis.com/{POOL}/attribute.environment/approved")
    code, out = doctor(EXPERIMENT)
    assert code == 0, out
    assert "only jobs of environment 'approved'" in line(out, "deployer binding")


def test_a_subject_binding_passes_only_for_a_job_of_the_environment(google, world, doctor):
    subject = f"principal://iam.googleapis.com/{POOL}/subject/"
    _bind(world, CALLER, subject + "repo:octo-org/hpt-demo:environment:vertex")
    assert doctor(EXPERIMENT)[0] == 0
    _bind(world, CALLER, subject + "repo:octo-org/hpt-demo:ref:refs/heads/feature")
    code, out = doctor(EXPERIMENT)
    assert code == 5 and "not a job of environment 'vertex'" in line(out, "deployer binding")


def test_the_named_deployer_is_read_not_the_caller(google, world, doctor, monkeypatch):
    monkeypatch.setenv("GCP_DEPLOYER_SERVICE_ACCOUNT", DEPLOYER)
    _bind(world, DEPLOYER, REPOSITORY_MEMBER)
    code, out = doctor(EXPERIMENT)
    assert code == 5 and DEPLOYER in line(out, "deployer binding")
    (asked,) = world.called("IAM.GetIamPolicy")
    assert asked.resource == f"projects/-/serviceAccounts/{DEPLOYER}"


def test_a_named_deployer_no_github_job_may_use_fails(google, world, doctor, monkeypatch):
    monkeypatch.setenv("GCP_DEPLOYER_SERVICE_ACCOUNT", DEPLOYER)
    world.account_policies[DEPLOYER] = {}
    code, out = doctor(EXPERIMENT)
    assert code == 5 and "no GitHub job may act as" in line(out, "deployer binding")


def test_a_caller_that_is_not_the_workflows_account_is_only_warned(google, world, doctor):
    world.account_policies[CALLER] = {}
    code, out = doctor(EXPERIMENT)
    assert code == 0, out
    report = line(out, "deployer binding")
    assert report.startswith("!") and "GCP_DEPLOYER_SERVICE_ACCOUNT" in report


def test_what_the_caller_may_not_read_is_one_warning_line_each(google, world, doctor):
    """In the workflows doctor runs as the deployer, which may read neither: said, not failed."""
    world.policies_visible = False
    world.providers_visible = False
    code, out = doctor(EXPERIMENT)
    assert code == 0, out
    binding, provider = line(out, "deployer binding"), line(out, "identity provider")
    assert (
        binding.startswith("!") and "iam.serviceAccounts.getIamPolicy" in binding and "not checked" in binding
    )
    assert provider.startswith("!") and "iam.workloadIdentityPoolProviders.get" in provider
    assert "not checked" in provider


def test_a_provider_that_admits_any_branch_fails(google, world, doctor):
    world.providers[PROVIDER]["attributeCondition"] = "assertion.repository == 'octo-org/hpt-demo'"
    code, out = doctor(EXPERIMENT)
    assert code == 5
    report = line(out, "identity provider")
    assert report.startswith("✗")
    assert "does not require assertion.ref == 'refs/heads/main'" in report
    assert "does not pin assertion.repository_id" in report
    assert f"$ gcloud iam workload-identity-pools providers update-oidc hpt --project={NUMBER}" in out
    assert "assertion.ref == 'refs/heads/main'" in out


def test_a_provider_without_the_environment_attribute_fails(google, world, doctor):
    world.providers[PROVIDER]["attributeMapping"] = {"google.subject": "assertion.sub"}
    code, out = doctor(EXPERIMENT)
    assert code == 5 and "maps no attribute.environment" in line(out, "identity provider")


def test_a_missing_provider_fails_and_an_unnamed_one_is_not_checked(google, world, doctor, monkeypatch):
    del world.providers[PROVIDER]
    code, out = doctor(EXPERIMENT)
    assert code == 5 and "does not exist" in line(out, "identity provider")
    monkeypatch.delenv("GCP_WORKLOAD_IDENTITY_PROVIDER")
    code, out = doctor(EXPERIMENT)
    assert code == 0, out
    report = line(out, "identity provider")
    assert report.startswith("!") and "not checked" in report and "GCP_WORKLOAD_IDENTITY_PROVIDER" in out


def test_federated_credentials_name_their_provider():
    """In the workflows the provider is the audience of the credentials the auth action wrote."""
    from google.auth import identity_pool

    from scripts.doctor.clients import Clients, Endpoints
    from scripts.doctor.target import Context, Target

    credentials = identity_pool.Credentials.from_info(
        {
            "type": "external_account",
            "audience": f"//iam.googleapis.com/{PROVIDER}",
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": "https://sts.googleapis.com/v1/token",
            "credential_source": {"file": "/nonexistent"},
        }
    )

    context = Context(Target.build({}, []), clients=Clients(Endpoints(), credentials))
    assert binding_checks._provider_name(context) == PROVIDER


def test_the_condition_rules():
    assert binding_checks.condition_problems(MAIN_ONLY) == []
    assert binding_checks.condition_problems(MAIN_ONLY.replace("'", '"')) == []
    assert "`||`" in binding_checks.condition_problems(MAIN_ONLY + " || assertion.ref == 'refs/heads/x'")[0]
    assert "no attribute condition" in binding_checks.condition_problems("")[0]

"""docs/setup.md against the workflows: one set of variable names, files that parse, sources cited.

The setup page is pasted into shells by people setting up a fork, so what can be checked offline
is checked here: every repository variable a workflow reads is documented (and set or named in
the teardown) under the same name, no documented variable is unknown to the workflows, the JSON
files it writes are valid JSON of the expected shape, and every `[tag]` it cites is listed
under Sources.
"""

from __future__ import annotations

import json
import re

import yaml

from tests.workflows.workflows import REPO_ROOT, WORKFLOWS

SETUP = REPO_ROOT / "docs" / "setup.md"


def _text() -> str:
    return SETUP.read_text(encoding="utf-8")


def _workflow_variables() -> set[str]:
    names: set[str] = set()
    for path in sorted(WORKFLOWS.glob("*.yml")):
        names |= set(re.findall(r"\bvars\.([A-Z][A-Z0-9_]*)", path.read_text(encoding="utf-8")))
    return names


def _documented_variables(text: str) -> set[str]:
    """The first column of the repository-variables table."""
    section = text.split("## 7. GitHub repository variables", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)`", section, flags=re.MULTILINE))


def _teardown(text: str) -> str:
    return text.split("## Teardown", 1)[1].split("\n## ", 1)[0]


def test_the_variables_the_workflows_read_are_the_documented_ones():
    text = _text()
    read = _workflow_variables()
    assert read, "no vars.NAME found in the workflows"
    assert _documented_variables(text) == read


def test_every_required_variable_is_set_and_every_variable_is_removed_in_the_teardown():
    text = _text()
    set_names = set(re.findall(r"gh variable set ([A-Z][A-Z0-9_]*)", text))
    optional = {"HPT_ENVIRONMENT", "HPT_FOLLOW_MINUTES"}  # defaults in the workflows
    assert _workflow_variables() - optional <= set_names
    teardown = _teardown(text)
    assert all(name in teardown for name in _workflow_variables())


def _json_blocks(text: str) -> list[object]:
    return [json.loads(block) for block in re.findall(r"<<'JSON'\n(.*?)\nJSON\n", text, flags=re.DOTALL)]


def test_the_policy_files_are_json_of_the_shape_gcloud_reads():
    blocks = _json_blocks(_text())
    cleanup = [block for block in blocks if isinstance(block, list)]
    lifecycle = [block for block in blocks if isinstance(block, dict) and "lifecycle" in block]
    assert len(cleanup) == 1 and len(lifecycle) == 1
    actions = {rule["action"]["type"] for rule in cleanup[0]}
    assert actions == {"Delete", "Keep"}
    for rule in cleanup[0]:
        assert ("condition" in rule) != ("mostRecentVersions" in rule)
    prefixes = {p for rule in lifecycle[0]["lifecycle"]["rule"] for p in rule["condition"]["matchesPrefix"]}
    # the prefixes this repository writes: build sources (scripts/cloudbuild) and job outputs
    assert prefixes == {"hpt-build-source/", "hpt/"}


def test_the_lifecycle_prefixes_are_the_ones_the_code_writes():
    from scripts.cloudbuild import submit

    assert f"{submit.SOURCE_PREFIX}/" == "hpt-build-source/"
    compiler = (REPO_ROOT / "scripts" / "experiments" / "compiler.py").read_text(encoding="utf-8")
    assert 'f"{settings.staging_bucket}/hpt"' in compiler


def test_every_cited_source_is_listed():
    text = _text()
    body, sources = text.split("## Sources", 1)
    cited = set(re.findall(r"\[([a-z][a-z0-9-]+)\](?!\()", body))
    listed = set(re.findall(r"^- \[([a-z][a-z0-9-]+)\]", sources, flags=re.MULTILINE))
    assert cited <= listed, sorted(cited - listed)
    assert listed <= cited, sorted(listed - cited)


def test_the_roles_doctor_asks_for_are_the_ones_the_page_grants_the_deployer():
    """A newcomer who follows the page and then runs doctor as the deployer sees no ✗ for roles."""
    from scripts.doctor import needs

    granted = set(re.findall(r'--member="serviceAccount:\$DEPLOYER" --role=(roles/[\w.]+)', _text()))
    asked = {role for role, _ in needs.PROJECT_PERMISSIONS.values()}
    asked |= {needs.ACT_AS_ROLE, *needs.BUCKET_PERMISSIONS.values(), *needs.REPOSITORY_PERMISSIONS.values()}
    assert asked <= granted, asked - granted


def test_the_apis_doctor_checks_are_the_ones_the_page_enables():
    from scripts.doctor import needs

    block = _text().split("gcloud services enable", 1)[1].split("```", 1)[0]
    enabled = set(re.findall(r"\b([a-z]+\.googleapis\.com)\b", block))
    assert set(needs.RUN_APIS) | set(needs.DOCTOR_APIS) <= enabled


# -- identities bound to what was reviewed (step 5) ---------------------------------------------


def _sh_blocks(text: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def _commands(text: str) -> list[str]:
    """Every shell command of the page's `sh` blocks, continuation lines joined, in page order."""
    joined = "\n".join(_sh_blocks(text)).replace("\\\n", " ")
    lines = [re.sub(r"(^|\s)#.*$", "", line).strip().removesuffix(";;") for line in joined.splitlines()]
    return [" ".join(line.split()) for line in lines if line]


def _flag(command: str, name: str) -> str:
    match = re.search(rf'--{name}="([^"]*)"', command) or re.search(rf"--{name}=(\S+)", command)
    assert match, (name, command)
    return match[1]


def _provider_command(text: str) -> str:
    (command,) = [c for c in _commands(text) if "workload-identity-pools providers create-oidc" in c]
    return command


def test_the_provider_admits_only_main_of_this_repository_by_id():
    from scripts.doctor import binding_checks as bindings

    command = _provider_command(_text())
    condition = _flag(command, "attribute-condition")
    assert "assertion.ref == 'refs/heads/main'" in condition
    assert "assertion.repository_id == '$GITHUB_REPO_ID'" in condition
    assert "assertion.repository_owner_id == '$GITHUB_OWNER_ID'" in condition
    assert "||" not in condition and "assertion.repository ==" not in condition  # ids, not the name
    # What doctor checks on a live provider holds for the documented one (ids filled in).
    filled = condition.replace("$GITHUB_REPO_ID", "123").replace("$GITHUB_OWNER_ID", "456")
    assert bindings.condition_problems(filled) == []
    mapping = _flag(command, "attribute-mapping")
    # A job without an environment (the reporter's) has no `environment` claim: read through has().
    assert "attribute.environment=has(assertion.environment) ? assertion.environment : 'none'" in mapping
    assert len(_flag(command, "display-name")) <= 32  # Google refuses a longer display name


def _identity_bindings(text: str) -> dict[str, list[str]]:
    """Account variable -> the members the page lets impersonate it."""
    found: dict[str, list[str]] = {}
    for command in _commands(text):
        if "add-iam-policy-binding" in command and "--role=roles/iam.workloadIdentityUser" in command:
            account = re.search(r'service-accounts add-iam-policy-binding "\$(\w+)"', command)
            assert account, command
            found.setdefault(account[1], []).append(_flag(command, "member"))
    return found


def test_each_account_is_bound_only_to_the_jobs_meant_for_it():
    from scripts.doctor import binding_checks as bindings

    pool = "principalSet://iam.googleapis.com/projects/$PROJECT_NUMBER/locations/global/workloadIdentityPools/github"
    assert _identity_bindings(_text()) == {
        "DEPLOYER": [f"{pool}/attribute.environment/vertex"],
        "BUILDER": [f"{pool}/attribute.environment/vertex-build"],
        "REPORTER": [f"{pool}/attribute.repository_id/$GITHUB_REPO_ID"],
    }
    # The old binding (any job of the repository, any branch) is gone from every command.
    assert not [c for c in _commands(_text()) if "attribute.repository/" in c]
    # doctor accepts the deployer's documented binding, and refuses the old one.
    deployer = bindings.Grant("roles/iam.workloadIdentityUser", f"{pool}/attribute.environment/vertex")
    old = bindings.Grant("roles/iam.workloadIdentityUser", f"{pool}/attribute.repository/$GITHUB_REPO")
    member = deployer.member.replace("$PROJECT_NUMBER", "1")
    assert bindings.too_wide(bindings.Grant(deployer.role, member), "vertex") is None
    assert bindings.too_wide(bindings.Grant(old.role, old.member.replace("$PROJECT_NUMBER", "1")), "vertex")


def test_there_is_no_optional_hardening_to_find():
    """A newcomer who pastes the page in order ends with the safe bindings."""
    assert "hardening" not in _text().lower()


def _workflow_environments() -> set[str]:
    names = set()
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job in yaml.safe_load(path.read_text(encoding="utf-8"))["jobs"].values():
            environment = job.get("environment")
            if environment:
                # `${{ vars.HPT_ENVIRONMENT || 'vertex' }}`: its default
                names.add(re.sub(r"^\$\{\{ vars\.\w+ \|\| '([\w-]+)' \}\}$", r"\1", environment))
    return names


def test_only_main_may_use_the_environments_the_workflows_name():
    text = _text()
    assert _workflow_environments() == {"vertex", "vertex-build"}
    loop = re.search(r"for environment in ([\w -]+); do\n(.*?)\ndone", text, flags=re.DOTALL)
    assert loop and set(loop[1].split()) == _workflow_environments()
    body = loop[2].replace("\\\n", " ")
    assert '-F "deployment_branch_policy[custom_branch_policies]=true"' in body
    assert '-F "deployment_branch_policy[protected_branches]=false"' in body
    assert re.search(r"deployment-branch-policies\" +-f name=main -f type=branch", body)
    # Whoever changes an environment later (the spending gate's reviewers) sends the policy again:
    # GitHub does not say that a PUT without it keeps it.
    puts = [s for s in _statements(text) if "-X PUT" in s and "/environments/" in s]
    assert len(puts) >= 2 and all("deployment_branch_policy" in s for s in puts), puts


def _statements(text: str) -> list[str]:
    """Each command with its continuation lines and its here-document."""
    statements: list[str] = []
    for block in _sh_blocks(text):
        lines = iter(block.replace("\\\n", " ").splitlines())
        for line in lines:
            if "<<'JSON'" in line:
                line += "\n" + "\n".join(iter(lines.__next__, "JSON"))
            statements.append(line)
    return statements


def _grants_to(text: str, account: str) -> set[str]:
    pattern = rf'--member="serviceAccount:\${account}" --role=(roles/[\w.]+)'
    return set(re.findall(pattern, "\n".join(_commands(text))))


def test_the_reporter_only_reads_and_the_builder_creates_no_tuning_job():
    from scripts.doctor import needs

    text = _text()
    assert _grants_to(text, "REPORTER") == {"roles/aiplatform.viewer"}
    builder = _grants_to(text, "BUILDER")
    build_roles = {role for role, used_by in needs.PROJECT_PERMISSIONS.values() if "build" in used_by}
    build_roles |= {
        needs.ACT_AS_ROLE,
        *needs.BUCKET_PERMISSIONS.values(),
        *needs.REPOSITORY_PERMISSIONS.values(),
    }
    assert builder == build_roles  # what `build` needs, and nothing of Vertex AI
    assert not [role for role in builder if role.startswith("roles/aiplatform")]


def test_every_shell_variable_is_set_before_a_command_reads_it():
    """The page is pasted into one shell in order: a variable read before it is set is empty."""
    defined: set[str] = set()
    for block in _sh_blocks(_text()):
        for line in block.replace("\\\n", " ").splitlines():
            if line.lstrip().startswith("#"):
                continue
            code = line.split(" #", 1)[0]
            code = re.sub(r"'[^']*'", "''", code) if '"' not in code else code  # '...' is not expanded
            assigned = re.findall(r"(?:^|export |;\s*)([A-Z_][A-Z0-9_]*)=", code)
            assigned += re.findall(r"\b(?:for|read -r) ([a-z_]+)\b", code)
            used = set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", code)) - set(assigned)
            assert used <= defined, (sorted(used - defined), line)
            defined |= set(assigned)


def test_the_teardown_removes_every_account_environment_and_grant_that_would_outlive_it():
    text = _text()
    teardown = _teardown(text)
    body = text.split("## Teardown", 1)[0]
    for account in re.findall(r"gcloud iam service-accounts create ([\w-]+)", body):
        variable = {"hpt-deployer": "DEPLOYER", "hpt-builder": "BUILDER", "hpt-reporter": "REPORTER"}
        name = variable.get(account, "TRIAL_SA")
        assert f'gcloud iam service-accounts delete "${name}" --quiet' in teardown, account
    for environment in _workflow_environments():
        assert f'gh api -X DELETE "repos/$GITHUB_REPO/environments/{environment}"' in teardown
    # Project-level grants outlive a deleted account; grants on the build account outlive this page.
    commands = _commands(body)
    outliving = [
        (re.sub(r"\s+", " ", c.split("add-iam-policy-binding", 1)[1]))
        for c in commands
        if ("projects add-iam-policy-binding" in c or 'add-iam-policy-binding "$BUILD_SA"' in c)
        and "roles/iam.serviceAccountTokenCreator" not in c
    ]
    removed = {
        re.sub(r"\s+", " ", c.split("remove-iam-policy-binding", 1)[1])
        for c in _commands(teardown)
        if "remove-iam-policy-binding" in c
    }
    assert outliving and [grant for grant in outliving if grant not in removed] == []

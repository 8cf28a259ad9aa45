"""What the workflows promise, checked on their parsed YAML: triggers, permissions, pins, commands."""

from __future__ import annotations

import re
import shlex

import pytest

from scripts.cli import COMMANDS
from scripts.commands.github import SUBCOMMANDS
from scripts.images import BUILD_INPUTS
from tests.workflows.workflows import REPO_ROOT, load_actions, load_workflows, steps, workflow

WORKFLOWS = load_workflows()
DOCUMENTS = WORKFLOWS + load_actions()
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"#\s*v\d+\.\d+\.\d+\s*$")
# Steps that write to pull requests and therefore may hold `pull-requests: write`.
COMMENTING = {
    "github plan",
    "github submit",
    "github dispatch",
    "github report",
    "github command",
    "github command-run",
    "github command-promote",
    "github link-files",
}
AUTH_ACTION = "google-github-actions/auth@"
# Steps that can create a Vertex AI job: their jobs run in the spending environment.
SPENDING = {"github submit", "github dispatch", "github command-run"}
# Steps that register a model version (`/hpt promote`): as the deployer, in the same environment.
PROMOTING = {"github command-promote"}
# Steps that post a job's result, so complete its check run `hpt / NAME`: the reporter, and the
# submitting steps that follow their jobs (HPT_FOLLOW_MINUTES). Only their jobs write checks.
REPORTING = {"github report", "github submit", "github dispatch", "github command-run"}


def _ids(documents):
    return [
        document.name if document.path.name != "action.yml" else document.path.parent.name
        for document in documents
    ]


def _make_targets() -> set[str]:
    text = (REPO_ROOT / "Makefile").read_text()
    return {match[1] for match in re.finditer(r"^([A-Za-z][\w-]*):", text, re.MULTILINE)}


def _our_command(line: str) -> str:
    """`make X` or `python -m scripts C [SUB]` as the short form used above; fails otherwise."""
    words = shlex.split(line)
    if words[:1] == ["make"] and len(words) == 2:
        assert words[1] in _make_targets(), f"make target {words[1]!r} does not exist"
        return f"make {words[1]}"
    assert words[:3] == [".venv/bin/python", "-m", "scripts"], f"not one of our commands: {line!r}"
    assert words[3] in COMMANDS, f"unknown command {words[3]!r}"
    if words[3] == "github":
        assert words[4] in SUBCOMMANDS, f"unknown github step {words[4]!r}"
        return f"github {words[4]}"
    return words[3]


def test_there_are_the_five_workflows():
    assert {w.name for w in WORKFLOWS} == {
        "ci.yml",
        "build-image.yml",
        "experiments.yml",
        "report.yml",
        "hpt-commands.yml",
    }


@pytest.mark.parametrize("document", DOCUMENTS, ids=_ids(DOCUMENTS))
def test_every_run_step_is_one_command_of_ours_without_expressions(document):
    for _, step in steps(document):
        if "run" not in step:
            continue
        script = step["run"].strip()
        assert "${{" not in script, f"{document.name}: expression inside run: {script!r}"
        assert "\n" not in script, f"{document.name}: one command per step: {script!r}"
        _our_command(script)


@pytest.mark.parametrize("document", DOCUMENTS, ids=_ids(DOCUMENTS))
def test_every_action_is_local_or_pinned_to_a_commit_with_its_version(document):
    lines = document.text.splitlines()
    for _, step in steps(document):
        uses = step.get("uses")
        if uses is None:
            continue
        if uses.startswith("$/"):
            assert (REPO_ROOT / uses[2:] / "action.yml").is_file(), f"{uses} does not exist"
            continue
        assert PINNED.match(uses), f"{document.name}: {uses} is not pinned to a full commit SHA"
        line = next(line for line in lines if f"uses: {uses}" in line)
        assert VERSION_COMMENT.search(line), f"{document.name}: {uses} lacks its `# vX.Y.Z` comment"


def test_one_version_of_each_action_everywhere():
    pins: dict[str, set[str]] = {}
    for document in DOCUMENTS:
        for _, step in steps(document):
            if "@" in step.get("uses", ""):
                name, sha = step["uses"].split("@")
                pins.setdefault(name, set()).add(sha)
    assert {name: len(shas) for name, shas in pins.items()} == dict.fromkeys(pins, 1)


@pytest.mark.parametrize("document", WORKFLOWS, ids=_ids(WORKFLOWS))
def test_least_privilege(document):
    assert document.data.get("permissions") == {}, "workflow-level permissions must be {}"
    for job_name, job in document.jobs.items():
        permissions = job.get("permissions")
        assert permissions is not None, f"{job_name}: no job-level permissions"
        assert permissions.get("contents") == "read"
        extra = {name: level for name, level in permissions.items() if name != "contents"}
        assert set(extra) <= {"id-token", "pull-requests", "actions", "checks"}, f"{job_name}: {extra}"
        job_steps = job.get("steps", [])
        commands = {_our_command(step["run"]) for step in job_steps if "run" in step}
        authenticates = any(step.get("uses", "").startswith(AUTH_ACTION) for step in job_steps)
        assert (extra.get("id-token") == "write") == authenticates, f"{job_name}: id-token only with auth"
        assert (extra.get("pull-requests") == "write") == bool(commands & COMMENTING), job_name
        # Reading the run's approvals (the HPT_MAX_COST gate) only where jobs are submitted.
        assert (extra.get("actions") == "read") == bool(commands & SPENDING), job_name
        assert (extra.get("checks") == "write") == bool(commands & REPORTING), job_name


@pytest.mark.parametrize("document", WORKFLOWS, ids=_ids(WORKFLOWS))
def test_every_job_has_a_timeout_and_checkouts_keep_no_credentials(document):
    for job_name, job in document.jobs.items():
        assert 0 < job["timeout-minutes"] <= 60, job_name
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, job_name


@pytest.mark.parametrize("document", WORKFLOWS, ids=_ids(WORKFLOWS))
def test_github_token_and_cloud_identity_only_from_contexts_not_secrets(document):
    for job_name, step in steps(document):
        env = step.get("env", {})
        if "GITHUB_TOKEN" in env:
            assert env["GITHUB_TOKEN"] == "${{ github.token }}", job_name
        if step.get("uses", "").startswith(AUTH_ACTION):
            # Workload Identity Federation: no key file, no secret
            assert set(step["with"]) == {"workload_identity_provider", "service_account"}
            assert all(value.startswith("${{ vars.") for value in step["with"].values())
    assert "secrets." not in document.text


def test_jobs_that_submit_share_one_queue_and_are_never_cancelled():
    submitting = [
        (document.name, job_name, job)
        for document in WORKFLOWS
        for job_name, job in document.jobs.items()
        if {_our_command(s["run"]) for s in job.get("steps", []) if "run" in s}
        & {"github submit", "github dispatch", "github command-run"}
    ]
    assert len(submitting) == 3
    for name, job_name, job in submitting:
        # One at a time, never cancelled, and queued: a merge that arrives while another waits
        # behind a 20-minute follow is not dropped (GitHub's default keeps one pending run).
        assert job["concurrency"] == {"group": "hpt-submit", "cancel-in-progress": False, "queue": "max"}, (
            name,
            job_name,
        )


def test_ci_runs_on_pull_requests_and_pushes_and_calls_lint_validate_test():
    ci = workflow("ci.yml")
    assert set(ci.triggers) == {"pull_request", "push"}
    commands = [_our_command(step["run"]) for _, step in steps(ci) if "run" in step]
    assert commands == ["make lint", "validate", "make test"]


def test_the_setup_action_caches_the_environment_on_the_requirements_and_installs_with_make():
    (setup,) = load_actions()
    cache = next(step for _, step in steps(setup) if step.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == ".venv"
    assert "hashFiles('requirements/*.txt')" in cache["with"]["key"]
    assert "steps.python.outputs.python-version" in cache["with"]["key"]
    assert "inputs.install" in cache["with"]["key"]  # a light and a full environment never mix
    installs = [(step["if"], _our_command(step["run"])) for _, step in steps(setup) if "run" in step]
    assert installs == [
        ("inputs.install == 'full' && steps.cache.outputs.cache-hit != 'true'", "make install"),
        (
            "inputs.install == 'automation' && steps.cache.outputs.cache-hit != 'true'",
            "make install-automation",
        ),
    ]


def test_only_ci_installs_everything_and_the_automation_needs_no_tensorflow():
    """Jobs that never train install requirements/automation.txt; it names nothing of the trainer."""
    for document in WORKFLOWS:
        for job_name, job in document.jobs.items():
            for step in job.get("steps", []):
                if step.get("uses") == "$/.github/actions/setup":
                    wanted = "full" if document.name == "ci.yml" else "automation"
                    assert (step.get("with") or {}).get("install", "full") == wanted, (
                        document.name,
                        job_name,
                    )
    automation = (REPO_ROOT / "requirements" / "automation.txt").read_text().lower()
    for heavy in ("tensorflow", "tensorflow-datasets", "pytest", "cloudml-hypertune"):
        assert f"\n{heavy}==" not in automation, heavy


def test_image_builds_when_any_build_input_changes_and_on_dispatch():
    build = workflow("build-image.yml")
    assert set(build.triggers) == {"push", "workflow_dispatch"}
    push = build.triggers["push"]
    assert push["branches"] == ["main"]
    expected = {f"{name}/**" if (REPO_ROOT / name).is_dir() else name for name in BUILD_INPUTS}
    assert set(push["paths"]) == expected
    commands = [_our_command(step["run"]) for _, step in steps(build) if "run" in step]
    assert commands == ["build", "github build-summary"]
    summary = build.jobs["build"]["steps"][-1]
    assert summary["if"] == "${{ always() }}"  # a failed build still links its log
    assert summary["env"]["BUILD_LOG_URL"] == "${{ steps.build.outputs.log-url }}"


def test_jobs_that_submit_build_or_find_the_image_first_then_check_the_project():
    for name, job_name in [
        ("experiments.yml", "submit"),
        ("experiments.yml", "dispatch"),
        ("hpt-commands.yml", "run"),
    ]:
        job_steps = workflow(name).jobs[job_name]["steps"]
        commands = [_our_command(s["run"]) for s in job_steps if "run" in s]
        assert commands[0] == "build", (name, job_name)
        # doctor after the build (the image exists by then), before anything is submitted, sized
        # from what this run submits, its table in the job summary.
        assert commands[1] == "doctor" and commands[2].startswith("github "), (name, job_name)
        build, doctor = (s for s in job_steps if "run" in s and _our_command(s["run"]) in ("build", "doctor"))
        assert doctor["run"].endswith(" doctor --from-event --summary"), (name, job_name)
        assert doctor.get("if") == build.get("if"), (name, job_name)  # skipped with it on a dry run


def test_experiments_workflow_triggers_and_dispatch_inputs():
    from scripts.github.dispatch_flow import parse_inputs

    experiments = workflow("experiments.yml")
    on = experiments.triggers
    assert on["pull_request"] == {"paths": ["experiments.yaml"]}
    assert on["push"] == {"branches": ["main"], "paths": ["experiments.yaml"]}
    inputs = on["workflow_dispatch"]["inputs"]
    assert set(inputs) == {"experiment", "max_trials", "parallel_trials", "pull_request", "dry_run"}
    assert inputs["experiment"]["required"] is True
    assert inputs["dry_run"]["type"] == "boolean"
    # What the form sends is what the flow reads.
    request = parse_inputs(
        {"experiment": "x", "max_trials": "3", "parallel_trials": "1", "pull_request": "", "dry_run": "true"}
    )
    assert request.overrides == ("max_trial_count=3", "parallel_trial_count=1")
    jobs = experiments.jobs
    assert jobs["plan"]["if"] == "github.event_name == 'pull_request'"
    assert jobs["plan"]["concurrency"]["cancel-in-progress"] is True
    assert jobs["submit"]["if"] == "github.event_name == 'push'"
    assert jobs["dispatch"]["if"] == "github.event_name == 'workflow_dispatch' && !inputs.dry_run"
    # A dry run waits for no approval and gets no credentials: its own job, outside the environment.
    assert jobs["dry-run"]["if"] == "github.event_name == 'workflow_dispatch' && inputs.dry_run"
    assert "environment" not in jobs["dry-run"]
    assert jobs["dry-run"]["permissions"] == {"contents": "read"}
    assert [_our_command(s["run"]) for s in jobs["dry-run"]["steps"] if "run" in s] == ["github dry-run"]
    checkout = jobs["plan"]["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0  # the merge base must be in the clone


def test_report_runs_on_a_schedule_and_by_dispatch():
    report = workflow("report.yml")
    assert set(report.triggers) == {"schedule", "workflow_dispatch"}
    assert report.triggers["schedule"][0]["cron"]
    assert report.data["concurrency"]["cancel-in-progress"] is False


def test_comment_commands_never_run_the_pull_requests_code():
    """The default branch's code runs every step; the one commit the command names is checked out
    only by `build`, into a directory of its own, after ours, for our `build` to send to Cloud Build."""
    commands = workflow("hpt-commands.yml")
    assert commands.triggers == {"issue_comment": {"types": ["created"]}}
    for job_name, job in commands.jobs.items():
        checkouts = [s for s in job.get("steps", []) if s.get("uses", "").startswith("actions/checkout@")]
        assert "ref" not in checkouts[0]["with"] and "path" not in checkouts[0]["with"], job_name
        for step in checkouts:
            assert "repository" not in step["with"], job_name
        if job_name != "build":
            assert len(checkouts) == 1, job_name
    build = commands.jobs["build"]
    ours, commit = (s for s in build["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert commit["with"] == {
        "ref": "${{ needs.command.outputs.trainer }}",
        "path": "commit-source",
        "persist-credentials": False,
    }
    runs = [s["run"] for s in build["steps"] if "run" in s]
    assert runs[0] == ".venv/bin/python -m scripts build --source commit-source"
    assert build["needs"] == "command" and build["if"] == "needs.command.outputs.trainer != ''"
    first, second = commands.jobs["command"], commands.jobs["run"]
    assert "id-token" not in first["permissions"]
    assert second["needs"] == ["command", "build"]
    # After `build`, also when it was skipped (the default branch's trainer) or failed (the reply says so).
    assert second["if"] == "${{ !cancelled() && needs.command.outputs.verb == 'run' }}"
    post = next(s for s in second["steps"] if s.get("id") == "post")
    assert post["env"]["HPT_TRAINER_IMAGE"] == "${{ needs.build.outputs.image }}"
    assert post["env"]["HPT_TRAINER_DIGEST"] == "${{ needs.build.outputs.digest }}"
    assert build["outputs"] == {
        "image": "${{ steps.build.outputs.image }}",
        "digest": "${{ steps.build.outputs.digest }}",
    }
    # `/hpt promote`: its own second job, which builds and submits nothing.
    promote = commands.jobs["promote"]
    assert promote["needs"] == "command" and promote["if"] == "needs.command.outputs.verb == 'promote'"
    assert [_our_command(s["run"]) for s in promote["steps"] if "run" in s] == ["github command-promote"]
    assert "github.event.issue.pull_request" in first["if"]


# Steps that plan or submit experiments: each must see the same settings, so a `/hpt plan` and the
# pull request's plan (and the submission after) compile the same job.
PLANNING = {"github plan", "github submit", "github dispatch", "github command", "github command-run"}
# Per-step variables that are not settings (a token, the pinned head).
NOT_SETTINGS = {
    "GITHUB_TOKEN",
    "HPT_PINNED_HEAD",
    "HPT_RESULTS_DIR",
    "HPT_TRAINER_IMAGE",
    "HPT_TRAINER_DIGEST",
}


def _settings_of(document, job_name: str, step: dict) -> dict[str, str]:
    job = document.jobs[job_name]
    merged = {**(document.data.get("env") or {}), **(job.get("env") or {}), **(step.get("env") or {})}
    return {name: value for name, value in merged.items() if name not in NOT_SETTINGS}


def test_every_step_that_plans_or_submits_gets_the_same_settings():
    seen: dict[str, dict[str, str]] = {}
    for document in WORKFLOWS:
        for job_name, step in steps(document):
            if "run" in step and "scripts github" in step["run"]:
                command = _our_command(step["run"])
                if command in PLANNING:
                    seen[f"{document.name}:{job_name}:{command}"] = _settings_of(document, job_name, step)
    assert {key.rsplit(":", 1)[-1] for key in seen} == PLANNING
    first = next(iter(seen.values()))
    assert "HPT_TRIAL_SERVICE_ACCOUNT" in first and "GOOGLE_CLOUD_PROJECT" in first
    assert {key: value for key, value in seen.items() if value != first} == {}


def test_every_job_that_can_create_a_vertex_job_runs_in_the_spending_environment():
    """docs/setup.md: required reviewers on `vertex` gate every job that can spend, and `/hpt
    promote`, which acts as the same account (the gates of `/hpt run`)."""
    for document in WORKFLOWS:
        for job_name, job in document.jobs.items():
            commands = {_our_command(step["run"]) for step in job.get("steps", []) if "run" in step}
            gated = job.get("environment") == "${{ vars.HPT_ENVIRONMENT || 'vertex' }}"
            assert gated == bool(commands & (SPENDING | PROMOTING)), (document.name, job_name)


def _concurrency_blocks():
    for document in WORKFLOWS:
        if "concurrency" in document.data:
            yield document.name, "(workflow)", document.data["concurrency"]
        for job_name, job in document.jobs.items():
            if "concurrency" in job:
                yield document.name, job_name, job["concurrency"]


def test_no_run_waiting_in_a_group_is_dropped_for_a_newer_one():
    """Where runs are not cancelled, they queue: GitHub's default `queue: single` cancels the run
    that waits when another arrives (a read-only member's comment cancelled a maintainer's)."""
    blocks = list(_concurrency_blocks())
    assert blocks
    for name, job_name, block in blocks:
        assert isinstance(block, dict), (name, job_name)
        if block.get("cancel-in-progress") is True:
            assert "queue" not in block, (name, job_name)  # only the newest run matters there
            continue
        assert block.get("cancel-in-progress") is False and block.get("queue") == "max", (name, job_name)


def test_each_comment_command_waits_in_a_group_of_its_own():
    command = workflow("hpt-commands.yml").jobs["command"]
    # Per comment, not per pull request: no comment can displace another's command.
    assert command["concurrency"]["group"] == "hpt-command-${{ github.event.comment.id }}"


# Which Google account each credentialed job may become (docs/setup.md, steps 4 and 5).
DEPLOYER = "${{ vars.GCP_DEPLOYER_SERVICE_ACCOUNT }}"
BUILDER = "${{ vars.GCP_BUILDER_SERVICE_ACCOUNT }}"
REPORTER = "${{ vars.GCP_REPORTER_SERVICE_ACCOUNT }}"
SPENDING_ENVIRONMENT = "${{ vars.HPT_ENVIRONMENT || 'vertex' }}"
BUILD_ENVIRONMENT = "vertex-build"
MAIN_ONLY = "github.ref == 'refs/heads/main'"


def _credentialed_jobs():
    for document in WORKFLOWS:
        for job_name, job in document.jobs.items():
            auth = [s for s in job.get("steps", []) if s.get("uses", "").startswith(AUTH_ACTION)]
            if auth or job.get("permissions", {}).get("id-token"):
                yield document, job_name, job, auth


def test_every_job_with_google_credentials_is_one_the_accounts_bindings_admit():
    """The deployer only in the spending environment, the builder only in build-image's main-only
    job, the reporter only where nothing is built or submitted."""
    seen = {}
    for document, job_name, job, auth in _credentialed_jobs():
        where = (document.name, job_name)
        assert len(auth) == 1, where
        account = auth[0]["with"]["service_account"]
        commands = {_our_command(step["run"]) for step in job.get("steps", []) if "run" in step}
        seen.setdefault(account, []).append(where)
        if account == DEPLOYER:
            assert job.get("environment") == SPENDING_ENVIRONMENT, where
            assert commands & (SPENDING | PROMOTING), where
        elif account == BUILDER:
            # build-image.yml's, and `/hpt run`'s build of the commit it names (issue_comment runs on main)
            assert where in (("build-image.yml", "build"), ("hpt-commands.yml", "build")), where
            assert job.get("environment") == BUILD_ENVIRONMENT, where
            if document.name == "build-image.yml":
                assert job.get("if") == MAIN_ONLY, where  # a dispatch on a branch does not start it
            assert commands == {"build", "github build-summary"}, where
        else:
            assert account == REPORTER, where
            assert "environment" not in job, where
            assert commands <= {"github report", "github link-files"}, where
    assert set(seen) == {DEPLOYER, BUILDER, REPORTER}
    assert seen[REPORTER] == [("report.yml", "report")]


def test_only_two_environments_are_named_and_only_where_credentials_are_given():
    for document in WORKFLOWS:
        for job_name, job in document.jobs.items():
            environment = job.get("environment")
            if environment is None:
                continue
            assert environment in (SPENDING_ENVIRONMENT, BUILD_ENVIRONMENT), (document.name, job_name)
            assert job["permissions"].get("id-token") == "write", (document.name, job_name)


def test_every_job_that_follows_its_tuning_job_hands_the_winner_on_as_job_outputs():
    """`github submit`, `dispatch` and `command-run` set the winner's step outputs
    (scripts/github/follow_flow.py); a later job of the workflow reads them only through job outputs."""
    following = re.compile(r"-m scripts github (submit|dispatch|command-run)$")
    found = 0
    for document in WORKFLOWS:
        for name, job in document.jobs.items():
            for step in job.get("steps", []):
                if following.search(step.get("run", "").strip()):
                    found += 1
                    expected = {
                        key: f"${{{{ steps.{step['id']}.outputs.{key} }}}}"
                        for key in ("best-value", "best-flags", "best-model-dir")
                    }
                    assert job.get("outputs", {}) | expected == job.get("outputs"), f"{document.name}: {name}"
    assert found == 3

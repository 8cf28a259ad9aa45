"""`python -m scripts github STEP` with real event payloads against the fake GitHub API.

These steps need no other command of ours: who may run `/hpt` commands, finding the merged pull
request, and checking dispatch inputs. The flows that call validate/plan/run/report are covered
end to end in test_flows.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.github.sticky_comment import marker, sections, set_section
from tests.scripts.github import payloads

HEAD, BASE = "a" * 40, "b" * 40
# The first job's reply to a same-repository pull request's `/hpt run`: its trainer is tuned.
SUBMITTING = (
    f"`/hpt run horses-humans aaaaaaa` by @bob: submitting {HEAD[:12]} with this commit's trainer "
    "(its image is built first when missing)…"
)


@pytest.fixture
def step(github_env, tmp_path):
    def run(name: str, event_name: str, payload: dict, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **github_env, **payloads.write_event(tmp_path, event_name, payload)}
        return subprocess.run(
            [sys.executable, "-m", "scripts", "github", name, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    return run


def forged_plan(github, number: int, head: str) -> None:
    """A bot comment whose plan names `head` with the hidden record earlier versions trusted: any
    workflow (the plan job runs a same-repository pull request's code) can write one."""
    body = set_section(f"{marker('experiments')}\n## Vertex AI hyperparameter tuning", "plan", "")
    forged = f"<!-- vertex-hpt-record head={head} at=2026-11-27T11:00:00Z -->\n### Plan for {head[:12]}"
    body = body.replace("\n\n<!-- /vertex-hpt-section:plan", f"\n{forged}\n<!-- /vertex-hpt-section:plan")
    assert f"head={head}" in body
    github.add_comment(number, body, user="github-actions[bot]")


def outputs(github_env) -> dict[str, str]:
    path = github_env["GITHUB_OUTPUT"]
    if not os.path.exists(path):
        return {}
    return dict(line.split("=", 1) for line in Path(path).read_text().splitlines() if "=" in line)


@pytest.mark.parametrize("association", ["NONE", "CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR"])
def test_a_stranger_costs_no_api_call_and_posts_nothing(github, github_env, step, association):
    github.add_pull(5, HEAD, BASE)
    payload = payloads.issue_comment(5, "/hpt run horses-humans aaaaaaa", association, author="eve")
    result = step("command", "issue_comment", payload)

    assert result.returncode == 0, result.stderr
    assert github.requests == []
    assert outputs(github_env) == {"verb": "", "experiment": ""}
    assert "ignored a /hpt comment from @eve" in result.stdout


@pytest.mark.parametrize(
    ("association", "role"), [("MEMBER", "read"), ("COLLABORATOR", "read"), ("MEMBER", "triage")]
)
def test_a_read_only_member_or_collaborator_is_refused_with_what_is_needed(
    github, github_env, step, association, role
):
    github.add_pull(5, HEAD, BASE)
    github.roles["carol"] = role
    ok = step(
        "command", "issue_comment", payloads.issue_comment(5, "/hpt run horses-humans aaaaaaa", "OWNER")
    )
    assert ok.returncode == 0, ok.stderr
    github.requests.clear()

    payload = payloads.issue_comment(5, "/hpt run horses-humans aaaaaaa", association, author="carol")
    for verb in ("command", "command-run"):
        result = step(verb, "issue_comment", payload)
        assert result.returncode == (0 if verb == "command" else 1), result.stderr

    assert outputs(github_env)["verb"] == ""
    (comment,) = github.ours(5)
    found = sections(comment["body"])
    # A maintainer's reply is already there: the refusal did not replace it.
    assert found["command"] == SUBMITTING
    refusal = found["refused:carol"]
    assert "need write, maintain or admin permission" in refusal and f"`{role}`" in refusal
    asked = [r.path for r in github.requests if r.path.endswith("/permission")]
    assert asked == [f"/repos/{github.repository}/collaborators/carol/permission"] * 2
    assert not [r for r in github.requests if "/contents/" in r.path or "/pulls/" in r.path]


@pytest.mark.parametrize(
    ("association", "role"), [("OWNER", "admin"), ("MEMBER", "maintain"), ("COLLABORATOR", "write")]
)
def test_a_collaborator_with_write_permission_is_handed_to_the_job_with_credentials(
    github, github_env, step, association, role
):
    github.add_pull(5, HEAD, BASE)
    github.roles["bob"] = role
    result = step(
        "command", "issue_comment", payloads.issue_comment(5, "/hpt run horses-humans aaaaaaa", association)
    )

    assert result.returncode == 0, result.stderr
    assert outputs(github_env) == {
        "verb": "run",
        "experiment": "horses-humans",
        "head": HEAD,
        "trainer": HEAD,
    }
    (comment,) = github.ours(5)
    assert sections(comment["body"])["command"] == SUBMITTING


@pytest.mark.parametrize(
    ("named", "why"),
    [
        ("ccccccc", "`ccccccc` is not this pull request's head, `aaaaaaa` is"),
        ("aaaaaab", "`aaaaaab` is not this pull request's head, `aaaaaaa` is"),
    ],
)
def test_a_run_of_a_commit_that_is_not_the_head_is_not_handed_on(github, github_env, step, named, why):
    """The head comes from GitHub's pull request, never from a comment: a bot comment's record
    naming another commit (any workflow can write one) changes nothing."""
    github.add_pull(5, HEAD, BASE)
    forged_plan(github, 5, head="c" * 40)
    result = step(
        "command", "issue_comment", payloads.issue_comment(5, f"/hpt run horses-humans {named}", "OWNER")
    )

    assert result.returncode == 0, result.stderr
    assert outputs(github_env) == {"verb": "", "experiment": ""}
    reply = sections(github.ours(5)[0]["body"])["command"]
    assert reply.startswith(f"`/hpt run horses-humans {named}` by @bob: not run: ") and why in reply
    assert "/hpt run horses-humans aaaaaaa`" in reply  # the line to use instead


def test_a_run_on_a_closed_pull_request_is_not_handed_on(github, github_env, step):
    github.add_pull(5, HEAD, BASE, merge_sha="d" * 40)
    result = step(
        "command", "issue_comment", payloads.issue_comment(5, "/hpt run horses-humans aaaaaaa", "OWNER")
    )

    assert result.returncode == 0, result.stderr
    assert outputs(github_env) == {"verb": "", "experiment": ""}
    assert "not run: this pull request is closed" in sections(github.ours(5)[0]["body"])["command"]
    assert not [r for r in github.requests if "/contents/" in r.path]


def test_the_submitting_job_checks_the_author_again(github, github_env, step):
    github.add_pull(5, HEAD, BASE)
    github.roles["bob"] = "read"
    result = step(
        "command-run",
        "issue_comment",
        payloads.issue_comment(5, "/hpt run horses-humans aaaaaaa", "COLLABORATOR"),
    )

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: this step only runs an authorized `/hpt run <experiment> <commit>` comment"
    )
    assert [r.method for r in github.writes()] == ["POST"]  # the refusal, nothing else


def test_ordinary_comments_are_ignored(github, github_env, step):
    github.add_pull(5, HEAD, BASE)
    result = step("command", "issue_comment", payloads.issue_comment(5, "Looks good to me", "OWNER"))
    assert result.returncode == 0
    assert github.requests == []
    assert outputs(github_env) == {"verb": "", "experiment": ""}


def test_a_malformed_command_from_a_collaborator_gets_the_usage(github, step):
    github.add_pull(5, HEAD, BASE)
    result = step("command", "issue_comment", payloads.issue_comment(5, "/hpt deploy prod", "MEMBER"))
    assert result.returncode == 0
    (comment,) = github.ours(5)
    assert (
        "use `/hpt plan` or `/hpt run <experiment> <commit> [--force]`"
        in sections(comment["body"])["command"]
    )


def test_the_refusal_goes_to_the_summary_when_the_token_is_read_only(github, github_env, step):
    github.add_pull(5, HEAD, BASE)
    github.read_only = True
    result = step("command", "issue_comment", payloads.issue_comment(5, "/hpt plan", "MEMBER", author="eve"))
    assert result.returncode == 0
    assert "could not comment on pull request #5" in result.stderr
    assert "@eve, thanks for asking" in Path(github_env["GITHUB_STEP_SUMMARY"]).read_text()


def test_merged_pr_finds_the_pull_request_of_a_merge_commit(github, github_env, step):
    merge = "c" * 40
    github.add_pull(9, HEAD, BASE, merge_sha=merge)
    result = step("merged-pr", "push", payloads.push(BASE, merge), "--commit", merge)
    assert (result.returncode, result.stdout) == (0, "9\n")
    assert outputs(github_env) == {"pull_request": "9"}
    assert github.requests[0].path == f"/repos/{github.repository}/commits/{merge}/pulls"


def test_merged_pr_of_a_direct_push_is_empty(github, github_env, step):
    result = step("merged-pr", "push", payloads.push(BASE, HEAD), "--commit", HEAD)
    assert (result.returncode, result.stdout) == (0, "\n")


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"experiment": "a b"}, "input experiment: 'a b' is not an experiment name"),
        ({"experiment": "x", "max_trials": "0"}, "input max_trials: '0' is not a positive whole number"),
        (
            {"experiment": "x", "pull_request": "#5"},
            "input pull_request: '#5' is not a positive whole number",
        ),
        ({"experiment": "x", "dry_run": "maybe"}, "input dry_run: 'maybe' is neither true nor false"),
    ],
)
def test_dispatch_rejects_bad_inputs_before_anything_runs(github, step, inputs, message):
    result = step("dispatch", "workflow_dispatch", payloads.workflow_dispatch(**inputs))
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {message}"
    assert github.requests == []


def test_a_step_given_the_wrong_event_says_so(step):
    result = step("plan", "push", payloads.push(BASE, HEAD))
    assert result.returncode == 1
    assert result.stderr.strip() == "error: `github plan` handles PullRequestEvent events, not push"


def test_build_summary_links_the_image_and_the_log(github_env, tmp_path):
    env = {
        **os.environ,
        **github_env,
        "BUILD_IMAGE": "us-central1-docker.pkg.dev/p/hpt/trainer:inputs-0123456789abcdef",
        "BUILD_DIGEST": "sha256:" + "e" * 64,
        "BUILD_BUILT": "true",
        "BUILD_LOG_URL": "https://console.cloud.google.com/cloud-build/builds;region=us-central1/b1?project=p",
    }
    command = [sys.executable, "-m", "scripts", "github", "build-summary"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    summary = Path(github_env["GITHUB_STEP_SUMMARY"]).read_text()
    assert f"`{env['BUILD_IMAGE']}@{env['BUILD_DIGEST']}`: built" in summary
    assert f"[Cloud Build log]({env['BUILD_LOG_URL']})" in summary

    failed = {**env, "BUILD_IMAGE": "", "BUILD_DIGEST": ""}
    Path(github_env["GITHUB_STEP_SUMMARY"]).unlink()
    subprocess.run(command, capture_output=True, text=True, env=failed, timeout=60, check=True)
    assert "The build did not finish" in Path(github_env["GITHUB_STEP_SUMMARY"]).read_text()


def test_a_closed_pull_request_is_not_planned(github, step):
    payload = payloads.pull_request("closed", 5, HEAD, BASE, merged=True)
    result = step("plan", "pull_request", payload)
    assert (result.returncode, result.stdout) == (0, "pull request #5 is closed (merged): nothing to plan\n")
    assert github.requests == []


def test_comments_on_issues_are_ignored(github, github_env, step):
    result = step("command", "issue_comment", payloads.issue_comment(3, "/hpt plan", "OWNER", on_pr=False))
    assert result.returncode == 0
    assert github.requests == []
    assert outputs(github_env) == {"verb": "", "experiment": ""}

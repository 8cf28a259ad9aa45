"""Event payloads of each kind into typed values, and `/hpt` command parsing."""

from __future__ import annotations

import pytest

from scripts.errors import UserError
from scripts.github.events import (
    ZERO_SHA,
    DispatchEvent,
    HptCommand,
    IssueCommentEvent,
    PullRequestEvent,
    PushEvent,
    load_event,
    parse_command,
    parse_event,
)
from tests.scripts.github import payloads

HEAD, BASE = "a" * 40, "b" * 40


@pytest.mark.parametrize("action", ["opened", "synchronize", "reopened"])
def test_pull_request_opened_and_synchronized(action):
    event = parse_event("pull_request", payloads.pull_request(action, 5, HEAD, BASE))
    assert event == PullRequestEvent(action, 5, HEAD, BASE, "main", merged=False, from_fork=False)


def test_pull_request_closed_and_merged():
    event = parse_event("pull_request", payloads.pull_request("closed", 5, HEAD, BASE, merged=True))
    assert isinstance(event, PullRequestEvent) and event.merged and event.action == "closed"


def test_pull_request_from_a_fork_is_recognized():
    event = parse_event(
        "pull_request", payloads.pull_request("opened", 5, HEAD, BASE, fork="mallory/hpt-demo")
    )
    assert event.from_fork


def test_push_of_a_new_branch_has_no_before():
    assert parse_event("push", payloads.push(ZERO_SHA, HEAD)) == PushEvent("refs/heads/main", ZERO_SHA, HEAD)


def test_workflow_dispatch_inputs_are_text():
    event = parse_event(
        "workflow_dispatch", payloads.workflow_dispatch(experiment="x", dry_run=True, max_trials="")
    )
    assert event == DispatchEvent("refs/heads/main", {"experiment": "x", "dry_run": "true", "max_trials": ""})


def test_issue_comment_on_a_pull_request():
    event = parse_event("issue_comment", payloads.issue_comment(5, "/hpt plan", "CONTRIBUTOR", author="eve"))
    assert event == IssueCommentEvent(
        "created", 5, True, "/hpt plan", "eve", "CONTRIBUTOR", 77, "2026-11-27T12:00:00Z"
    )
    assert not event.trusted
    assert parse_event("issue_comment", payloads.issue_comment(5, "/hpt plan", "MEMBER")).trusted
    assert not parse_event(
        "issue_comment", payloads.issue_comment(5, "x", "OWNER", on_pr=False)
    ).on_pull_request


def test_a_payload_missing_a_field_is_a_user_error():
    with pytest.raises(UserError, match="the push event payload lacks a field this step needs: 'after'"):
        parse_event("push", {"ref": "refs/heads/main"})


def test_load_event_outside_actions(tmp_path):
    with pytest.raises(UserError, match="run this inside GitHub Actions"):
        load_event({})
    bad = tmp_path / "event.json"
    bad.write_text("[1, 2")
    with pytest.raises(UserError, match="cannot read the event payload"):
        load_event({"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(bad)})


@pytest.mark.parametrize(
    ("body", "command"),
    [
        ("/hpt plan", HptCommand("plan")),
        ("  /hpt   run   horses-humans  1a2b3c4 \nplease", HptCommand("run", "horses-humans", "1a2b3c4")),
        (f"/hpt run wide {'f' * 40} --force", HptCommand("run", "wide", "f" * 40, force=True)),
        (" /hpt  promote   wide \nthe best one", HptCommand("promote", "wide")),
        ("LGTM\n/hpt plan", None),  # only the first line counts
        ("/hpthing", None),
        ("", None),
    ],
)
def test_parse_command(body, command):
    assert parse_command(body) == command


@pytest.mark.parametrize(
    "body",
    [
        "/hpt",
        "/hpt deploy",
        "/hpt run",
        "/hpt run a b",
        "/hpt run $(id) 1a2b3c4",
        "/hpt run wide 1a2b3c",  # six digits: too short to name a commit
        "/hpt run wide 1A2B3C4",  # GitHub shows commits in lowercase
        "/hpt run wide 1a2b3c4 --forced",
        "/hpt run wide 1a2b3c4 extra",
        "/hpt promote",
        "/hpt promote $(id)",
        "/hpt promote wide 1a2b3c4",
    ],
)
def test_malformed_commands_explain_the_syntax(body):
    with pytest.raises(UserError, match=r"use `/hpt plan` or `/hpt run <experiment> <commit> \[--force\]`"):
        parse_command(body)


def test_a_run_without_its_commit_says_it_needs_one():
    """The commit is what a writer reviewed; a command without it could run whatever is pushed next."""
    with pytest.raises(UserError, match="`/hpt run` needs the commit to run after the experiment's name"):
        parse_command("/hpt run horses-humans")


def test_a_promote_command_reads_back_as_written_and_the_usage_names_it():
    assert parse_command("/hpt promote horses-humans").text == "/hpt promote horses-humans"
    with pytest.raises(UserError, match=r"`/hpt promote <experiment>`"):
        parse_command("/hpt deploy wide")

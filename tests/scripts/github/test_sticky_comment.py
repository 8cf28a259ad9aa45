"""Sticky comments: one per key, found through pagination, edited in place; and `comment`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from werkzeug import Response

from scripts.github.api import GitHubClient, GitHubError
from scripts.github.sticky_comment import (
    MAX_BODY,
    WRITE_ATTEMPTS,
    fit,
    marker,
    sections,
    set_section,
    update_sections,
    upsert_comment,
)


@pytest.fixture
def client(github) -> GitHubClient:
    """A client that reads its comment back at once: the concurrent writers here act on the fake's
    hooks (`after_comment_write`), not in the pause a real job leaves them."""
    return GitHubClient(github.repository, github.token, github.base_url, comment_settle_seconds=0)


def test_created_once_then_updated(github, client):
    github.add_pull(5, "a" * 40, "b" * 40)

    first, created = upsert_comment(client, 5, "experiments", "plan v1")
    second, updated = upsert_comment(client, 5, "experiments", "plan v2")

    assert (first, second) == ("created", "updated")
    assert created.id == updated.id
    assert [c["body"] for c in github.ours(5)] == [f"{marker('experiments')}\nplan v2"]


def test_an_unchanged_body_is_not_written_again(github, client):
    github.add_pull(5, "a" * 40, "b" * 40)
    upsert_comment(client, 5, "experiments", "same")
    writes = len(github.writes())

    action, _ = upsert_comment(client, 5, "experiments", "same")

    assert action == "unchanged"
    assert len(github.writes()) == writes


def test_the_marker_is_found_on_a_later_page(github, client):
    github.page_size = 10
    github.add_pull(5, "a" * 40, "b" * 40)
    for index in range(25):
        github.add_comment(5, f"review comment {index}")
    ours = github.add_comment(5, f"{marker('experiments')}\nold plan", user="github-actions[bot]")
    for index in range(3):
        github.add_comment(5, f"later {index}")

    action, comment = upsert_comment(client, 5, "experiments", "new plan")

    assert (action, comment.id) == ("updated", ours["id"])
    assert len(github.comments[5]) == 29
    assert {r.query.get("page", "1") for r in github.requests if r.method == "GET"} == {"1", "2", "3"}


def test_keys_are_separate_comments_and_quoting_a_marker_does_not_count(github, client):
    github.add_pull(5, "a" * 40, "b" * 40)
    github.add_comment(5, f"> {marker('experiments')}\n> quoted by a reviewer")

    upsert_comment(client, 5, "experiments", "plan")
    upsert_comment(client, 5, "other", "something else")

    assert [c["body"].splitlines()[0] for c in github.ours(5)] == [marker("experiments"), marker("other")]


def test_sections_are_replaced_in_place_and_added_in_order():
    order = ("plan", "submitted", "result")
    body = set_section("", "plan", "the plan", order=order)
    body = set_section(body, "result:job-1", "best 0.9", order=order)
    body = set_section(body, "submitted", "job-1 submitted", order=order)
    body = set_section(body, "plan", "the new plan", order=order)

    assert list(sections(body)) == ["plan", "submitted", "result:job-1"]
    assert sections(body)["plan"] == "the new plan"


def test_fit_cuts_to_the_limit_without_breaking_a_marker():
    body = "x" * (MAX_BODY - 20) + "<!-- vertex-hpt-section:result:abc -->\n" + "y" * 100
    cut = fit(body)
    assert len(cut) <= MAX_BODY
    assert "<!-- vertex-hpt-section" not in cut
    assert "cut to fit" in cut


def _comment_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts", "comment", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_comment_command_creates_then_updates(github, github_env, tmp_path):
    github.add_pull(12, "a" * 40, "b" * 40)
    body = tmp_path / "body.md"
    env = {**os.environ, **github_env}

    body.write_text("## Plan\nfirst")
    created = _comment_cli("--pr", "12", "--body-file", str(body), "--key", "plan", env=env)
    body.write_text("## Plan\nsecond")
    updated = _comment_cli("--pr", "12", "--body-file", str(body), "--key", "plan", env=env)

    assert created.returncode == 0 and created.stdout.startswith("created comment")
    assert updated.returncode == 0 and updated.stdout.startswith("updated comment")
    assert [c["body"] for c in github.ours(12)] == [f"{marker('plan')}\n## Plan\nsecond"]
    assert github.token not in created.stdout + created.stderr + updated.stdout + updated.stderr


def test_comment_command_on_a_fork_token_fails_in_one_line(github, github_env, tmp_path):
    github.add_pull(12, "a" * 40, "b" * 40)
    github.read_only = True
    body = tmp_path / "body.md"
    body.write_text("plan")

    result = _comment_cli("--pr", "12", "--body-file", str(body), env={**os.environ, **github_env})

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "pull-requests: write" in result.stderr and "forks get a read-only token" in result.stderr


def test_comment_command_404_on_a_missing_pull_request(github, github_env, tmp_path):
    body = tmp_path / "body.md"
    body.write_text("plan")
    result = _comment_cli("--pr", "404", "--body-file", str(body), env={**os.environ, **github_env})
    assert result.returncode == 1
    assert "HTTP 404: not found in octo-org/hpt-demo" in result.stderr


def test_comment_command_missing_body_file(github_env, tmp_path):
    result = _comment_cli(
        "--pr", "1", "--body-file", str(tmp_path / "nope.md"), env={**os.environ, **github_env}
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.md'}: No such file or directory"


def test_a_comment_by_someone_else_with_our_marker_is_not_ours(github, client):
    github.add_pull(5, "a" * 40, "b" * 40)
    github.add_comment(5, f"{marker('experiments')}\nfake results", user="mallory")

    action, comment = upsert_comment(client, 5, "experiments", "the real plan")

    assert action == "created"
    assert [c["user"]["login"] for c in github.ours(5)] == ["mallory", "github-actions[bot]"]
    assert github.ours(5)[0]["body"].endswith("fake results")  # untouched


def test_pagination_never_follows_a_link_to_another_host(github, client):
    github.add_pull(5, "a" * 40, "b" * 40)
    elsewhere = Response("[]", 200, {"Link": '<https://attacker.example/x?page=2>; rel="next"'})
    github.scripted.append(("GET", r".*/issues/5/comments", elsewhere))
    with pytest.raises(GitHubError, match="next page is on another host"):
        upsert_comment(client, 5, "experiments", "plan")


def test_comment_command_default_key_leaves_the_workflows_comment_alone(github, github_env, tmp_path):
    github.add_pull(12, "a" * 40, "b" * 40)
    github.add_comment(12, f"{marker('experiments')}\nthe plan", user="github-actions[bot]")
    body = tmp_path / "body.md"
    body.write_text("a note")
    env = {**os.environ, **github_env}

    assert _comment_cli("--pr", "12", "--body-file", str(body), env=env).returncode == 0
    assert [c["body"] for c in github.ours(12)] == [
        f"{marker('experiments')}\nthe plan",
        f"{marker('comment')}\na note",
    ]

    bad = _comment_cli("--pr", "12", "--body-file", str(body), "--key", "no spaces", env=env)
    assert bad.returncode == 1
    assert bad.stderr == "error: comment key 'no spaces': use letters, digits and . _ : -\n"


ORDER = ("plan", "submitted", "result")


def _stale_writer(section: str, content: str):
    """Another job that read the comment before our write and writes its own edit of that old body."""
    stale: dict[str, str] = {}

    def read(fake) -> None:
        stale["body"] = fake.ours(5)[0]["body"]

    def write(fake) -> None:
        fake.ours(5)[0]["body"] = set_section(stale["body"], section, content, order=ORDER)

    return read, write


def test_a_section_dropped_by_a_concurrent_writer_is_written_again(github, client):
    github.add_pull(5, "a" * 40, "b" * 40)
    update_sections(client, 5, {"plan": "the plan"}, order=ORDER)
    read_before_us, write_after_us = _stale_writer("submitted", "job-2 submitted")
    read_before_us(github)  # the other job has read the comment: plan only
    github.after_comment_write.append(write_after_us)  # ...and writes right after our write

    action, comment = update_sections(client, 5, {"result:job-1": "best 0.91"}, order=ORDER)

    assert action == "updated"
    assert sections(comment.body) == {
        "plan": "the plan",
        "submitted": "job-2 submitted",
        "result:job-1": "best 0.91",
    }
    assert sections(github.ours(5)[0]["body"]) == sections(comment.body)
    assert len([r for r in github.writes() if r.method == "PATCH"]) == 2  # ours, then ours again


def test_a_writer_that_keeps_losing_gives_up_with_a_clear_error(github, client):
    github.add_pull(5, "a" * 40, "b" * 40)
    update_sections(client, 5, {"plan": "the plan"}, order=ORDER)
    read_before_us, write_after_us = _stale_writer("submitted", "job-2 submitted")
    read_before_us(github)
    github.after_comment_write.extend([write_after_us] * WRITE_ATTEMPTS)

    with pytest.raises(GitHubError, match=r"#5: another job kept overwriting our comment's result:job-1"):
        update_sections(client, 5, {"result:job-1": "best 0.91"}, order=ORDER)


def test_two_jobs_creating_the_comment_at_once_end_with_one_comment(github, client):
    github.add_pull(5, "a" * 40, "b" * 40)

    def the_other_job_posts_first(fake) -> None:
        # It found no comment either, and its POST landed just before ours: it is listed first.
        ours = fake.comments[5].pop()
        theirs = fake.add_comment(
            5, set_section(marker("experiments"), "plan", "the plan"), "github-actions[bot]"
        )
        theirs["id"] = ours["id"] - 1
        fake.comments[5].append(ours)

    github.after_comment_write.append(the_other_job_posts_first)

    action, comment = update_sections(client, 5, {"result:job-1": "best 0.91"}, order=ORDER)

    (only,) = github.ours(5)
    assert only["id"] == comment.id
    assert sections(only["body"]) == {"plan": "the plan", "result:job-1": "best 0.91"}
    assert [r.method for r in github.writes()] == ["POST", "DELETE", "PATCH"]

"""The REST client against a real HTTP server: headers, pagination, throttling, errors."""

from __future__ import annotations

import json

import pytest
from werkzeug import Response

from scripts.github.api import GitHubClient, GitHubError


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def client(github, waits) -> GitHubClient:
    return GitHubClient(
        github.repository, github.token, github.base_url, sleep=waits.append, clock=lambda: 1000.0
    )


def test_sends_the_documented_headers_and_json(github, client):
    github.add_pull(7, "a" * 40, "b" * 40)
    client.post(client.repo_path("issues/7/comments"), {"body": "hello"})

    sent = github.requests[-1]
    assert (sent.method, sent.path, sent.body) == (
        "POST",
        f"/repos/{github.repository}/issues/7/comments",
        {"body": "hello"},
    )
    assert sent.authorization == f"Bearer {github.token}"


def test_paginate_follows_link_headers(github, client):
    github.page_size = 2
    github.add_pull(7, "a" * 40, "b" * 40)
    for index in range(5):
        github.add_comment(7, f"comment {index}")

    bodies = [item["body"] for item in client.paginate(client.repo_path("issues/7/comments"))]

    assert bodies == [f"comment {index}" for index in range(5)]
    assert [r.query.get("page", "1") for r in github.requests] == ["1", "2", "3"]


def test_403_with_retry_after_waits_then_succeeds(github, client, waits):
    github.add_pull(7, "a" * 40, "b" * 40)
    limited = Response(json.dumps({"message": "secondary rate limit"}), 403, {"Retry-After": "7"})
    github.scripted.append(("GET", r".*/issues/7/comments", limited))

    assert list(client.paginate(client.repo_path("issues/7/comments"))) == []
    assert waits == [7.0]


@pytest.mark.parametrize("header", ["-5", "nan", "soon"])
def test_a_retry_after_that_is_no_wait_is_read_as_a_minute(github, client, waits, header):
    github.add_pull(7, "a" * 40, "b" * 40)
    limited = Response(json.dumps({"message": "secondary rate limit"}), 403, {"Retry-After": header})
    github.scripted.append(("GET", r".*/issues/7/comments", limited))

    assert list(client.paginate(client.repo_path("issues/7/comments"))) == []
    assert waits == [60.0]


def test_a_negative_comment_settle_setting_falls_back_to_the_default():
    env = {"GITHUB_REPOSITORY": "o/r", "GITHUB_TOKEN": "x", "HPT_COMMENT_SETTLE_SECONDS": "-1"}
    assert (
        GitHubClient.from_environment(env).comment_settle_seconds
        == GitHubClient("o/r", "x").comment_settle_seconds
    )


def test_exhausted_rate_limit_waits_until_reset(github, client, waits):
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1030"}
    github.scripted.append(
        ("GET", r".*/pulls/3", Response('{"message": "API rate limit exceeded"}', 403, headers))
    )
    github.add_pull(3, "a" * 40, "b" * 40)

    assert client.get(client.repo_path("pulls/3"))["number"] == 3
    assert waits == [31.0]  # reset at 1030, now 1000, plus a second of slack


def test_a_reset_too_far_away_fails_clearly_without_sleeping(github, client, waits):
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "4600"}
    github.scripted.append(
        ("GET", r".*/pulls/3", Response('{"message": "API rate limit exceeded"}', 403, headers))
    )

    with pytest.raises(GitHubError, match="asks to wait 3601s"):
        client.get(client.repo_path("pulls/3"))
    assert waits == []


def test_server_errors_are_retried(github, client, waits):
    github.add_pull(3, "a" * 40, "b" * 40)
    github.scripted.append(("GET", r".*/pulls/3", Response("oops", 502)))

    assert client.get(client.repo_path("pulls/3"))["number"] == 3
    assert waits == [2.0]


def test_404_says_what_was_not_found_and_never_the_token(github, client):
    with pytest.raises(GitHubError) as caught:
        client.get(client.repo_path("pulls/99"))
    message = str(caught.value)
    assert message.startswith(
        f"GET /repos/{github.repository}/pulls/99: HTTP 404: not found in {github.repository}"
    )
    assert github.token not in message


def test_401_names_the_token_problem(github):
    client = GitHubClient(github.repository, "wrong-token", github.base_url)
    with pytest.raises(GitHubError, match="HTTP 401: the token is missing, expired or invalid"):
        client.get(client.repo_path("pulls/1"))


def test_403_without_retry_hints_at_permissions(github, client, waits):
    github.read_only = True
    github.add_pull(7, "a" * 40, "b" * 40)
    with pytest.raises(GitHubError, match="pull-requests: write") as caught:
        client.post(client.repo_path("issues/7/comments"), {"body": "x"})
    assert caught.value.status == 403
    assert waits == []


def test_unreachable_server_fails_with_one_line(waits):
    client = GitHubClient("o/r", "t", "http://127.0.0.1:9", sleep=waits.append)
    with pytest.raises(GitHubError, match="cannot reach http://127.0.0.1:9"):
        client.get("/repos/o/r/pulls/1")
    assert len(waits) == 3


def test_from_environment_requires_repository_and_token():
    with pytest.raises(GitHubError, match="GITHUB_REPOSITORY"):
        GitHubClient.from_environment({"GITHUB_TOKEN": "x"})
    with pytest.raises(GitHubError, match="GITHUB_TOKEN is not set"):
        GitHubClient.from_environment({"GITHUB_REPOSITORY": "o/r"})
    client = GitHubClient.from_environment({"GITHUB_REPOSITORY": "o/r", "GITHUB_TOKEN": "secret"})
    assert client.api_url == "https://api.github.com"
    assert "secret" not in repr(client)

"""A small GitHub REST client: JSON over urllib, pagination, retries, clear errors.

It talks to `$GITHUB_API_URL` (GitHub Enterprise and the test server alike) for
`$GITHUB_REPOSITORY` with `$GITHUB_TOKEN`, read from the environment the caller hands it
(`scripts.wiring`). The token only ever goes into the Authorization header: error messages name
the method and path, never a header.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from scripts.errors import UserError

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
USER_AGENT = "vertex-hpt-actions"

# Waiting longer than this for a rate limit to reset fails the step instead: a scheduled run
# will come back, and a job that sleeps for an hour wastes runner minutes.
MAX_WAIT_SECONDS = 120.0
# Transient failures (5xx, connection resets) are retried this many times.
MAX_ATTEMPTS = 4

# Who writes our comments: the workflows' GITHUB_TOKEN acts as this bot. With a personal token,
# set HPT_COMMENT_AUTHOR to its login (`scripts.github.sticky_comment` takes only its comments).
DEFAULT_AUTHOR = "github-actions[bot]"
# After writing a comment, a writer waits this long before reading it back (a concurrent writer
# may have dropped its section: `scripts.github.sticky_comment`); HPT_COMMENT_SETTLE_SECONDS
# overrides it (tests use 0).
SETTLE_SECONDS = 2.0

_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class GitHubError(UserError):
    """A GitHub call that failed; the message says what to do about it."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lowercased names
    data: Any

    def next_url(self) -> str | None:
        """The `rel="next"` page of a paginated listing, from the Link header."""
        match = _NEXT_LINK.search(self.headers.get("link", ""))
        return match.group(1) if match else None


@dataclass
class GitHubClient:
    repository: str  # owner/name
    token: str = field(repr=False)
    api_url: str = DEFAULT_API_URL
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    timeout: float = 30.0
    comment_author: str = DEFAULT_AUTHOR  # the login the token writes as
    comment_settle_seconds: float = SETTLE_SECONDS

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> GitHubClient:
        repository = env.get("GITHUB_REPOSITORY", "")
        token = env.get("GITHUB_TOKEN", "")
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", repository):
            raise GitHubError("GITHUB_REPOSITORY must be set to OWNER/NAME")
        if not token:
            raise GitHubError(
                "GITHUB_TOKEN is not set: pass it to the step as `env: GITHUB_TOKEN: ${{ github.token }}`"
            )
        return cls(
            repository=repository,
            token=token,
            api_url=env.get("GITHUB_API_URL") or DEFAULT_API_URL,
            comment_author=env.get("HPT_COMMENT_AUTHOR") or DEFAULT_AUTHOR,
            comment_settle_seconds=_seconds(env.get("HPT_COMMENT_SETTLE_SECONDS", ""), SETTLE_SECONDS),
        )

    # -- the REST calls this project makes ------------------------------------------------------

    def repo_path(self, suffix: str) -> str:
        return f"/repos/{self.repository}/{suffix.lstrip('/')}"

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params).data

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("POST", path, body=body).data

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.request("PATCH", path, body=body).data

    def delete(self, path: str) -> None:
        self.request("DELETE", path)

    def paginate(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        """Every item of a listing, following the Link header from page to page."""
        url: str | None = self._url(path, {"per_page": 100, **(params or {})})
        while url:
            response = self._send("GET", url, None, path)
            yield from response.data or []
            url = response.next_url()
            if url and not _same_origin(url, self.api_url):
                # The token goes with every request: never to a host a header named.
                raise GitHubError(
                    f"GET {path}: the next page is on another host ({_origin(url)}); not following"
                )

    def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None
    ) -> Response:
        return self._send(method, self._url(path, params), body, path)

    # -- transport ----------------------------------------------------------------------------

    def _url(self, path: str, params: dict[str, Any] | None) -> str:
        url = self.api_url.rstrip("/") + "/" + path.lstrip("/")
        if params:
            url += "?" + urllib.parse.urlencode(params)
        return url

    def _send(self, method: str, url: str, body: Any, what: str) -> Response:
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(1, MAX_ATTEMPTS + 1):
            request = urllib.request.Request(url, data=data, method=method)
            request.add_header("Accept", "application/vnd.github+json")
            request.add_header("X-GitHub-Api-Version", API_VERSION)
            request.add_header("User-Agent", USER_AGENT)
            request.add_header("Authorization", f"Bearer {self.token}")
            if data is not None:
                request.add_header("Content-Type", "application/json")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                    return _response(reply.status, reply.headers, reply.read())
            except urllib.error.HTTPError as error:
                response = _response(error.code, error.headers, error.read())
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                if attempt == MAX_ATTEMPTS:
                    reason = getattr(error, "reason", error)
                    raise GitHubError(f"{method} {what}: cannot reach {self.api_url}: {reason}") from None
                self._wait(2.0**attempt, f"{method} {what}: connection failed")
                continue
            wait = self._retry_delay(response)
            if wait is None or attempt == MAX_ATTEMPTS:
                raise _error(method, what, response, self.repository)
            self._wait(wait, f"{method} {what}: HTTP {response.status}")
        raise AssertionError("unreachable")

    def _retry_delay(self, response: Response) -> float | None:
        """Seconds to wait before trying again, or None when retrying cannot help."""
        headers = response.headers
        if response.status in (403, 429):
            # Secondary rate limits send retry-after; primary ones exhaust x-ratelimit-remaining.
            if "retry-after" in headers:
                return _seconds(headers["retry-after"], 60.0)
            if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
                return max(0.0, _seconds(headers["x-ratelimit-reset"], 0.0) - self.clock()) + 1.0
            return None
        if response.status >= 500:
            return 2.0
        return None

    def _wait(self, seconds: float, why: str) -> None:
        if seconds > MAX_WAIT_SECONDS:
            raise GitHubError(f"{why}; GitHub asks to wait {seconds:.0f}s, more than {MAX_WAIT_SECONDS:.0f}s")
        print(f"{why}; retrying in {seconds:.0f}s", file=sys.stderr)
        self.sleep(seconds)


def _response(status: int, headers: Any, raw: bytes) -> Response:
    lowered = {name.lower(): value for name, value in headers.items()} if headers else {}
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = raw.decode(errors="replace")
    return Response(status, lowered, data)


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _same_origin(url: str, api_url: str) -> bool:
    return _origin(url) == _origin(api_url)


def _seconds(text: str, default: float) -> float:
    """A number of seconds from a setting's or a header's text; `default` when unset, not a number,
    negative or not finite (`time.sleep` refuses a negative or NaN wait)."""
    try:
        seconds = float(text)
    except ValueError:
        return default
    return seconds if math.isfinite(seconds) and seconds >= 0 else default


def _error(method: str, what: str, response: Response, repository: str) -> GitHubError:
    status = response.status
    detail = response.data.get("message", "") if isinstance(response.data, dict) else ""
    prefix = f"{method} {what}: HTTP {status}"
    if status == 401:
        hint = "the token is missing, expired or invalid"
    elif status == 403:
        if response.headers.get("x-ratelimit-remaining") == "0":
            hint = "the API rate limit is exhausted"
        else:
            hint = (
                "the token may not write here: the job needs `permissions: pull-requests: write`, "
                "and pull requests from forks get a read-only token"
            )
    elif status == 404:
        hint = f"not found in {repository}, or the token cannot see it"
    elif status == 422:
        hint = "GitHub rejected the request"
    else:
        hint = "GitHub answered with an error"
    message = f"{prefix}: {hint}" + (f" ({detail})" if detail else "")
    return GitHubError(message, status)

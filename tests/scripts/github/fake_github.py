"""A fake of the GitHub REST endpoints this project calls, served by pytest-httpserver.

It keeps state (comments, pull requests, file contents) like the real service, paginates with
Link headers, checks the bearer token, and records every request so tests can assert on what
was sent. It serves real HTTP on loopback: our client, `python -m scripts` subprocesses and
workflows run by act all reach it the same way.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug import Request, Response

TOKEN = "ghs_faketoken0123456789abcdefABCDEF"
REPOSITORY = "octo-org/hpt-demo"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorization: str


@dataclass
class FakeGitHub:
    base_url: str
    repository: str = REPOSITORY
    token: str = TOKEN
    page_size: int = 30
    read_only: bool = False  # as for a pull request from a fork
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    commit_pulls: dict[str, list[int]] = field(default_factory=dict)
    contents: dict[tuple[str, str], str] = field(default_factory=dict)  # (path, ref) -> text
    merge_bases: dict[tuple[str, str], str] = field(default_factory=dict)  # (base, head) -> merge base
    # `git/trees/COMMIT?recursive=1` by commit (`tree_of` makes one from a clone); others: 404.
    trees: dict[str, dict[str, Any]] = field(default_factory=dict)
    # A branch's history, oldest first, and the files each commit changed: `compare/SHA...BRANCH`.
    branches: dict[str, list[str]] = field(default_factory=dict)
    commit_files: dict[str, list[str]] = field(default_factory=dict)
    # Check runs (https://docs.github.com/en/rest/checks/runs), oldest first.
    check_runs: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    # Repository roles by login (admin, maintain, write, triage, read); anyone else reads as `read`,
    # as for a public repository.
    roles: dict[str, str] = field(default_factory=lambda: {"bob": "write", "alice": "admin"})
    # A workflow run's review history (environment approvals), by run id.
    approvals: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    # Images an Artifact Registry stand-in holds, for `build` (HPT_REGISTRY_URL): manifest path -> digest
    images: dict[str, str] = field(default_factory=dict)
    # Responses served before the normal ones, for throttling and error tests: (method, regex, Response)
    scripted: list[tuple[str, str, Response]] = field(default_factory=list)
    # Run, one each, right after a comment is created or edited: another job writing at that moment.
    after_comment_write: list[Callable[[FakeGitHub], None]] = field(default_factory=list)
    _next_id: int = 1000
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- arranging ----------------------------------------------------------------------------

    def add_comment(self, number: int, body: str, user: str = "someone") -> dict[str, Any]:
        with self._lock:
            return self._new_comment(number, body, user)

    def add_pull(self, number: int, head_sha: str, base_sha: str, merge_sha: str | None = None) -> None:
        self.pulls[number] = {
            "number": number,
            "state": "closed" if merge_sha else "open",
            "merged_at": "2026-11-27T12:00:00Z" if merge_sha else None,
            "merge_commit_sha": merge_sha,
            "head": {"sha": head_sha, "ref": f"feature-{number}", "repo": {"full_name": self.repository}},
            "base": {"sha": base_sha, "ref": "main", "repo": {"full_name": self.repository}},
            "html_url": f"https://github.com/{self.repository}/pull/{number}",
        }
        if merge_sha:
            self.commit_pulls.setdefault(merge_sha, []).append(number)

    def ours(self, number: int) -> list[dict[str, Any]]:
        """The comments on pull request `number` that this project wrote."""
        return [c for c in self.comments.get(number, []) if c["body"].startswith("<!-- vertex-hpt:")]

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method in ("POST", "PATCH", "PUT", "DELETE")]

    # -- serving ------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/v2/"):
            return self._registry(request)
        body = request.get_json(silent=True) if request.data else None
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                dict(request.args),
                body,
                request.headers.get("Authorization", ""),
            )
        )
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _json({"message": "Bad credentials"}, 401)
        for index, (method, pattern, response) in enumerate(self.scripted):
            if method == request.method and re.fullmatch(pattern, request.path):
                del self.scripted[index]
                return response
        prefix = f"/repos/{self.repository}"
        if not request.path.startswith(prefix + "/"):
            return _json({"message": "Not Found"}, 404)
        route = request.path[len(prefix) :]
        with self._lock:
            response = self._route(request, route, body)
        if request.method in ("POST", "PATCH") and "comments" in route and self.after_comment_write:
            self.after_comment_write.pop(0)(self)
        return response

    def _route(self, request: Request, route: str, body: Any) -> Response:
        if request.method in ("POST", "PATCH", "DELETE") and self.read_only:
            return _json({"message": "Resource not accessible by integration"}, 403)
        if match := re.fullmatch(r"/issues/(\d+)/comments", route):
            number = int(match[1])
            if number not in self.pulls and number not in self.comments:
                return _json({"message": "Not Found"}, 404)
            if request.method == "GET":
                return self._page(request, self.comments.get(number, []))
            if request.method == "POST":
                return _json(self._new_comment(number, body["body"], "github-actions[bot]"), 201)
        if (match := re.fullmatch(r"/issues/comments/(\d+)", route)) and request.method == "PATCH":
            for comment in (c for cs in self.comments.values() for c in cs):
                if comment["id"] == int(match[1]):
                    comment["body"] = body["body"]
                    return _json(comment)
            return _json({"message": "Not Found"}, 404)
        if (match := re.fullmatch(r"/issues/comments/(\d+)", route)) and request.method == "DELETE":
            for comments in self.comments.values():
                for index, comment in enumerate(comments):
                    if comment["id"] == int(match[1]):
                        del comments[index]
                        return Response(status=204)
            return _json({"message": "Not Found"}, 404)
        if (match := re.fullmatch(r"/collaborators/([^/]+)/permission", route)) and request.method == "GET":
            # https://docs.github.com/en/rest/collaborators/collaborators#get-repository-permissions-for-a-user
            role = self.roles.get(match[1], "read")
            permission = {"maintain": "write", "triage": "read"}.get(role, role)
            return _json({"permission": permission, "role_name": role, "user": {"login": match[1]}})
        if (match := re.fullmatch(r"/actions/runs/(\d+)/approvals", route)) and request.method == "GET":
            # https://docs.github.com/en/rest/actions/workflow-runs#get-the-review-history-for-a-workflow-run
            return _json(self.approvals.get(int(match[1]), []))
        if (match := re.fullmatch(r"/commits/([0-9a-f]{40})/pulls", route)) and request.method == "GET":
            return _json([self.pulls[n] for n in self.commit_pulls.get(match[1], [])])
        if (match := re.fullmatch(r"/pulls/(\d+)", route)) and request.method == "GET":
            pull = self.pulls.get(int(match[1]))
            return _json(pull) if pull else _json({"message": "Not Found"}, 404)
        if (match := re.fullmatch(r"/compare/([0-9a-f]{40})\.\.\.(.+)", route)) and match[2] in self.branches:
            return _json(self._compare_with_branch(match[1], self.branches[match[2]]))
        if route.startswith("/check-runs") or re.fullmatch(r"/commits/[0-9a-f]{40}/check-runs", route):
            return self._checks(request, route, body)
        if (
            match := re.fullmatch(r"/compare/([0-9a-f]{40})\.\.\.([0-9a-f]{40})", route)
        ) and request.method == "GET":
            merge_base = self.merge_bases.get((match[1], match[2]), match[1])
            return _json({"status": "ahead", "merge_base_commit": {"sha": merge_base}})
        if (match := re.fullmatch(r"/git/trees/([0-9a-f]{40})", route)) and request.method == "GET":
            tree = self.trees.get(match[1])
            if tree is None or not request.args.get("recursive"):
                return _json({"message": "Not Found"}, 404)
            return _json(tree)
        if (match := re.fullmatch(r"/contents/(.+)", route)) and request.method == "GET":
            text = self.contents.get((match[1], request.args.get("ref", "")))
            if text is None:
                return _json({"message": "Not Found"}, 404)
            encoded = base64.b64encode(text.encode()).decode()
            # GitHub wraps the base64 content at 60 columns
            wrapped = "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60))
            return _json({"type": "file", "encoding": "base64", "path": match[1], "content": wrapped})
        return _json({"message": "Not Found"}, 404)

    def _compare_with_branch(self, commit: str, history: list[str]) -> dict[str, Any]:
        """`compare/COMMIT...BRANCH`: `ahead` (with the files changed since) when the branch holds the
        commit, `identical` at its head, else `diverged` (a commit of another branch)."""
        if commit not in history:
            return {"status": "diverged", "files": []}
        later = history[history.index(commit) + 1 :]
        files = sorted({name for sha in later for name in self.commit_files.get(sha, [])})
        return {
            "status": "ahead" if later else "identical",
            "ahead_by": len(later),
            "files": [{"filename": name, "status": "modified"} for name in files],
        }

    def _checks(self, request: Request, route: str, body: Any) -> Response:
        """Create (POST /check-runs), update (PATCH /check-runs/ID) and list a commit's check runs
        (GET /commits/SHA/check-runs?check_name=...), newest first as GitHub lists them."""
        if route == "/check-runs" and request.method == "POST":
            self._next_id += 1
            run = {"id": self._next_id, "status": "queued", "conclusion": None, "output": {}, **body}
            if run.get("conclusion"):
                run["status"] = "completed"  # as GitHub does
            run["html_url"] = f"https://github.com/{self.repository}/runs/{self._next_id}"
            self.check_runs.append(run)
            return _json(run, 201)
        if (match := re.fullmatch(r"/check-runs/(\d+)", route)) and request.method == "PATCH":
            for run in self.check_runs:
                if run["id"] == int(match[1]):
                    run.update(body)
                    if run.get("conclusion"):
                        run["status"] = "completed"
                    return _json(run)
            return _json({"message": "Not Found"}, 404)
        if (match := re.fullmatch(r"/commits/([0-9a-f]{40})/check-runs", route)) and request.method == "GET":
            name = request.args.get("check_name")
            runs = [
                run
                for run in reversed(self.check_runs)
                if run["head_sha"] == match[1] and (name is None or run["name"] == name)
            ]
            return _json({"total_count": len(runs), "check_runs": runs})
        return _json({"message": "Not Found"}, 404)

    def runs_on(self, commit: str) -> list[dict[str, Any]]:
        """The check runs on `commit`, oldest first."""
        return [run for run in self.check_runs if run["head_sha"] == commit]

    def _registry(self, request: Request) -> Response:
        """The Docker Registry v2 manifest lookup (`HEAD /v2/P/R/I/manifests/TAG`), as `build` does it."""
        self.requests.append(Recorded(request.method, request.path, dict(request.args), None, ""))
        digest = self.images.get(request.path.removeprefix("/v2/"))
        if request.method not in ("HEAD", "GET") or digest is None:
            return Response(status=404)
        return Response(status=200, headers={"Docker-Content-Digest": digest})

    def _new_comment(self, number: int, body: str, user: str) -> dict[str, Any]:
        self._next_id += 1
        comment = {
            "id": self._next_id,
            "body": body,
            "user": {"login": user},
            "html_url": f"https://github.com/{self.repository}/pull/{number}#issuecomment-{self._next_id}",
        }
        self.comments.setdefault(number, []).append(comment)
        return comment

    def _page(self, request: Request, items: list[dict[str, Any]]) -> Response:
        per_page = min(int(request.args.get("per_page", 30)), self.page_size)
        page = int(request.args.get("page", 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        response = _json(chunk)
        if page * per_page < len(items):
            url = f"{self.base_url}{request.path}?per_page={per_page}&page={page + 1}"
            response.headers["Link"] = f'<{url}>; rel="next"'
        return response


def tree_of(root: Path, commit: str, *, truncated: bool = False) -> dict[str, Any]:
    """GitHub's answer to `git/trees/COMMIT?recursive=1` for a commit of the clone at `root`: every
    entry of its tree, directories included, each with its path as stored (never quoted)."""
    fields = "--format=%(objectmode) %(objecttype) %(objectname)%x09%(path)"
    listed = subprocess.run(
        ["git", "ls-tree", "-r", "-t", "-z", fields, commit], cwd=root, capture_output=True, check=True
    ).stdout.decode()
    entries = []
    for record in filter(None, listed.split("\0")):
        described, path = record.split("\t", 1)
        mode, kind, sha = described.split(" ")
        entries.append({"path": path, "mode": mode, "type": kind, "sha": sha})
    tree = subprocess.run(
        ["git", "rev-parse", f"{commit}^{{tree}}"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
    return {"sha": tree, "tree": entries, "truncated": truncated}


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")

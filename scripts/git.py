"""Every question this project asks git, in one place, each a `git` command run here.

Commands and flows ask; nothing else runs git. A missing git, or a directory outside a
repository, answers None (or raises `UserError` where the caller cannot go on without it).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from scripts.errors import UserError
from scripts.paths import REPO_ROOT

_FULL_SHA = re.compile(r"[0-9a-f]{40}")


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str] | None:
    """`git ARGS` in `cwd`; None when git itself cannot be started."""
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    except OSError:
        return None


def _output(args: list[str], cwd: Path) -> str | None:
    """The command's stdout when it succeeded, else None."""
    result = _run(args, cwd)
    return result.stdout if result is not None and result.returncode == 0 else None


def head_commit(repo: Path = REPO_ROOT) -> str | None:
    """The commit checked out, or None outside a git repository."""
    out = _output(["rev-parse", "HEAD"], repo)
    return out.strip() if out else None


def commit_of(revision: str, repo: Path = REPO_ROOT) -> str | None:
    """The full SHA of a revision (`HEAD`, a branch, a short SHA), or None when git knows none."""
    out = _output(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], repo)
    return out.strip() or None if out else None


def resolve_commit(revision: str, repo: Path = REPO_ROOT) -> str:
    """A full commit SHA for `revision` where git knows it, so that the commit label names the same
    commit however it was asked for; else `revision` itself (a SHA from another clone)."""
    if _FULL_SHA.fullmatch(revision):
        return revision
    return commit_of(revision, repo) or revision


def first_parent(commit: str, repo: Path = REPO_ROOT) -> str:
    """`COMMIT^`: what a push of a single new commit was based on."""
    parent = commit_of(f"{commit}^", repo)
    if parent is None:
        raise UserError(f"{commit[:12]} has no parent commit here (in a shallow clone, fetch more history)")
    return parent


def merge_base(base: str, head: str, repo: Path = REPO_ROOT) -> str | None:
    """Where `head` branched off `base`, or None when git cannot tell."""
    out = _output(["merge-base", base, head], repo)
    return out.strip() or None if out else None


def tree_listing(revision: str, paths: tuple[str, ...], repo: Path = REPO_ROOT) -> str | None:
    """`<blob sha>\\t<path>` per file under `paths` at `revision`, sorted by path; None without git."""
    return _output(["ls-tree", "-r", "--format=%(objectname)%x09%(path)", revision, "--", *paths], repo)


def changed_paths(paths: tuple[str, ...], repo: Path = REPO_ROOT) -> list[str]:
    """Files under `paths` whose work-tree state differs from HEAD (modified, staged, untracked)."""
    out = _output(["status", "--porcelain", "--untracked-files=all", "--", *paths], repo)
    if not out:
        return []
    return sorted(line[3:] for line in out.splitlines() if line.strip())


def file_at(revision: str, file: str | Path) -> tuple[str | None, str]:
    """A file's text at `revision` (None when it did not exist there) and its `REV:path` name.

    Raises `UserError` when the file is not in a git repository or the revision is unknown.
    """
    path = Path(file).resolve()
    directory = path.parent if path.parent.is_dir() else Path.cwd()
    result = _run(["rev-parse", "--show-toplevel"], directory)
    if result is None:
        raise UserError("cannot run git: is it installed?")
    if result.returncode != 0:
        raise UserError(f"{directory} is not in a git repository")
    top = Path(result.stdout.strip()).resolve()
    relative = path.relative_to(top).as_posix()
    if commit_of(revision, directory) is None:
        raise UserError(f"unknown git revision {revision!r} (in a shallow clone, fetch it first)")
    name = f"{revision}:{relative}"
    shown = _run(["show", name], top)
    if shown is None or shown.returncode != 0:
        return None, name  # the revision exists but the file does not: everything is new
    return shown.stdout, name

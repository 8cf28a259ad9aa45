"""Which files of the work tree go into the Cloud Build source archive.

Two ignore-file dialects, each with the semantics of the tool that owns it:

- `.gcloudignore` (what `gcloud builds submit` reads): gitignore rules, decided by pathspec's
  `GitIgnoreSpec`, plus the one rule it leaves to the caller: git does not descend into an
  excluded directory, so `!` cannot re-include anything under one. `#!include:FILE` pulls in
  another ignore file, as gcloud does. A line that is no pattern is an error naming its line.
- `.dockerignore` (what `docker build` reads): every pattern is anchored to the root (a leading
  `/` is dropped, paths are cleaned); `*` and `?` stop at `/`; `**` spans directories; a pattern
  that matches a directory excludes everything under it; later lines win, so `!` re-includes a
  path even under an excluded directory, and `*` followed by `!name` lines makes an allowlist.
  pathspec has no such dialect (its patterns float to any depth, as in gitignore, and a bare
  `*.pyc` here matches only at the root), so Docker's matcher is the small one below.

`.gcloudignore` wins when both exist, as it does for gcloud.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pathspec
from pathspec.patterns.gitignore import GitIgnorePatternError
from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

GCLOUDIGNORE = ".gcloudignore"
DOCKERIGNORE = ".dockerignore"


class IgnoreFileError(Exception):
    """An ignore file holds a line that is no pattern; the message names the file and line."""


@dataclass(frozen=True)
class IgnoreFile:
    """The rules of one ignore file, for `/`-separated paths relative to the root.

    `ignored(path, is_dir)` decides a path; `may_reinclude(directory)` says whether a path under
    an ignored directory could still be kept, so that a walk knows when it can skip the directory.
    """

    path: Path | None
    ignored: Callable[[str, bool], bool]
    may_reinclude: Callable[[str], bool] = lambda directory: False

    @property
    def name(self) -> str:
        return self.path.name if self.path else "(no ignore file)"


def inside(root: Path, path: Path) -> bool:
    """Is `path`, its links followed, within `root`? What the build reads must be the source's
    own: it may be someone else's commit (`/hpt run`), and a link out of it could read the
    runner's environment or credentials into the log."""
    return path.resolve().is_relative_to(root.resolve())


def load(root: Path) -> IgnoreFile:
    """The ignore rules that apply to `root`: `.gcloudignore`, else `.dockerignore`, else none."""
    gcloud = root / GCLOUDIGNORE
    if gcloud.is_file():
        return IgnoreFile(gcloud, GitignoreRules(_gcloudignore_lines(gcloud, root)).ignored)
    docker = root / DOCKERIGNORE
    if docker.is_file():
        rules = DockerignoreRules(docker.read_text().splitlines())
        return IgnoreFile(docker, rules.ignored, rules.may_reinclude)
    return IgnoreFile(None, lambda path, is_dir: False)


def _gcloudignore_lines(path: Path, root: Path, seen: frozenset[Path] = frozenset()) -> list[str]:
    lines: list[str] = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        where = f"{os.path.relpath(path, root)}:{number}"
        if line.startswith("#!include:"):
            included = (root / line.removeprefix("#!include:").strip()).resolve()
            if not inside(root, included):
                raise IgnoreFileError(f"{where}: includes a file outside the source: not read")
            if included in seen or included == path.resolve():
                continue
            if included.is_file():
                lines.extend(_gcloudignore_lines(included, root, seen | {path.resolve()}))
            continue
        try:
            GitIgnoreSpecPattern(line)
        except GitIgnorePatternError:
            raise IgnoreFileError(f"{where}: {line!r} is not a gitignore pattern: fix or remove it") from None
        lines.append(line)
    return lines


def _translate(glob: str) -> str:
    """A regular expression for a glob where `*`, `?` and `[...]` stop at `/` and `**` spans it."""
    out: list[str] = []
    i = 0
    while i < len(glob):
        char = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("/**", i) and i + 3 == len(glob):
            out.append("/.*")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            end = glob.find("]", i + 2)
            if end == -1:
                out.append(re.escape(char))
                i += 1
            else:
                body = glob[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end + 1
        elif char == "\\" and i + 1 < len(glob):
            out.append(re.escape(glob[i + 1]))
            i += 2
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


def _parents(path: str) -> list[str]:
    """`a/b/c` -> `["a", "a/b"]`."""
    parts = path.split("/")
    return ["/".join(parts[:n]) for n in range(1, len(parts))]


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    negated: bool


class DockerignoreRules:
    """`.dockerignore` semantics, as Docker's pattern matcher applies them to the build context."""

    def __init__(self, lines: list[str]) -> None:
        self.rules: list[_Rule] = []
        self._exceptions: list[str] = []
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            pattern = posixpath.normpath(line[1:].strip() if negated else line).lstrip("/")
            if pattern in ("", "."):
                continue
            self.rules.append(_Rule(re.compile(_translate(pattern) + r"\Z"), negated))
            if negated:
                self._exceptions.append(pattern)

    def ignored(self, path: str, is_dir: bool = False) -> bool:
        matched = False
        candidates = [path, *_parents(path)]
        for rule in self.rules:
            # An exclusion can only change an included path and an exception an excluded one.
            if rule.negated != matched:
                continue
            if any(rule.regex.match(candidate) for candidate in candidates):
                matched = not rule.negated
        return matched

    def may_reinclude(self, directory: str) -> bool:
        for pattern in self._exceptions:
            literal = re.split(r"[*?\[\\]", pattern, maxsplit=1)[0]
            if len(literal) < len(pattern) and "/" not in literal:
                return True  # a wildcard in the first segment could match anything
            if literal.startswith(directory + "/") or (directory + "/").startswith(literal):
                return True
        return False


class GitignoreRules:
    """`.gitignore` semantics (which `.gcloudignore` uses), by pathspec's `GitIgnoreSpec`."""

    def __init__(self, lines: list[str]) -> None:
        self.spec = pathspec.GitIgnoreSpec.from_lines(lines)

    def ignored(self, path: str, is_dir: bool = False) -> bool:
        # pathspec decides one path (a directory by its trailing `/`); git never looks inside an
        # excluded directory, so nothing under one can be re-included, which pathspec leaves to us.
        if any(self.spec.match_file(parent + "/") for parent in _parents(path)):
            return True
        return self.spec.match_file(path + "/" if is_dir else path)

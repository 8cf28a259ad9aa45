"""Which trainer image a commit runs: Artifact Registry references and the content tag.

The content tag is a hash of the image's build inputs (trainer code, Dockerfile, the pinned
requirements, cloudbuild.yaml) as git stores them at a revision. A commit that only edits
experiments.yaml has the same content tag as its parent, so it names the image already built
instead of waiting for a new build.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from scripts import git
from scripts.paths import REPO_ROOT

# What goes into the image; a change anywhere else never needs a new build.
BUILD_INPUTS = ("trainer", "Dockerfile", ".dockerignore", "requirements", "cloudbuild.yaml")
CONTENT_TAG_PREFIX = "inputs-"


def image_uri(region: str, project: str, repository: str, image: str, tag: str) -> str:
    """`REGION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE:TAG`."""
    return f"{region}-docker.pkg.dev/{project}/{repository}/{image}:{tag}"


def content_tag(revision: str = "HEAD", repo: Path = REPO_ROOT) -> str:
    """The content tag of the build inputs at a git revision (or of the work tree, with no git)."""
    listing = git.tree_listing(revision, BUILD_INPUTS, repo)
    if listing is None:
        listing = _work_tree_listing(repo)
    return listing_tag(listing)


def listing_tag(listing: str) -> str:
    """The content tag of a listing of the build inputs, as `git.tree_listing` gives it."""
    # Each line: "<blob sha>\t<path>", sorted by path: the same in every clone of the commit.
    digest = hashlib.sha256(listing.encode()).hexdigest()
    return CONTENT_TAG_PREFIX + digest[:16]


def tree_listing(entries: Iterable[tuple[str, str]]) -> str:
    """What `git.tree_listing` gives for a commit, from its files and submodules as (object sha,
    path) pairs (GitHub's Git Trees API lists them so): where no clone has the commit, its
    content tag is `listing_tag` of this.

    As `git ls-tree -r` prints them: those under BUILD_INPUTS, sorted by path, and each path
    quoted as git quotes it (its default `core.quotePath`).
    """
    inputs = [
        (sha, path)
        for sha, path in entries
        if any(path == name or path.startswith(name + "/") for name in BUILD_INPUTS)
    ]
    # git orders a recursive listing by the paths' bytes, which is their code points' order.
    return "".join(f"{sha}\t{_quoted(path)}\n" for sha, path in sorted(inputs, key=lambda entry: entry[1]))


# How git writes the bytes of a path that it quotes: these as C escapes, every other control
# byte, DEL and every non-ASCII byte in octal.
_ESCAPES = dict(zip(b'\a\b\t\n\v\f\r"\\', 'abtnvfr"\\', strict=True))


def _quoted(path: str) -> str:
    """`path` as git prints it: as is, or in double quotes with escapes where a byte needs one."""
    data = path.encode()
    if all(0x20 <= byte < 0x7F and byte not in _ESCAPES for byte in data):
        return path
    parts = []
    for byte in data:
        if byte in _ESCAPES:
            parts.append("\\" + _ESCAPES[byte])
        elif byte < 0x20 or byte >= 0x7F:
            parts.append(f"\\{byte:03o}")
        else:
            parts.append(chr(byte))
    return '"' + "".join(parts) + '"'


def commit_and_tag(revision: str | None = None, repo: Path = REPO_ROOT) -> tuple[str | None, str]:
    """The full commit a job runs (`revision`, else HEAD; None outside git) and its image's content tag.

    Commands and flows resolve these before compiling, so that compiling never asks git.
    """
    commit = git.resolve_commit(revision, repo) if revision else git.head_commit(repo)
    return commit, content_tag(commit or "HEAD", repo)


def _work_tree_listing(repo: Path) -> str:
    lines = []
    for name in BUILD_INPUTS:
        root = repo / name
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts:
                continue
            data = path.read_bytes()
            # git's blob id, so that both listings hash alike
            blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            lines.append(f"{blob}\t{path.relative_to(repo).as_posix()}")
    return "".join(line + "\n" for line in sorted(lines, key=lambda line: line.split("\t")[1]))


def dirty_build_inputs(repo: Path = REPO_ROOT) -> list[str]:
    """Build inputs whose work-tree state differs from HEAD (modified, staged or untracked).

    The content tag names what HEAD holds, so an image built from a work tree with such changes
    would carry a tag that does not describe it.
    """
    return git.changed_paths(BUILD_INPUTS, repo)

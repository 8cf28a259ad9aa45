"""Which trainer image a commit runs: Artifact Registry references and the content tag.

The content tag is a hash of the image's build inputs (trainer code, Dockerfile, the pinned
requirements, cloudbuild.yaml) as git stores them at a revision. A commit that only edits
experiments.yaml has the same content tag as its parent, so it names the image already built
instead of waiting for a new build.
"""

from __future__ import annotations

import hashlib
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
    # Each line: "<blob sha>\t<path>", sorted by path: the same in every clone of the commit.
    digest = hashlib.sha256(listing.encode()).hexdigest()
    return CONTENT_TAG_PREFIX + digest[:16]


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

"""Which trainer `/hpt run NAME SHA` tunes, and the image that runs it.

A same-repository pull request's commit was pushed by someone with write access, and a writer
named it in the command: its trainer is tuned. hpt-commands.yml's `build` job, as the builder in
the `vertex-build` environment, checks out exactly that commit beside the default branch's code
and runs `build --source` on it (Cloud Build builds the image when its content tag is not in the
registry yet); its outputs reach the submitting job as `HPT_TRAINER_IMAGE` (the content-tagged
reference) and `HPT_TRAINER_DIGEST`, and the job names the image by that digest.

A fork's trainer code runs only when the command says `--fork-trainer` (docs/setup.md says what
such a trial can reach); otherwise the job tunes the default branch's trainer and the reply says
so. Either way only the image changes: where and as whom the job runs is still the default
branch's (`scripts.github.trust`), so the built image must be the one the default branch's
settings name, at the commit's content tag.

A pull request's plans show the image the command would tune: the `pull_request` plan asks git
for the head's content tag, `/hpt plan` (no clone) computes it from GitHub's listing of the
head's tree (`content_tag_at`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scripts import images
from scripts.cloudbuild import registry
from scripts.errors import UserError
from scripts.github.api import GitHubError

if TYPE_CHECKING:
    from scripts.experiments import CompiledExperiment
    from scripts.github.api import GitHubClient
    from scripts.github.events import HptCommand

IMAGE_VARIABLE = "HPT_TRAINER_IMAGE"
DIGEST_VARIABLE = "HPT_TRAINER_DIGEST"
FORK_FLAG = "--fork-trainer"


@dataclass(frozen=True)
class Trainer:
    """Whose trainer a `/hpt run` tunes: `commit`'s, or the default branch's when it is ""."""

    commit: str
    note: str  # what the reply says about it


def choose(command: HptCommand, head: str, from_fork: bool) -> Trainer:
    """The pull request head's trainer, unless the head is a fork's and the command did not ask."""
    if not from_fork:
        return Trainer(head, "this commit's trainer")
    if command.fork_trainer:
        return Trainer(head, f"this commit's trainer, a fork's (`{FORK_FLAG}`)")
    return Trainer(
        "",
        "the default branch's trainer: this pull request comes from a fork, whose trainer code runs only "
        f"when a maintainer adds `{FORK_FLAG}` to the command (docs/setup.md says what it can reach)",
    )


def content_tag_at(client: GitHubClient, commit: str) -> str | None:
    """The content tag of `commit`'s trainer image, from GitHub's listing of its tree, for `/hpt plan`,
    which has no clone; None (and the log says why) when GitHub does not list the whole tree."""
    try:
        # https://docs.github.com/en/rest/git/trees#get-a-tree: a commit names its tree.
        tree = client.get(client.repo_path(f"git/trees/{commit}"), {"recursive": "1"})
    except GitHubError as error:
        print(f"warning: the tree of {commit[:12]} could not be read: {error}", file=sys.stderr)
        return None
    if tree.get("truncated"):
        # Past GitHub's limit on one answer: a partial listing would name another image.
        print(f"warning: GitHub listed the tree of {commit[:12]} only in part", file=sys.stderr)
        return None
    # Directories are not in git's listing; files and submodules are.
    entries = [(entry["sha"], entry["path"]) for entry in tree.get("tree", []) if entry.get("type") != "tree"]
    return images.listing_tag(images.tree_listing(entries))


@dataclass(frozen=True)
class BuiltImage:
    """The image the build job made (or found) for the commit."""

    name: registry.ImageName
    tag: str  # the content tag
    digest: str

    @property
    def reference(self) -> str:
        return self.name.reference(self.tag)

    @property
    def by_digest(self) -> str:
        return self.name.by_digest(self.digest)


def built_image(env: Mapping[str, str], commit: str) -> BuiltImage:
    """The image the build job handed on for `commit`; UserError when it handed none (the build
    failed, or did not run): nothing is submitted then, rather than another trainer than asked."""
    reference, digest = env.get(IMAGE_VARIABLE, ""), env.get(DIGEST_VARIABLE, "")
    parsed = registry.parse_tagged(reference)
    if (
        parsed is None
        or not registry.DIGEST.fullmatch(digest)
        or not parsed[1].startswith(images.CONTENT_TAG_PREFIX)
    ):
        raise UserError(
            f"the trainer image of {commit[:12]} was not built (see the log of the run's "
            "`Build the commit's trainer` job): nothing was submitted"
        )
    return BuiltImage(parsed[0], parsed[1], digest)


def run_built_image(compiled: Sequence[CompiledExperiment], image: BuiltImage) -> None:
    """Name `image` by its digest in every worker pool of the jobs; each pool must have compiled to it.

    A pool that compiled to another image (the default branch's experiment names its own
    `image.uri`, or another repository than the build pushed to) raises UserError: the job would
    not tune the trainer it was asked to.
    """
    for each in compiled:
        pools = [pool for pool in each.job.trial_job_spec.worker_pool_specs if pool.container_spec.image_uri]
        others = sorted({p.container_spec.image_uri for p in pools} - {image.reference})
        if others or not pools:
            raise UserError(
                f"the default branch's {each.name!r} runs {', '.join(others) or 'no image'}, not the image "
                f"built for this commit ({image.reference}): its trainer cannot be tuned before the merge"
            )
        for pool in pools:
            pool.container_spec.image_uri = image.by_digest

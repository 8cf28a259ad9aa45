"""Build and push the trainer image with Cloud Build.

The content tag names the image's inputs; the repository's tags are immutable (docs/setup.md), so
a tag once pushed names one image for good. A tag that is already there is still not taken on its
name: it counts as built only when a successful Cloud Build of this project, for that content tag,
pushed that very digest (`submit.pushing_build`); anything else is refused, never rebuilt over.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from scripts import git, images
from scripts.commands.image_args import add_image_arguments, image_settings
from scripts.errors import UserError
from scripts.github.runner import Step
from scripts.wiring import Wiring


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_image_arguments(parser, bucket=True)
    parser.add_argument(
        "--force",
        action="store_true",
        help="build even if the content-tagged image exists or a build of it is running "
        "(a repository with immutable tags refuses to push a tag that exists)",
    )
    parser.add_argument("--no-wait", action="store_true", help="submit, print the log URL and return")
    parser.add_argument(
        "--source",
        type=Path,
        default=images.REPO_ROOT,
        help="the git work tree to build (default: this repository)",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="first wait between status checks; it grows to 30 s (default 5)",
    )


def _source_url(env: Mapping[str, str]) -> str:
    repository = env.get("GITHUB_REPOSITORY")
    server = env.get("GITHUB_SERVER_URL", "https://github.com")
    return f"{server}/{repository}" if repository else ""


def run(args: argparse.Namespace, wiring: Wiring) -> int:
    # The Cloud Build and storage libraries behind these (about 0.4 s): only when a build is asked for.
    from scripts.cloudbuild import archive, config, registry, submit

    env, step = wiring.env, wiring.step
    registry_url = env.get(registry.REGISTRY_URL_ENV) or None
    target = image_settings(args, env, need_bucket=True)
    source = args.source.resolve()
    commit = git.head_commit(source)
    if commit is None:
        raise UserError(f"{source} is not a git work tree: the image is tagged with its commit")
    dirty = images.dirty_build_inputs(source)
    if dirty:
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        raise UserError(
            f"uncommitted changes in the image's inputs ({shown}): commit them first, "
            "so that the commit and content tags describe what is built"
        )
    try:
        archive.check_read_files(source)  # before anything reads them
    except archive.ArchiveError as error:
        raise UserError(str(error)) from None
    content_tag = images.content_tag("HEAD", source)
    name = registry.ImageName(target.region, target.project, target.repository, target.image)
    reference = name.reference(content_tag)

    try:
        existing = registry.find_digest(name, content_tag, registry_url)
    except registry.RegistryError as error:
        raise UserError(str(error)) from None

    # Everything is checked before anything is uploaded or submitted.
    build_target = config.Target(
        target.project, target.region, target.repository, target.image, content_tag, commit, _source_url(env)
    )
    try:
        source_archive = archive.build_archive(source)
        build = config.load_build(source / "cloudbuild.yaml", build_target, target.bucket or "", "")
    except (archive.ArchiveError, config.ConfigError) as error:
        raise UserError(str(error)) from None
    # Loaded already by the Cloud Build modules above; named here, where the errors are caught.
    from google.api_core import exceptions
    from google.auth.exceptions import DefaultCredentialsError

    try:
        client = submit.cloud_build_client(env.get(submit.CLOUD_BUILD_HOST_ENV))
        if existing and not args.force:
            proof = submit.pushing_build(
                client, target.project, target.region, content_tag, reference, existing
            )
            if proof is None:
                raise UserError(_untrusted(reference, existing, content_tag, target.repository))
            step.say(
                f"{reference} already exists, pushed by build {proof.id} of these inputs: nothing to build"
            )
            return _finish(step, reference, existing, built=False)
        running = None
        if not args.force:
            running = submit.ongoing_build(client, target.project, target.region, content_tag)
        if running is not None:
            step.say(f"build {running.id} of the same inputs is running already; following it")
            started = submit.Started(build_id=running.id, log_url=running.log_url)
        else:
            build.substitutions["_CACHE_FROM"] = submit.newest_image(
                client, target.project, target.region, name
            )
            staged = submit.upload_source(
                submit.storage_client(target.project), target.bucket or "", source_archive
            )
            step.say(
                f"uploaded {len(source_archive.members)} files ({len(source_archive.data) / 1024:.0f} KiB, "
                f"filtered by {source_archive.ignore_file}) to gs://{staged.bucket}/{staged.name} "
                f"(generation {staged.generation})"
            )
            build.source.storage_source.object_ = staged.name
            build.source.storage_source.generation = staged.generation
            started = submit.start(client, target.project, target.region, build)
        step.say(f"build {started.build_id}: logs at {started.log_url}")
        step.set_output("build-id", started.build_id)
        step.set_output("log-url", started.log_url)
        if args.no_wait:
            step.set_output("image", reference)
            return 0
        final = submit.follow(
            client, target.project, target.region, started, poll_interval=args.poll_interval
        )
    except submit.BuildError as error:
        raise UserError(str(error)) from None
    except exceptions.GoogleAPICallError as error:
        raise UserError(f"Google Cloud refused a call: {type(error).__name__}: {error.message}") from None
    except DefaultCredentialsError:
        raise UserError(
            "no Google credentials: run `gcloud auth application-default login`, or "
            "google-github-actions/auth in a workflow"
        ) from None

    digest = submit.pushed_digest(final, reference)
    if digest is None:
        try:
            digest = registry.find_digest(name, content_tag, registry_url)
        except registry.RegistryError as error:
            raise UserError(f"the build succeeded but {error}") from None
    if digest is None:
        raise UserError(f"build {final.id} succeeded but {reference} is not in the registry")
    return _finish(step, reference, digest, built=True)


def _untrusted(reference: str, digest: str, content_tag: str, repository: str) -> str:
    return (
        f"{reference} exists ({digest[:19]}…) but no successful Cloud Build of this project pushed it "
        f"for {content_tag} (none of the builds tagged {content_tag} recorded that digest): it is not "
        "trusted, and nothing is built or submitted. It was pushed some other way, or the tag was moved. "
        f"Find out who pushed it (Cloud Audit Logs of repository {repository}); once it is removed, "
        "run this command again to build it (docs/image.md)"
    )


def _finish(step: Step, reference: str, digest: str, *, built: bool) -> int:
    print(f"{reference}@{digest}")
    step.set_output("image", reference)
    step.set_output("digest", digest)
    step.set_output("built", "true" if built else "false")
    return 0

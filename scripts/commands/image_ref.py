"""Print the trainer image a commit should use."""

from __future__ import annotations

import argparse

from scripts import git, images
from scripts.commands.image_args import add_image_arguments, image_settings
from scripts.errors import UserError
from scripts.wiring import Wiring


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--commit", default="HEAD", help="a git revision (default HEAD)")
    parser.add_argument("--tag-only", action="store_true", help="print only the content tag")
    add_image_arguments(parser)


def run(args: argparse.Namespace, wiring: Wiring) -> int:
    if git.commit_of(args.commit) is None:
        raise UserError(f"--commit {args.commit!r} is not a commit of this repository") from None
    tag = images.content_tag(args.commit)
    if args.tag_only:
        print(tag)
        return 0
    try:
        target = image_settings(args, wiring.env)
    except UserError as error:
        raise UserError(f"{error} (or use --tag-only)") from None
    print(images.image_uri(target.region, target.project, target.repository, target.image, tag))
    return 0

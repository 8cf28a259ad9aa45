"""Create or update this project's one comment for a key on a pull request."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scripts.errors import UserError
from scripts.wiring import Wiring


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pr", type=int, required=True, help="pull request number")
    parser.add_argument("--body-file", type=Path, required=True, help="Markdown body ('-' reads stdin)")
    parser.add_argument(
        "--key",
        default="comment",
        help="which of our comments (default: comment; the workflows' plan/results comment is `experiments`)",
    )


def run(args: argparse.Namespace, wiring: Wiring) -> int:
    from scripts.github.sticky_comment import (
        upsert_comment,  # the GitHub client: urllib.request, not for --help
    )

    if args.pr <= 0:
        raise UserError(f"--pr {args.pr}: not a pull request number")
    if str(args.body_file) == "-":
        body = sys.stdin.read()
    else:
        try:
            body = args.body_file.read_text(encoding="utf-8")
        except OSError as error:
            raise UserError(f"{args.body_file}: {error.strerror or error}") from None
    try:
        action, comment = upsert_comment(wiring.github(), args.pr, args.key, body)
    except ValueError as error:
        raise UserError(str(error)) from None
    print(f"{action} comment {comment.id} on pull request #{args.pr}: {comment.url}")
    return 0

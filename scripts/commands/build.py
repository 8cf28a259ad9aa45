"""Build and push the trainer image with Cloud Build."""

from __future__ import annotations

import argparse

from scripts.cli import UserError

HELP = "Build and push the trainer image with Cloud Build."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UserError("not implemented yet (issue 7)")

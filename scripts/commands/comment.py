"""Create or update this project's one comment for a key on a pull request."""

from __future__ import annotations

import argparse

from scripts.cli import UserError

HELP = "Create or update this project's one comment for a key on a pull request."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UserError("not implemented yet (issue 6)")

"""Print the trainer image a commit should use."""

from __future__ import annotations

import argparse

from scripts.cli import UserError

HELP = "Print the trainer image a commit should use."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UserError("not implemented yet (issue 7)")

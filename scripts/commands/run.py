"""Submit an experiment to a backend (vertex or local) and, with --wait, follow it to the end."""

from __future__ import annotations

import argparse

from scripts.cli import UserError

HELP = "Submit an experiment to a backend (vertex or local) and, with --wait, follow it to the end."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UserError("not implemented yet (issue 4)")

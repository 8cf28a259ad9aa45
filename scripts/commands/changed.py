"""List the experiments added, changed or removed between two git revisions."""

from __future__ import annotations

import argparse

from scripts.cli import UserError

HELP = "List the experiments added, changed or removed between two git revisions."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UserError("not implemented yet (issue 3)")

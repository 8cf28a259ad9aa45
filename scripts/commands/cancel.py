"""Cancel a tuning job."""

from __future__ import annotations

import argparse

from scripts.cli import UserError

HELP = "Cancel a tuning job."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UserError("not implemented yet (issue 4)")

"""Show a tuning job's state and trials."""

from __future__ import annotations

import argparse

from scripts.cli import UserError

HELP = "Show a tuning job's state and trials."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UserError("not implemented yet (issue 4)")

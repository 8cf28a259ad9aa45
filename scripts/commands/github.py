"""GitHub Actions glue: pull-request plans, merge submissions, result reports."""

from __future__ import annotations

import argparse

from scripts.cli import UserError

HELP = "GitHub Actions glue: pull-request plans, merge submissions, result reports."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UserError("not implemented yet (issue 6)")

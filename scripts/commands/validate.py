"""Check experiments.yaml; print FILE:LINE:COL: field: message for each problem."""

from __future__ import annotations

import argparse

from scripts.cli import UserError

HELP = "Check experiments.yaml; print FILE:LINE:COL: field: message for each problem."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UserError("not implemented yet (issue 3)")

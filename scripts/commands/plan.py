"""Print the Vertex job an experiment compiles to (json) or its plan for a pull request (markdown)."""

from __future__ import annotations

import argparse

from scripts.cli import UserError

HELP = "Print the Vertex job an experiment compiles to (json) or its plan for a pull request (markdown)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UserError("not implemented yet (issue 3)")

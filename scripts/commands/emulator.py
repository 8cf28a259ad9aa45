"""Run the local Vertex AI JobService emulator as a standalone server."""

from __future__ import annotations

import argparse

from scripts.cli import UserError

HELP = "Run the local Vertex AI JobService emulator as a standalone server."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UserError("not implemented yet (issue 5)")

"""Summarize a finished tuning job: best trial, trial table, chart (markdown or json)."""

from __future__ import annotations

import argparse

from scripts.cli import UserError

HELP = "Summarize a finished tuning job: best trial, trial table, chart (markdown or json)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UserError("not implemented yet (issue 4)")

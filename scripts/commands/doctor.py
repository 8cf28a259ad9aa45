"""`python -m scripts doctor`: being written in this session (a helper fills it in)."""

from __future__ import annotations

import argparse

from scripts.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UserError("doctor: not available yet")

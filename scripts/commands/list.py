"""`python -m scripts list`: being written in this session (a helper fills it in)."""

from __future__ import annotations

import argparse

from scripts.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UserError("list: not available yet")

"""`--format`: the one flag every command that prints results takes.

    add_format_argument(parser, {"table": "aligned columns", "json": "a JSON array"}, default="table")
    ...
    if args.format == "json": ...

Each command names the formats that apply to it, with a word on what each prints; `table`,
`json` and `markdown` mean the same everywhere (aligned text for people, JSON for programs,
GitHub Markdown for comments). `json_alias=True` keeps `--json` as a short way to say
`--format json` (run, status); `aliases` maps an older name to its format (`changed --format
text` is `table`).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping


def add_format_argument(
    parser: argparse.ArgumentParser,
    formats: Mapping[str, str],
    *,
    default: str,
    json_alias: bool = False,
    aliases: Mapping[str, str] | None = None,
) -> None:
    """`--format` with `formats` (name -> what it prints) and `default`; `--json` with `json_alias`."""
    aliases = dict(aliases or {})
    described = "; ".join(
        f"{name}{' (default)' if name == default else ''}: {what}" for name, what in formats.items()
    )
    parser.add_argument(
        "--format",
        type=lambda text: aliases.get(text, text),
        choices=list(formats),
        default=default,
        metavar="{" + ",".join(formats) + "}",
        help=described,
    )
    if json_alias:
        if "json" not in formats:
            raise ValueError("--json stands for --format json, which this command lacks")
        parser.add_argument(
            "--json", dest="format", action="store_const", const="json", help="the same as --format json"
        )

"""List the experiments added, changed or removed between two git revisions."""

from __future__ import annotations

import argparse
import json

from scripts.commands.experiment_args import add_file_argument, say_problems
from scripts.commands.format_args import add_format_argument
from scripts.experiments import InvalidExperiments
from scripts.wiring import Wiring


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base", required=True, metavar="REV", help="the revision to compare with (e.g. origin/main)"
    )
    parser.add_argument(
        "--head",
        default=None,
        metavar="REV",
        help="the revision to compare (default: the experiments file in the working tree)",
    )
    add_file_argument(parser)
    add_format_argument(
        parser,
        {
            "table": "a line per experiment: added, changed (with what changed), removed, unchanged",
            "json": "{added, changed, removed, unchanged, to_submit, differences} for workflows",
        },
        default="table",
        aliases={"text": "table"},  # its name before every command took the same --format
    )


def run(args: argparse.Namespace, wiring: Wiring) -> int:
    from scripts.experiments.changes import changes_between  # the Vertex AI types: about 1 s, not for --help

    try:
        changes = changes_between(args.base, args.head, args.file, wiring.env)
    except InvalidExperiments as error:
        return say_problems(error, wiring)
    if args.format == "json":
        print(json.dumps(changes.as_json(), indent=2))
        return 0
    print(f"experiments {changes.base} -> {changes.head}:")
    for name in changes.added:
        print(f"  added      {name}")
    for name, found in changes.changed.items():
        print(f"  changed    {name}")
        for line in found:
            print(f"               {line}")
    for name in changes.removed:
        print(f"  removed    {name} (not submitted; a job already running is not cancelled)")
    for name in changes.unchanged:
        print(f"  unchanged  {name}")
    if not changes.to_submit:
        print("nothing to submit")
    return 0

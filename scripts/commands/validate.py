"""Check experiments.yaml; print FILE:LINE:COL: field: message for each problem."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from scripts.commands.experiment_args import add_file_argument

    add_file_argument(parser)
    parser.add_argument(
        "--format",
        choices=("text", "github"),
        default="text",
        help="text: FILE:LINE:COL: field: message; github: workflow error annotations too",
    )


def run(args: argparse.Namespace) -> int:
    from scripts.experiments import InvalidExperiments, load

    try:
        experiments = load(args.file)
    except InvalidExperiments as error:
        from scripts.github.runner import annotation, one_line

        for problem in error.problems:
            # One line per problem, whatever a key holds (a newline must not start a workflow command).
            print(one_line(str(problem)))
            if args.format == "github":
                message = f"{problem.field}: {problem.message}"
                print(annotation("error", message, file=problem.file, line=problem.line, col=problem.column))
        count = len(error.problems)
        print(f"{args.file}: {count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        return 1
    names = experiments.names
    profiles = len(experiments.profiles)
    print(
        f"{args.file}: OK ({len(names)} experiment{'s' if len(names) != 1 else ''}, "
        f"{profiles} profile{'s' if profiles != 1 else ''})",
        file=sys.stderr,
    )
    return 0

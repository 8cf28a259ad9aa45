"""Check experiments.yaml; print FILE:LINE:COL: field: message for each problem."""

from __future__ import annotations

import argparse
import json

from scripts.commands.experiment_args import add_file_argument
from scripts.commands.format_args import add_format_argument
from scripts.escaping import log_line
from scripts.experiments import InvalidExperiments, load
from scripts.github.runner import annotation
from scripts.wiring import Wiring


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_file_argument(parser)
    add_format_argument(
        parser,
        {
            "text": "one FILE:LINE:COL: field: message line per problem",
            "github": "the same lines and a workflow error annotation for each",
            "json": "{file, valid, experiments, profiles, problems: [{file, line, column, field, message}]}",
        },
        default="text",
    )


def run(args: argparse.Namespace, wiring: Wiring) -> int:
    try:
        experiments = load(args.file, wiring.env)
    except InvalidExperiments as error:
        if args.format == "json":
            _print_json(args.file, problems=error.problems)
            return 1

        for problem in error.problems:
            # One line per problem, whatever a key holds (a newline must not start a workflow command).
            print(log_line(problem))
            if args.format == "github":
                message = f"{problem.field}: {problem.message}"
                print(annotation("error", message, file=problem.file, line=problem.line, col=problem.column))
        count = len(error.problems)
        wiring.say(f"{args.file}: {count} problem{'s' if count != 1 else ''}")
        return 1
    names = experiments.names
    if args.format == "json":
        _print_json(args.file, experiments=names, profiles=list(experiments.profiles))
        return 0
    profiles = len(experiments.profiles)
    wiring.say(
        f"{args.file}: OK ({len(names)} experiment{'s' if len(names) != 1 else ''}, "
        f"{profiles} profile{'s' if profiles != 1 else ''})"
    )
    return 0


def _print_json(file: str, *, problems=(), experiments=(), profiles=()) -> None:
    print(
        json.dumps(
            {
                "file": file,
                "valid": not problems,
                "experiments": list(experiments),
                "profiles": list(profiles),
                "problems": [
                    {
                        "file": problem.file,
                        "line": problem.line,
                        "column": problem.column,
                        "field": problem.field,
                        "message": problem.message,
                    }
                    for problem in problems
                ],
            },
            indent=2,
        )
    )

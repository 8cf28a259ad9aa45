"""Print the Vertex job an experiment compiles to (json) or its plan for a pull request (markdown)."""

from __future__ import annotations

import argparse

from scripts.commands.experiment_args import add_experiment_arguments, compile_from_args, say_problems
from scripts.commands.format_args import add_format_argument
from scripts.experiments import InvalidExperiments
from scripts.wiring import Wiring


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_experiment_arguments(parser)
    add_format_argument(
        parser,
        {
            "json": "exactly the HyperparameterTuningJob that would be sent, in the protobuf JSON mapping",
            "markdown": "the plan a pull request shows (trials, GPU-hours, cost)",
        },
        default="json",
    )
    parser.add_argument(
        "--base",
        default=None,
        metavar="REV",
        help="markdown: say what changed compared with the experiments file at this git revision",
    )


def run(args: argparse.Namespace, wiring: Wiring) -> int:
    try:
        compiled = compile_from_args(args, wiring.env)
    except InvalidExperiments as error:
        return say_problems(error, wiring)
    if args.format == "json":
        print(compiled.to_json())
        return 0
    from scripts.experiments.plan import render_plan  # the Vertex AI types: about 1 s, not for --help

    print(render_plan(compiled, base=args.base, file=args.file, env=wiring.env))
    return 0

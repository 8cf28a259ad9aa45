"""`python -m scripts COMMAND ...`: a dispatcher that imports only the command it runs.

Each command lives in `scripts/commands/<name>.py` and exposes:

    HELP: str                                    # one line for the command list
    def add_arguments(parser: argparse.ArgumentParser) -> None
    def run(args: argparse.Namespace) -> int     # the exit status

Command modules keep their heavy imports (the cloud clients, TensorFlow, Optuna) inside
`run`, so that `validate` stays fast and `--help` never waits on them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from scripts.errors import ExitStatus, UserError

# name on the command line -> module under scripts.commands
COMMANDS: dict[str, str] = {
    # experiments as code
    "validate": "validate",
    "plan": "plan",
    "changed": "changed",
    # backends: Vertex AI and the local emulator
    "run": "run",
    "status": "status",
    "cancel": "cancel",
    "report": "report",
    "emulator": "emulator",
    # GitHub
    "comment": "comment",
    "github": "github",
    # the trainer image
    "build": "build",
    "image-ref": "image_ref",
}


def _load(name: str):
    return importlib.import_module(f"scripts.commands.{COMMANDS[name]}")


def _usage() -> str:
    lines = ["usage: python -m scripts COMMAND [options]", "", "commands:"]
    for name in COMMANDS:
        try:
            summary = _load(name).HELP
        except ModuleNotFoundError:
            continue
        lines.append(f"  {name:<12} {summary}")
    lines.append("")
    lines.append("`python -m scripts COMMAND --help` describes one command.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(_usage())
        return ExitStatus.OK if argv else ExitStatus.USAGE
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"error: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return ExitStatus.USAGE
    module = _load(name)
    parser = argparse.ArgumentParser(prog=f"python -m scripts {name}", description=module.HELP)
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    try:
        return int(module.run(args) or 0)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return ExitStatus.FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:  # the reader went away (`plan ... | head`): not our error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitStatus.BROKEN_PIPE

"""`python -m scripts COMMAND ...`: a dispatcher that imports only the command it runs.

The command table below holds each command's module and its one-line help, so listing the
commands (`--help`, an unknown command) imports no command module at all. Each command lives in
`scripts/commands/<module>.py` and exposes:

    def add_arguments(parser: argparse.ArgumentParser) -> None
    def run(args: argparse.Namespace, wiring: Wiring) -> int    # the exit status

`main` builds the `Wiring` once (`scripts.wiring`: the environment snapshot, the backend, the
GitHub client factory, the step's reporter, the clock) and hands it to the command; nothing below
the commands reads the process environment.

Command modules keep their heavy imports (the cloud clients, TensorFlow, Optuna) inside `run`,
so that `validate` stays fast and `COMMAND --help` never waits on them.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

from scripts.errors import ExitStatus, UserError, did_you_mean  # noqa: F401  (did_you_mean: re-exported)
from scripts.paths import REPO_ROOT
from scripts.wiring import Wiring


@dataclass(frozen=True)
class Command:
    module: str  # under scripts.commands
    help: str  # one line: the command list, and the description of the command's --help


COMMANDS: dict[str, Command] = {
    # experiments as code
    "validate": Command(
        "validate", "Check experiments.yaml; print FILE:LINE:COL: field: message for each problem."
    ),
    "plan": Command(
        "plan",
        "Print the Vertex job an experiment compiles to (json) or its plan for a pull request (markdown).",
    ),
    "changed": Command(
        "changed", "List the experiments added, changed or removed between two git revisions."
    ),
    "prices": Command(
        "prices", "Show the price tables costs come from (source, date); --refresh fetches a region's."
    ),
    # backends: Vertex AI and the local emulator
    "run": Command(
        "run", "Submit an experiment to a backend (vertex or local) and, with --wait, follow it to the end."
    ),
    "list": Command("list", "List a backend's tuning jobs, newest first (filter by experiment and state)."),
    "status": Command("status", "Show a tuning job's state and trials."),
    "cancel": Command("cancel", "Cancel a tuning job (its running trials stop; finished trials are kept)."),
    "report": Command("report", "Summarize a tuning job: best trial, trial table, chart (markdown or json)."),
    "compare": Command("compare", "Compare a job with a baseline job: better, worse, no clear difference."),
    "promote": Command(
        "promote", "Register a job's best (or named) trial's model as a Vertex AI Model Registry version."
    ),
    "emulator": Command(
        "emulator", "Run the local Vertex AI JobService emulator as a standalone server (until Ctrl-C)."
    ),
    # GitHub
    "comment": Command("comment", "Create or update this project's one comment for a key on a pull request."),
    "github": Command(
        "github", "GitHub Actions glue: pull-request plans, merge submissions, result reports, /hpt commands."
    ),
    # before the first job
    "doctor": Command(
        "doctor", "Check a Google Cloud project for what a run needs; print each check with its fix."
    ),
    # the trainer image
    "build": Command(
        "build", "Build the trainer image with Cloud Build (skipped when its content tag is already pushed)."
    ),
    "image-ref": Command(
        "image_ref", "Print the trainer image a commit should use (its content-tagged image)."
    ),
}


def _load(name: str) -> ModuleType:
    """The module of command `name` (imported now, and only it)."""
    return importlib.import_module(f"scripts.commands.{COMMANDS[name].module}")


def version() -> str:
    """`vertex-hpt-actions 0.1.0` from pyproject.toml, with the checkout's commit when known."""
    # Here, not at the top: only --version reads TOML and asks git (about 15 ms every command saves).
    import tomllib

    from scripts import git

    with open(REPO_ROOT / "pyproject.toml", "rb") as file:
        project = tomllib.load(file)["project"]
    commit = git.head_commit()
    return f"{project['name']} {project['version']}" + (f" (commit {commit[:12]})" if commit else "")


def _usage() -> str:
    lines = ["usage: python -m scripts [--version] COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<12} {command.help}" for name, command in COMMANDS.items()]
    lines.append("")
    lines.append("`python -m scripts COMMAND --help` describes one command.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, wiring: Wiring | None = None) -> int:
    """Run one command; `wiring` defaults to this process's (its environment as it is now)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(_usage())
        return ExitStatus.OK if argv else ExitStatus.USAGE
    if argv[0] == "--version":
        print(version())
        return ExitStatus.OK
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        hint = did_you_mean(name, list(COMMANDS))
        print(f"error: unknown command {name!r}{hint}\n\n{_usage()}", file=sys.stderr)
        return ExitStatus.USAGE
    module = _load(name)
    parser = argparse.ArgumentParser(prog=f"python -m scripts {name}", description=COMMANDS[name].help)
    module.add_arguments(parser)
    args = parser.parse_args(rest)
    wiring = Wiring.from_process() if wiring is None else wiring
    try:
        return int(module.run(args, wiring) or 0)
    except UserError as error:
        wiring.say(f"error: {error}")
        return ExitStatus.FAILED
    except KeyboardInterrupt:
        wiring.say("interrupted")
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:  # the reader went away (`plan ... | head`): not our error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitStatus.BROKEN_PIPE

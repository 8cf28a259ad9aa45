"""The files the Actions runner reads back: step outputs (`$GITHUB_OUTPUT`) and the job summary.

Outside a runner (no such variable) outputs go nowhere and the summary goes to stdout, so the
same commands are usable from a terminal.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path


def set_output(name: str, value: str, environ: dict[str, str] | None = None) -> None:
    """Write step output `name`; multi-line values use a random heredoc delimiter."""
    env = os.environ if environ is None else environ
    path = env.get("GITHUB_OUTPUT")
    if not path:
        return
    if "\n" in value or "\r" in value:
        # A delimiter the value cannot contain, so a crafted value cannot inject other outputs.
        delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
        record = f"{name}<<{delimiter}\n{value}\n{delimiter}\n"
    else:
        record = f"{name}={value}\n"
    with Path(path).open("a", encoding="utf-8") as out:
        out.write(record)


def append_summary(markdown: str, environ: dict[str, str] | None = None) -> None:
    """Add Markdown to the job summary (stdout outside a runner)."""
    env = os.environ if environ is None else environ
    path = env.get("GITHUB_STEP_SUMMARY")
    text = markdown.rstrip("\n") + "\n\n"
    if not path:
        sys.stdout.write(text)
        return
    with Path(path).open("a", encoding="utf-8") as out:
        out.write(text)


def notice(message: str) -> None:
    """An annotation on the run's page (plain stderr outside a runner)."""
    print(f"::notice::{_escape(message)}" if os.environ.get("GITHUB_ACTIONS") else message, file=sys.stderr)


def warning(message: str) -> None:
    print(f"::warning::{_escape(message)}" if os.environ.get("GITHUB_ACTIONS") else message, file=sys.stderr)


def annotation(level: str, message: str, *, file: str = "", line: int = 0, col: int = 0) -> str:
    """One `::error`/`::warning`/`::notice` workflow command line, its data and properties escaped.

    The escaping is the runner's (actions/toolkit `escapeData`, `escapeProperty`; documented at
    https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands): a
    message or file name with a newline cannot end the line and start another command.
    """
    if level not in ("error", "warning", "notice"):
        raise ValueError(f"annotation level {level!r}")
    properties = [f"file={_escape_property(file)}"] if file else []
    properties += [f"line={int(line)}"] if line else []
    properties += [f"col={int(col)}"] if col else []
    return f"::{level}{' ' + ','.join(properties) if properties else ''}::{_escape(message)}"


def _escape(message: str) -> str:
    # Workflow-command data escaping, so a message cannot start another workflow command.
    return message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape(value).replace(":", "%3A").replace(",", "%2C")

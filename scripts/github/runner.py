"""Where a command reports: progress on stderr, and the files the Actions runner reads back (step
outputs, `$GITHUB_OUTPUT`, and the job summary).

Outside a runner (no such variable) outputs go nowhere and the summary goes to stdout, so the
same commands are usable from a terminal.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scripts import escaping


@dataclass(frozen=True)
class Step:
    """One command's environment and where it reports: progress and errors, step outputs, the job
    summary, annotations.

    The command builds it from its wiring (`scripts.wiring`), and a flow hands it on: what the
    step reads (`env`) and writes back come from the same place.
    """

    env: Mapping[str, str]

    def say(self, message: str) -> None:
        """Progress or an error on stderr (stdout is the command's result), each line at once. Each
        line is escaped for where it is read: in a runner's log it starts no workflow command
        (`escaping.log_line`), on a terminal it moves no cursor (`escaping.terminal_line`), whatever
        a key, a file or a service's message put in it."""
        escape = escaping.log_line if self.env.get("GITHUB_ACTIONS") else escaping.terminal_line
        for line in message.split("\n"):
            print(escape(line), file=sys.stderr, flush=True)

    def set_output(self, name: str, value: str) -> None:
        """Write step output `name`; multi-line values use a random heredoc delimiter."""
        path = self.env.get("GITHUB_OUTPUT")
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

    def append_summary(self, markdown: str) -> None:
        """Add Markdown to the job summary (stdout outside a runner)."""
        path = self.env.get("GITHUB_STEP_SUMMARY")
        text = markdown.rstrip("\n") + "\n\n"
        if not path:
            sys.stdout.write(text)
            return
        with Path(path).open("a", encoding="utf-8") as out:
            out.write(text)

    def notice(self, message: str) -> None:
        """An annotation on the run's page (plain stderr outside a runner)."""
        self._annotate("notice", message)

    def warning(self, message: str) -> None:
        self._annotate("warning", message)

    def _annotate(self, level: str, message: str) -> None:
        print(
            f"::{level}::{_escape(message)}" if self.env.get("GITHUB_ACTIONS") else message, file=sys.stderr
        )


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

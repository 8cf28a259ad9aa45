"""The one wiring point: what a command needs, built once per invocation by the CLI.

As the `gh` CLI's factory does, `scripts.cli.main` builds one `Wiring` and hands it to the
command it runs, `run(args, wiring)`:

- `env`: the process environment, read here and only here (`process_environment`). Nothing below
  the commands reads `os.environ`: the configuration a workflow supplies (its steps' variables)
  arrives in this snapshot, and each function is handed the part it needs;
- `backend`: the JobService backend the environment names (Vertex AI, or an emulator);
- `github()`: a GitHub client for this repository, built when a command asks for one;
- `say(message)`: the one reporter of progress and errors (stderr, escaped for a terminal or a
  runner's log: `Step.say`);
- `step`: where a workflow step reports (outputs, job summary, annotations; stdout and stderr
  outside Actions);
- `state_dir`: this machine's local backend state;
- `clock` and `sleep`: time, for what waits.

Tests build one from a plain dict: `Wiring({"HPT_STATE_DIR": str(tmp_path)})`.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from scripts import paths
from scripts.github.runner import Step
from scripts.vertex.backend import Backend

if TYPE_CHECKING:
    from scripts.github.api import GitHubClient


def process_environment() -> Mapping[str, str]:
    """A read-only snapshot of this process's environment: the one read of `os.environ` by the
    commands and the flows (a process entry point such as the plan sandbox's child takes its own)."""
    return MappingProxyType(dict(os.environ))


@dataclass(frozen=True)
class Wiring:
    env: Mapping[str, str]
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def from_process(cls) -> Wiring:
        return cls(process_environment())

    @functools.cached_property
    def backend(self) -> Backend:
        return Backend.from_environment(self.env)

    def github(self) -> GitHubClient:
        """A client for `$GITHUB_REPOSITORY` with `$GITHUB_TOKEN`; raises `GitHubError` without them."""
        # Here, not at the top: the client brings urllib.request (about 0.1 s), which most commands
        # never need.
        from scripts.github.api import GitHubClient

        client = GitHubClient.from_environment(self.env)
        client.clock, client.sleep = self.clock, self.sleep
        return client

    @functools.cached_property
    def step(self) -> Step:
        return Step(self.env)

    def say(self, message: str) -> None:
        self.step.say(message)

    @functools.cached_property
    def state_dir(self) -> Path:
        return paths.state_dir(self.env)

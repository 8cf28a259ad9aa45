"""`--backend local|vertex`, and the local backend a command talks to (`run`, `list`).

    with local_backend(wiring.backend) as backend:                  # run: resumes and runs jobs
        ...
    with local_backend(wiring.backend, resume=False) as backend:    # list: reads, runs nothing
        ...

The local backend is the emulator `VERTEX_AI_EMULATOR_HOST` names when it is set; else the one
serving the state directory (`HPT_STATE_DIR`, default `.hpt/`), started here for the length of
the block. A reader (`resume=False`) that finds the state directory held by a running emulator
(a `make tune` in another terminal) asks that one instead.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
from collections.abc import Iterator

from scripts.emulator.embedded import StateDirInUse, running_emulator, serving_address
from scripts.vertex.backend import Backend

BACKENDS = ("local", "vertex")


def add_backend_argument(parser: argparse.ArgumentParser, *, default: str | None = None) -> None:
    """`--backend local|vertex`: required unless `default` is given."""
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        required=default is None,
        default=default,
        help="vertex: Vertex AI (Application Default Credentials); local: the emulator on this machine"
        + (f" (default: {default})" if default else ""),
    )


@contextlib.contextmanager
def local_backend(
    configured: Backend, *, resume: bool = True, preempt_after: float | None = None
) -> Iterator[Backend]:
    """The emulator the environment names, or one serving the state directory until the end
    (`preempt_after`: its spot preemption, `scripts.emulator.embedded.running_emulator`)."""
    if configured.is_emulator:
        yield configured
        return

    directory = configured.local_state_dir
    with contextlib.ExitStack() as stack:
        try:
            address = stack.enter_context(
                running_emulator(directory, resume=resume, preempt_after=preempt_after)
            )
        except StateDirInUse:
            address = None if resume else serving_address(directory)
            if address is None:
                raise
        # The same backend (its registry, this machine's state), served by that emulator.
        yield dataclasses.replace(configured, emulator=address, emulator_state_dir=directory)


@contextlib.contextmanager
def reading_backend(choice: str, configured: Backend) -> Iterator[Backend]:
    """The backend `--backend` names, for a command that runs no tuning job (compare, promote):
    Vertex AI as configured, or the local backend (`local_backend(..., resume=False)`) for the block."""
    if choice == "vertex":
        yield configured
        return
    with local_backend(configured, resume=False) as backend:
        yield backend

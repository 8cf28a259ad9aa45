"""`running_emulator`: the local backend for the length of one `with` block.

    with running_emulator(state_dir) as address:      # "127.0.0.1:<port>"
        client = JobServiceClient(transport=JobServiceGrpcTransport(
            channel=grpc.insecure_channel(address)))
        ...

On entry it opens the store under `state_dir` and resumes the jobs it left unfinished; on exit
it stops the server and every trial still running, leaving such jobs unfinished in the store,
so the next start resumes them (cancel a job first to end it for good).

One emulator at a time owns a state directory (a lock on `emulator.lock`, released when the
process ends however it ends): two would both resume the same jobs and run their trials twice.
"""

from __future__ import annotations

import fcntl
import importlib
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from scripts.emulator.contract import emulator_setting
from scripts.errors import UserError

LOCK_FILE = "emulator.lock"


class StateDirInUse(UserError):
    """Another emulator serves from the same state directory."""


@contextmanager
def _owning(directory: Path) -> Iterator[TextIO]:
    """Hold the state directory's lock; the file says who holds it (pid, then the address)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK_FILE, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise StateDirInUse(
                f"{directory} is in use by another emulator ({holder}); use it with "
                f"{emulator_setting()}, or give this one another state directory"
            ) from None
        lock.truncate(0)
        lock.write(f"pid {os.getpid()}")
        lock.flush()
        yield lock


def serving_address(state_dir: Path) -> str | None:
    """The `host:port` of the emulator that holds `state_dir` now (from its lock file), or None."""
    try:
        text = (Path(state_dir) / LOCK_FILE).read_text()
    except OSError:
        return None
    match = re.search(r"serving (\S+)", text)
    return match.group(1) if match else None


PREEMPT_AFTER_ENV = "HPT_EMULATOR_PREEMPT_AFTER"


def preempt_after_setting(env: Mapping[str, str]) -> float | None:
    """`$HPT_EMULATOR_PREEMPT_AFTER` in seconds (None when unset); raises UserError for a bad value."""
    text = env.get(PREEMPT_AFTER_ENV, "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        raise UserError(f"{PREEMPT_AFTER_ENV}={text!r}: expected a number of seconds") from None
    if not seconds > 0:
        raise UserError(f"{PREEMPT_AFTER_ENV}={text!r}: expected a positive number of seconds")
    return seconds


@contextmanager
def running_emulator(
    state_dir: Path | str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    max_parallel: int | None = None,
    entrypoint: tuple[str, ...] | list[str] | None = None,
    seed: int | None = None,
    poll_interval: float = 0.1,
    stop_grace_seconds: float = 5.0,
    preempt_after: float | None = None,
    resume: bool = True,
) -> Iterator[str]:
    """Serve the JobService emulator on `host:port` (0: a free port) and yield `host:port`.

    `entrypoint` stands for the trainer image's ENTRYPOINT when a worker pool sets no command
    (default `python -m trainer.task` in the repository root); `max_parallel` caps trials run at
    once (default: this machine's cores); `seed` fixes every study's seed. `preempt_after`
    (the commands' default: `$HPT_EMULATOR_PREEMPT_AFTER`, see `preempt_after_setting`) preempts
    each trial of a SPOT job once, that many seconds after it starts, as a spot VM is preempted:
    its replicas get SIGTERM and start again, so the trainer's backup and restore runs for real.
    `resume=False` serves the store as it is and runs nothing (what `list` needs): the jobs it
    left unfinished wait for the next emulator that resumes them.
    """
    # The server side (grpc, aiplatform_v1, SQLite, the scheduler): not for `preempt_after_setting` alone
    from scripts.emulator import model_service, server
    from scripts.emulator.scheduler import Scheduler
    from scripts.emulator.store import Store
    from scripts.emulator.trials import DEFAULT_ENTRYPOINT, Options

    directory = Path(state_dir).resolve()
    options = Options(
        state_dir=directory,
        max_parallel=max_parallel,
        entrypoint=tuple(entrypoint) if entrypoint else DEFAULT_ENTRYPOINT,
        seed=seed,
        poll_interval=poll_interval,
        stop_grace_seconds=stop_grace_seconds,
        preempt_after=preempt_after,
    )
    if resume:  # Optuna and SQLAlchemy take a second to import: do it while the client prepares its job.
        threading.Thread(target=importlib.import_module, args=("optuna",), daemon=True).start()
    with _owning(directory) as lock:
        store = Store(directory)
        scheduler = Scheduler(store, options)
        try:
            services = server.handlers(server.JobService(store, scheduler))
            services += model_service.handlers(model_service.ModelService(store))
            grpc_server, bound = server.serve(services, host, port)
        except BaseException:
            store.close()
            raise
        try:
            lock.write(f", serving {host}:{bound}")  # after the pid (`serving_address` reads it)
            lock.flush()
            if resume:
                scheduler.resume()
            yield f"{host}:{bound}"
        finally:
            grpc_server.stop(grace=1).wait()
            scheduler.shutdown()
            store.close()

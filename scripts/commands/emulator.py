"""Run the local Vertex AI JobService emulator as a standalone server, until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
import threading
from pathlib import Path

from scripts.emulator.contract import emulator_setting
from scripts.emulator.embedded import preempt_after_setting, running_emulator
from scripts.errors import UserError
from scripts.wiring import Wiring


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="jobs, trials and trial outputs (default: $HPT_STATE_DIR or .hpt/)",
    )
    parser.add_argument(
        "--max-parallel",
        type=int,
        default=None,
        help="trials run at once, at most (default: this machine's cores)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of every study (default: derived from each job's name and study spec)",
    )
    parser.add_argument(
        "--preempt-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="simulate spot preemption: each trial of a SPOT job is preempted once, SECONDS after it "
        "starts, and restarted (default: $HPT_EMULATOR_PREEMPT_AFTER, else never)",
    )
    parser.add_argument(
        "--entrypoint",
        default=None,
        help="command standing for the image's ENTRYPOINT when a worker pool sets none "
        "(default: 'python -m trainer.task' in the repository root)",
    )


def run(args: argparse.Namespace, wiring: Wiring) -> int:
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port: {args.port} is not a port number")
    if args.max_parallel is not None and args.max_parallel < 1:
        raise UserError("--max-parallel: must be at least 1")
    if args.preempt_after is not None and not args.preempt_after > 0:
        raise UserError("--preempt-after: must be a positive number of seconds")
    entrypoint = shlex.split(args.entrypoint) if args.entrypoint else None
    if entrypoint is not None and not entrypoint:
        raise UserError("--entrypoint: empty command")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)

    stop = threading.Event()
    # Both stop it cleanly, even where SIGINT arrives ignored (a background job of a script).
    previous = {
        stop_signal: signal.signal(stop_signal, lambda signum, frame: stop.set())
        for stop_signal in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        with running_emulator(
            args.state_dir or wiring.state_dir,
            port=args.port,
            max_parallel=args.max_parallel,
            entrypoint=entrypoint,
            seed=args.seed,
            preempt_after=args.preempt_after or preempt_after_setting(wiring.env),
        ) as address:
            print(f"export {emulator_setting(address)}", flush=True)
            say = wiring.say
            say(
                "serving the Vertex AI JobService emulator; Ctrl-C stops it "
                "(unfinished jobs resume on the next start)"
            )
            while not stop.wait(0.5):
                pass
            say("stopping: trials still running are stopped and resume on the next start")
    except OSError as error:
        raise UserError(f"cannot start the emulator: {error}") from error
    finally:
        for stop_signal, handler in previous.items():
            signal.signal(stop_signal, handler)
    return 0

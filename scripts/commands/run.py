"""Submit an experiment to a backend (vertex or local) and, with --wait, follow it to the end.

Both backends go through the same code: compile the experiment, submit it exactly once, follow
it, write the summary. `local` serves the Vertex JobService from an emulator on loopback (the
emulator the environment names, or one started here) and always waits for the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from scripts import submission
from scripts.commands.backend_args import add_backend_argument, local_backend
from scripts.commands.experiment_args import add_experiment_arguments, compile_from_args, say_problems
from scripts.commands.format_args import add_format_argument
from scripts.emulator.embedded import preempt_after_setting
from scripts.errors import ExitStatus, UserError
from scripts.experiments import InvalidExperiments
from scripts.experiments.costs import MAX_COST_VARIABLE
from scripts.jobs import labels, states
from scripts.results.files import write_summary
from scripts.results.summary import tensorboard_command, tensorboard_logdir
from scripts.results.trials import best_trial, final_value, objective, parameter_value
from scripts.vertex.backend import Backend
from scripts.vertex.jobjson import to_json
from scripts.wiring import Wiring

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

    from scripts.vertex.service import JobService


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_experiment_arguments(parser)  # EXPERIMENT, --file, --profile, --set, --commit, --pr, --repository
    add_backend_argument(parser)
    parser.add_argument("--wait", action="store_true", help="follow the job to its end (always on for local)")
    add_format_argument(
        parser,
        {
            "table": "the live trial table and the result on stderr, nothing on stdout",
            "json": "the same on stderr, and the final job (with its trials) as protobuf JSON on stdout",
        },
        default="table",
        json_alias=True,
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="submit a new job even if one with the same experiment, spec and commit exists",
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=None,
        metavar="N",
        help="local only: the optimizer's seed (a different seed is a different job; default: from the job)",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="first wait between polls; it grows while nothing changes (default 5, local 1)",
    )
    parser.add_argument(
        "--max-poll-interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="longest wait between polls (default 60, local 5)",
    )


def _seed(text: str) -> int:
    value = int(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"a seed is 0 to {2**32 - 1}, got {text}")
    return value


def with_seed(compiled, seed: int):
    """The compiled job for a seeded local run: the seed in its `hpt-seed` label, and in its
    identity (the spec-hash label covers the seed too), so each seed is a job of its own and a
    re-run with the same seed finds the job it made."""
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob  # the Vertex AI types: not for --help

    job = HyperparameterTuningJob(compiled.job)
    spec_hash = hashlib.sha256(f"{compiled.spec_hash}:seed={seed}".encode()).hexdigest()[
        : len(compiled.spec_hash)
    ]
    job.labels[labels.SEED] = str(seed)
    job.labels[labels.SPEC_HASH] = spec_hash
    return dataclasses.replace(compiled, job=job, spec_hash=spec_hash)


def run(args: argparse.Namespace, wiring: Wiring) -> int:
    try:
        compiled = compile_from_args(args, wiring.env)
    except InvalidExperiments as error:
        return say_problems(error, wiring)
    configured = wiring.backend
    if args.seed is not None:
        if args.backend == "vertex":
            raise UserError("--seed is for --backend local: Vertex AI's search takes no seed")
        compiled = with_seed(compiled, args.seed)
    if args.backend == "vertex":
        return _submit_and_follow(
            args, compiled, configured, wiring, wait=args.wait, cancel_on_interrupt=False
        )

    with local_backend(configured, preempt_after=preempt_after_setting(wiring.env)) as backend:
        return _submit_and_follow(args, compiled, backend, wiring, wait=True, cancel_on_interrupt=True)


def _submit_and_follow(
    args: argparse.Namespace,
    compiled,
    backend: Backend,
    wiring: Wiring,
    *,
    wait: bool,
    cancel_on_interrupt: bool,
) -> int:
    # grpc and google.api_core (about 0.5 s): not for --help or an invalid experiment.
    from scripts.vertex.service import JobService, PollSchedule, exit_status

    service = JobService(backend)
    # `--backend vertex` spends, whatever answers at the Vertex address: the workflows' gate, with
    # no approval here (the cap is the caller's own). The local emulator spends nothing.
    raise_cap = submission.Approval(lambda: False, f"set {MAX_COST_VARIABLE} higher for this run to allow it")
    (outcome,) = submission.submit_all(
        service,
        [compiled],
        env=wiring.env,
        force=args.force,
        gate=args.backend == "vertex",
        approval=raise_cap,
    )
    if outcome.error is not None:
        raise UserError(f"{compiled.name}: {outcome.error}") if outcome.refused else outcome.error
    job = outcome.submission.job
    say = wiring.say
    say(f"job {job.name}\n  {backend.console_url(job.name) or backend.describe()}")
    if not wait:
        if args.format == "json":
            print(to_json(job))
        say(f"follow it with: python -m scripts status {job.name}")
        return 0

    local = backend.is_emulator
    schedule = PollSchedule(
        initial=args.poll_interval or (1.0 if local else 5.0),
        maximum=args.max_poll_interval or (5.0 if local else 60.0),
    )
    try:
        job = service.follow(job.name, schedule=schedule)
    except KeyboardInterrupt:
        if not cancel_on_interrupt:
            say(f"stopped following; the job goes on. Cancel it with: python -m scripts cancel {job.name}")
            return ExitStatus.INTERRUPTED
        job = _cancel_and_settle(service, job.name, say)
        _finish(args, job, backend, say)
        return ExitStatus.INTERRUPTED
    _finish(args, job, backend, say)
    return exit_status(job)


def _cancel_and_settle(service: JobService, name: str, say: Callable[[str], None]) -> HyperparameterTuningJob:
    """Ctrl-C on a local run: cancel the job and wait until its trials have stopped."""
    from scripts.vertex.service import PollSchedule  # loaded by _submit_and_follow already

    say(f"interrupted: cancelling {name} (Ctrl-C again to stop waiting)")
    service.cancel(name)
    try:
        return service.follow(name, schedule=PollSchedule(initial=0.5, maximum=2.0))
    except KeyboardInterrupt:
        raise UserError(f"stopped waiting; {name} is being cancelled") from None


def _finish(
    args: argparse.Namespace, job: HyperparameterTuningJob, backend: Backend, say: Callable[[str], None]
) -> None:
    """The end of a waited run: say how it went, write the summary files, print the job if asked."""
    state = states.short(job.state.name)
    goal = objective(job)
    best = best_trial(job)
    if best is not None:
        parameters = ", ".join(f"{p.parameter_id}={parameter_value(p)}" for p in best.parameters)
        value = final_value(best, goal.metric_id)
        say(f"result: {state}; best trial {best.id}: {goal.metric_id}={value:.6g} ({parameters})")
    else:
        say(f"result: {state}; no trial succeeded with a final {goal.metric_id}")
    if job.error.message:
        say(f"error: {job.error.message}")
    where = backend.where(job)
    for path in write_summary(job, backend.run_dir(job.name), backend=where):
        say(f"wrote {path}")
    logs = tensorboard_logdir(job, where)
    if logs:
        say(f"TensorBoard logs of every trial: {tensorboard_command(logs)}")
    if args.format == "json":
        print(to_json(job))

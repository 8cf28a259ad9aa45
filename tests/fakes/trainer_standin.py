"""A tiny stand-in for `python -m trainer.task`, for the emulator's tests and benchmark.

It reports `--base + step * --slope` (or `--base - ...` with a negative slope) for each step
1..`--steps` through the real cloudml-hypertune library, under `--metric_tag`, sleeping
`--sleep` seconds before each report. Tuned parameters arrive as extra `--id=value` flags; a
parameter named like one of these flags (`base`, `slope`, `sleep`, ...) sets it, which is how a
test makes one trial better than another. With `--record DIR` it writes
`DIR/trial-<CLOUD_ML_TRIAL_ID>.json` (`...-worker-<index>.json` for a worker replica): its argv,
environment, working directory and start/end times. `--exit_code N` exits with N after
reporting; `--report_nothing` reports nothing. `--fail_once DIR` exits with 3 after its first
report unless `DIR/failed-<trial>` exists (it creates it): a replica that fails once. With
`--checkpoint` it saves the last reported step in `$AIP_CHECKPOINT_DIR/step` and resumes after
it when started again (the trainer's backup and restore, in miniature).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

import hypertune


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=float, default=0.5)
    parser.add_argument("--slope", type=float, default=0.0)
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--metric_tag", default="accuracy")
    parser.add_argument("--exit_code", type=int, default=0)
    parser.add_argument("--report_nothing", action="store_true")
    parser.add_argument("--record", type=Path)
    parser.add_argument("--fail_once", type=Path)
    parser.add_argument("--checkpoint", action="store_true")
    args, _tuned = parser.parse_known_args(argv)

    started = time.time()
    task = json.loads(os.environ.get("TF_CONFIG") or "{}").get("task", {})
    # The chief (or the only replica) writes trial-<id>.json; another replica adds its role.
    replica = "" if task.get("type", "chief") == "chief" else f"-{task['type']}-{task['index']}"
    record = {
        "argv": argv,
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "pid": os.getpid(),
        "started": started,
        "terminated": False,
    }

    def write_record() -> None:
        if args.record:
            args.record.mkdir(parents=True, exist_ok=True)
            record["ended"] = time.time()
            target = args.record / f"trial-{os.environ.get('CLOUD_ML_TRIAL_ID', '0')}{replica}.json"
            target.write_text(json.dumps(record))

    def on_sigterm(signum, frame) -> None:
        record["terminated"] = True
        write_record()
        sys.exit(143)

    signal.signal(signal.SIGTERM, on_sigterm)
    write_record()
    print(f"stand-in trial {os.environ.get('CLOUD_ML_TRIAL_ID')} to stdout", flush=True)
    print(f"stand-in trial {os.environ.get('CLOUD_ML_TRIAL_ID')} to stderr", file=sys.stderr, flush=True)
    reporter = hypertune.HyperTune()
    trial = os.environ.get("CLOUD_ML_TRIAL_ID", "0")
    saved = Path(os.environ.get("AIP_CHECKPOINT_DIR", "."), "step") if args.checkpoint else None
    first = int(saved.read_text()) + 1 if saved is not None and saved.exists() else 1
    record.setdefault("resumed_at", first)
    for step in range(first, args.steps + 1):
        time.sleep(args.sleep)
        if not args.report_nothing:
            reporter.report_hyperparameter_tuning_metric(
                hyperparameter_metric_tag=args.metric_tag,
                metric_value=args.base + step * args.slope,
                global_step=step,
            )
        record["last_step"] = step
        if saved is not None:
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_text(str(step))
        if args.fail_once and not (args.fail_once / f"failed-{trial}").exists():
            args.fail_once.mkdir(parents=True, exist_ok=True)
            (args.fail_once / f"failed-{trial}").write_text("1")
            return 3
    write_record()
    return args.exit_code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

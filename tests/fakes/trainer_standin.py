"""A tiny stand-in for `python -m trainer.task`, for the emulator's tests and benchmark.

It reports `--base + step * --slope` (or `--base - ...` with a negative slope) for each step
1..`--steps` through the real cloudml-hypertune library, under `--metric_tag`, sleeping
`--sleep` seconds before each report. Tuned parameters arrive as extra `--id=value` flags; a
parameter named like one of these flags (`base`, `slope`, `sleep`, ...) sets it, which is how a
test makes one trial better than another. With `--record DIR` it writes
`DIR/trial-<CLOUD_ML_TRIAL_ID>.json` (`...-worker-<index>.json` for a worker replica): its argv,
environment, working directory and start/end times. `--exit_code N` exits with N after
reporting; `--report_nothing` reports nothing.
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
    for step in range(1, args.steps + 1):
        time.sleep(args.sleep)
        if not args.report_nothing:
            reporter.report_hyperparameter_tuning_metric(
                hyperparameter_metric_tag=args.metric_tag,
                metric_value=args.base + step * args.slope,
                global_step=step,
            )
        record["last_step"] = step
    write_record()
    return args.exit_code


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

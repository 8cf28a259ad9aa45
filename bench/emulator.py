"""Emulator: per-trial overhead and 2-parallel speed-up, with the stand-in trainer.

    python -m bench emulator [--trials 6] [--sleep 1.0] [--strict]

Two studies through the real GAPIC client against `running_emulator`, each trial the stand-in
trainer (`tests/fakes/trainer_standin.py`) sleeping, so the trials are I/O bound:

- serial (parallel 1): the gap between one trial's process ending and the next one's starting,
  as the trials themselves saw it, and as the job's trial times say; baseline: the same stand-in
  run directly, once, in this run (its wall time is one trial's unavoidable cost).
- parallel (parallel 2): the study's wall time against the sum of its trial times.

Targets (issue 5): gap < 1 s per trial; parallel wall <= 0.6 x the sum of its trial times.
`--strict` exits 1 when one is missed. Results also go to `bench/results/emulator.json`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STANDIN = ROOT / "tests" / "fakes" / "trainer_standin.py"
PARENT = "projects/bench/locations/local"
GAP_TARGET_S = 1.0
PARALLEL_TARGET = 0.6


def _job(trials: int, parallel: int, sleep: float, records: Path):
    from google.cloud import aiplatform_v1 as v1

    spec = v1.StudySpec.ParameterSpec
    maximize = v1.StudySpec.MetricSpec.GoalType.MAXIMIZE
    return v1.HyperparameterTuningJob(
        display_name=f"bench-parallel-{parallel}",
        max_trial_count=trials,
        parallel_trial_count=parallel,
        study_spec=v1.StudySpec(
            metrics=[v1.StudySpec.MetricSpec(metric_id="accuracy", goal=maximize)],
            parameters=[spec(parameter_id="base", double_value_spec=spec.DoubleValueSpec(max_value=1))],
        ),
        trial_job_spec=v1.CustomJobSpec(
            worker_pool_specs=[
                v1.WorkerPoolSpec(
                    replica_count=1,
                    machine_spec=v1.MachineSpec(machine_type="n1-standard-4"),
                    container_spec=v1.ContainerSpec(
                        image_uri="local", args=[f"--sleep={sleep / 2}", "--steps=2", f"--record={records}"]
                    ),
                )
            ]
        ),
    )


def _run_study(address: str, job) -> tuple[object, float]:
    import grpc
    from google.cloud import aiplatform_v1 as v1
    from google.cloud.aiplatform_v1.services.job_service.transports import JobServiceGrpcTransport

    client = v1.JobServiceClient(transport=JobServiceGrpcTransport(channel=grpc.insecure_channel(address)))
    started = time.monotonic()
    name = client.create_hyperparameter_tuning_job(parent=PARENT, hyperparameter_tuning_job=job).name
    ended = {v1.JobState.JOB_STATE_SUCCEEDED, v1.JobState.JOB_STATE_FAILED, v1.JobState.JOB_STATE_CANCELLED}
    while (job := client.get_hyperparameter_tuning_job(name=name)).state not in ended:
        time.sleep(0.02)
    wall = time.monotonic() - started
    client.transport.close()
    if job.state != v1.JobState.JOB_STATE_SUCCEEDED:
        raise SystemExit(f"bench study {job.display_name} ended {job.state.name}: {job.error.message}")
    return job, wall


def _seconds(stamp) -> float:
    return stamp.timestamp()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--sleep", type=float, default=1.0, help="seconds each trial sleeps (I/O bound)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    from scripts.emulator.embedded import running_emulator

    with tempfile.TemporaryDirectory(prefix="bench-emulator-") as scratch:
        scratch_dir = Path(scratch)
        # Baseline: the stand-in alone, as a trial would run it, without the emulator.
        started = time.monotonic()
        subprocess.run(
            [sys.executable, str(STANDIN), f"--sleep={args.sleep / 2}", "--steps=2"],
            check=True,
            env={"CLOUD_ML_HP_METRIC_FILE": str(scratch_dir / "direct.metrics"), "PATH": ""},
        )
        direct = time.monotonic() - started

        with running_emulator(
            scratch_dir / "state", entrypoint=(sys.executable, str(STANDIN)), max_parallel=2
        ) as address:
            serial_job = _job(args.trials, 1, args.sleep, scratch_dir / "serial")
            serial, serial_wall = _run_study(address, serial_job)
            parallel_job = _job(args.trials, 2, args.sleep, scratch_dir / "parallel")
            parallel, parallel_wall = _run_study(address, parallel_job)

        records = sorted(
            (json.loads(p.read_text()) for p in (scratch_dir / "serial").glob("trial-*.json")),
            key=lambda r: r["started"],
        )
        process_gaps = [b["started"] - a["ended"] for a, b in zip(records, records[1:], strict=False)]
        trials = sorted(serial.trials, key=lambda t: _seconds(t.start_time))
        job_gaps = [
            _seconds(b.start_time) - _seconds(a.end_time) for a, b in zip(trials, trials[1:], strict=False)
        ]
        per_trial_wall = serial_wall / len(serial.trials)
        trial_sum = sum(_seconds(t.end_time) - _seconds(t.start_time) for t in parallel.trials)
        parallel_ratio = parallel_wall / trial_sum

    results = {
        "direct_standin_s": round(direct, 3),
        "serial_wall_s": round(serial_wall, 3),
        "serial_per_trial_s": round(per_trial_wall, 3),
        "per_trial_over_direct": round(per_trial_wall / direct, 3),
        "gap_process_end_to_next_start_s": {
            "median": round(statistics.median(process_gaps), 3),
            "max": round(max(process_gaps), 3),
        },
        "gap_trial_end_to_next_start_s": {
            "median": round(statistics.median(job_gaps), 3),
            "max": round(max(job_gaps), 3),
        },
        "parallel_wall_s": round(parallel_wall, 3),
        "parallel_trial_time_sum_s": round(trial_sum, 3),
        "parallel_wall_over_trial_sum": round(parallel_ratio, 3),
    }
    print(f"stand-in run directly (baseline):          {direct:.2f} s")
    print(
        f"serial study, {args.trials} trials:                   {serial_wall:.2f} s "
        f"({per_trial_wall:.2f} s/trial = {per_trial_wall / direct:.2f} x direct)"
    )
    print(
        f"gap, trial process end -> next start:      median {statistics.median(process_gaps):.3f} s, "
        f"max {max(process_gaps):.3f} s (target < {GAP_TARGET_S} s)"
    )
    print(
        f"gap, trial end_time -> next start_time:    median {statistics.median(job_gaps):.3f} s, "
        f"max {max(job_gaps):.3f} s"
    )
    print(
        f"2-parallel study wall / sum of trial times: {parallel_wall:.2f} / {trial_sum:.2f} s = "
        f"{parallel_ratio:.2f} (target <= {PARALLEL_TARGET})"
    )
    out = ROOT / "bench" / "results" / "emulator.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    missed = max(process_gaps) >= GAP_TARGET_S or parallel_ratio > PARALLEL_TARGET
    if missed:
        print("target missed", file=sys.stderr)
    return 1 if (missed and args.strict) else 0

"""Analysis: what the study's analysis and pictures add to the end of a run, against the summary alone.

    python -m bench analysis [--repeat 5] [--job bench/data/horses-humans-offline-job.json] [--strict]

The end of a waited run writes the run's files (`scripts.results.files.write_summary`). Each
measurement is a fresh process, as at the end of `python -m scripts run`, that has already
imported the Vertex AI client (a run has) and read the stored job (6 trials of the codelab
experiment from `make tune`: offline profile, 3 epochs each), then times one call:

- `summary alone` (the baseline): summary.json and summary.md as before this analysis existed,
  the analysis replaced by nothing;
- `analysis`: `scripts.results.analysis.analyze` alone (Optuna imported and PED-ANOVA run);
- `pictures`: `scripts.results.plots.write_pictures` alone (matplotlib imported, 4 pictures,
  each PNG and SVG);
- `write_summary`: everything a run now writes (summary, analysis, best_params.json, pictures).

The median of `--repeat` processes counts (interleaved, so a change in load touches every mode).
Reported: each median wall time, its ratio to the baseline, the call's CPU time (one thread: what
the wall time is on an idle machine; other work on a shared machine inflates the wall time, not
this), and what the analysis and pictures add (`write_summary` less the baseline) against the
target of issue 25: under 2 s on 2 cores. `--strict` exits 1 when it is missed. Results also go to
`bench/results/analysis.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STORED_JOB = ROOT / "bench" / "data" / "horses-humans-offline-job.json"
TARGET_ADDED_S = 2.0

# Run in a fresh process: read the job, import what a run has imported, then time one call.
_CHILD = """
import json, sys, tempfile, time
from pathlib import Path
from scripts.vertex.jobjson import from_json
from scripts.vertex.backend import Backend
import scripts.results.summary, scripts.results.markdown, scripts.results.files

mode, job_file = sys.argv[1], sys.argv[2]
job = from_json(Path(job_file).read_text())
backend = Backend.emulator_at("127.0.0.1:1", Path(tempfile.mkdtemp())).where(job)
directory = Path(tempfile.mkdtemp()) / "run"
if mode == "summary alone":
    import scripts.results.analysis as analysis
    analysis.analyze = lambda job: {"importance": {}, "best_region": {}, "analysis": None}
    from scripts.results.markdown import render_summary
    from scripts.results.summary import summary
    def call():
        directory.mkdir(parents=True)
        data = summary(job, backend=backend, run_dir=directory)
        (directory / "summary.md").write_text(render_summary(data))
        (directory / "summary.json").write_text(json.dumps(data, indent=2))
elif mode == "analysis":
    from scripts.results.analysis import analyze
    call = lambda: analyze(job)
elif mode == "pictures":
    from scripts.results.plots import write_pictures
    call = lambda: write_pictures(job, directory)
else:
    from scripts.results.files import write_summary
    call = lambda: write_summary(job, directory, backend=backend)
start, cpu = time.perf_counter(), time.process_time()
call()
print(json.dumps([time.perf_counter() - start, time.process_time() - cpu]))
"""

MODES = ("summary alone", "analysis", "pictures", "write_summary")


def _seconds(mode: str, job: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of the call in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(job)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    wall, cpu = json.loads(done.stdout.strip().splitlines()[-1])
    return float(wall), float(cpu)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench analysis", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--job", type=Path, default=STORED_JOB, help="a finished job, as `run --json` prints it"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's checkout and CI keep their bytecode cache

    for mode in MODES:
        _seconds(mode, args.job, env)  # warm the file and bytecode caches (and matplotlib's font cache)
    # Interleaved, so a change in the machine's load touches every mode alike.
    times: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
    for _ in range(args.repeat):
        for mode in MODES:
            times[mode].append(_seconds(mode, args.job, env))
    medians = {mode: statistics.median(wall for wall, _ in values) for mode, values in times.items()}
    cpu = {mode: statistics.median(used for _, used in values) for mode, values in times.items()}
    baseline = medians["summary alone"]
    added = medians["write_summary"] - baseline
    added_cpu = cpu["write_summary"] - cpu["summary alone"]

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"median of {args.repeat} fresh processes each, job {args.job.name} "
        f"({os.cpu_count()} CPUs, load {load:.1f} at the end)"
    )
    # The CPU time is the call's own (one thread): what the wall time would be on an idle machine.
    print(f"{'':16}{'wall':>9}{'x summary alone':>17}{'CPU':>9}")
    for mode, seconds in medians.items():
        print(f"{mode:16}{seconds:8.3f}s{seconds / baseline:16.1f}x{cpu[mode]:8.3f}s")
    verdict = "ok" if added < TARGET_ADDED_S else "MISSED"
    print(
        f"added by the analysis and pictures: {added:.3f} s wall, {added_cpu:.3f} s CPU "
        f"(target < {TARGET_ADDED_S:.0f} s): {verdict}"
    )

    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "analysis.json").write_text(
        json.dumps(
            {
                "job": str(args.job),
                "repeat": args.repeat,
                "cpus": os.cpu_count(),
                "load_average": load,
                "median_s": medians,
                "median_cpu_s": cpu,
                "ratio_to_summary_alone": {mode: seconds / baseline for mode, seconds in medians.items()},
                "added_s": added,
                "added_cpu_s": added_cpu,
                "target_added_s": TARGET_ADDED_S,
                "missed": added >= TARGET_ADDED_S,
            },
            indent=2,
        )
        + "\n"
    )
    return 1 if args.strict and added >= TARGET_ADDED_S else 0

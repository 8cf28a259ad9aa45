"""Experiments: wall time of `validate` and `plan` on the shipped file, against baselines in the same run.

    python -m bench experiments [--repeat 7] [--file experiments.yaml] [--strict]

Each command runs as a fresh process, as CI and a user run it, `--repeat` times; the median
counts. Baselines, measured in the same run: interpreter start-up (`python -c pass`) and a
plain `yaml.safe_load` of the same file. Reported: each median, its ratio to both baselines,
and the absolute time against the targets (issue 3): validate < 0.5 s, plan < 1.5 s. Also
measured: importing the `aiplatform_v1` message types, which `plan` needs to build the job (the
package imports every service client with them); plan's own work is what it takes beyond that.
`--strict` exits 1 when a target is missed. Results also go to `bench/results/experiments.json`.

Python caches compiled bytecode in `__pycache__/` unless PYTHONDONTWRITEBYTECODE is set (this
development machine sets it); the benchmark measures with the cache on, as a user's checkout and
CI run, after one warm-up run; `--no-bytecode-cache` measures compiling every module each time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS_S = {"validate": 0.5, "plan json": 1.5, "plan markdown": 1.5}


def _wall(command: list[str], repeat: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench experiments", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--file", default=str(ROOT / "experiments.yaml"))
    parser.add_argument("--experiment", default="horses-humans")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--no-bytecode-cache", action="store_true", help="compile every module on every run")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if args.no_bytecode_cache:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)

    python = sys.executable
    commands = {
        "python -c pass": [python, "-c", "pass"],
        "yaml.safe_load": [python, "-c", f"import yaml; yaml.safe_load(open({args.file!r}))"],
        "import types": [
            python,
            "-c",
            "import google.cloud.aiplatform_v1.types.hyperparameter_tuning_job",
        ],
        "validate": [python, "-m", "scripts", "validate", "--file", args.file],
        "plan json": [python, "-m", "scripts", "plan", args.experiment, "--file", args.file],
        "plan markdown": [
            python,
            "-m",
            "scripts",
            "plan",
            args.experiment,
            "--file",
            args.file,
            "--format",
            "markdown",
        ],
    }
    for command in commands.values():
        _wall(command, 1, env)  # warm the file cache and the bytecode cache before timing
    medians = {name: _wall(command, args.repeat, env) for name, command in commands.items()}
    startup, load = medians["python -c pass"], medians["yaml.safe_load"]

    cache = "off" if args.no_bytecode_cache else "on"
    print(f"median of {args.repeat} runs, each a fresh process ({args.file}; bytecode cache {cache})")
    print(f"{'':16}{'wall':>9}{'x start-up':>12}{'x yaml load':>13}{'target':>9}  result")
    missed = []
    for name, wall in medians.items():
        target = TARGETS_S.get(name)
        verdict = "" if target is None else ("ok" if wall < target else "MISSED")
        if verdict == "MISSED":
            missed.append(name)
        shown = f"< {target:.1f} s" if target else ""
        print(f"{name:16}{wall:8.3f}s{wall / startup:11.2f}x{wall / load:12.2f}x{shown:>9}  {verdict}")

    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "experiments.json").write_text(
        json.dumps(
            {
                "repeat": args.repeat,
                "bytecode_cache": not args.no_bytecode_cache,
                "median_s": medians,
                "ratio_to_startup": {name: wall / startup for name, wall in medians.items()},
                "ratio_to_yaml_load": {name: wall / load for name, wall in medians.items()},
                "targets_s": TARGETS_S,
                "missed": missed,
            },
            indent=2,
        )
        + "\n"
    )
    return 1 if args.strict and missed else 0

"""The walk of `run`: the calls a real `python -m scripts run horses-humans --backend local
--profile offline` makes from one product file into another, traced in its process.

Measured by running the command (`scripts.cli.main`) in a child process under `sys.setprofile`:
every call into a function of `scripts/` or `trainer/` is attributed to the nearest product
function below it on the stack (a library in between, such as argparse calling a `type=`
function, is looked through). What is counted:

- **files entered**: the product files one of whose functions is called (the command's own
  module included), in the order first entered;
- **stops**: the distinct call edges (function → function) from one product file into another,
  each counted once however often a loop repeats it;
- **climbs**: the stops whose callee lies in a layer above the caller's (`LAYERS`), such as
  `results` calling into `vertex`.

Only the command's own thread is traced (`sys.setprofile` is per thread): the emulator's server
and scheduler threads, and the trials (subprocesses), are not the walk. Imports are not calls:
module bodies, and calls made from a module body while it is imported, are left out. The
trials run `tests/fakes/trainer_standin.py` instead of `python -m trainer.task` (a trial's own
code is outside the walk, and TensorFlow trials take a minute and a half on 2 cores); the
command's process runs as it does for `make tune`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STANDIN = ROOT / "tests" / "fakes" / "trainer_standin.py"
COMMAND = ["run", "horses-humans", "--backend", "local", "--profile", "offline"]

# The layer order, top first (docs/architecture.md, "The packages depend downwards only"); a call
# from a file into one of a layer above it is a climb, a call within one layer is not. A file
# belongs to the layer of the longest path prefix it starts with: the emulator's server sits high
# (a command starts it; it uses the rule book and the registry's names), what it promises its
# clients (`emulator/contract.py`) at the bottom, beside `paths` and `errors`.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("scripts/__main__.py", "scripts/cli.py"),
    ("scripts/commands/",),
    ("scripts/wiring.py",),
    ("scripts/github/", "scripts/doctor/"),
    ("scripts/emulator/",),
    ("scripts/submission.py",),
    ("scripts/registry/",),
    ("scripts/vertex/",),
    ("scripts/results/",),
    ("scripts/experiments/",),
    ("scripts/pricing/", "scripts/images.py", "scripts/cloudbuild/"),
    ("scripts/jobs/", "scripts/git.py"),
    ("scripts/errors.py", "scripts/paths.py", "scripts/escaping.py", "scripts/__init__.py"),
    ("scripts/emulator/contract.py",),
    ("trainer/",),
)


def layer(path: str) -> int:
    """The rank of `path`'s layer in `LAYERS` (0: the top)."""
    matching = [
        (len(prefix), rank)
        for rank, prefixes in enumerate(LAYERS)
        for prefix in prefixes
        if path.startswith(prefix)
    ]
    if not matching:
        raise ValueError(f"{path}: in no layer of bench/_walk.py LAYERS; add it")
    return max(matching)[1]


def measure() -> dict[str, object]:
    """Run the command in a child process and count its walk."""
    with tempfile.TemporaryDirectory() as scratch:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("HPT_", "VERTEX_AI_"))}
        env["HPT_STATE_DIR"] = str(Path(scratch) / "state")
        out = Path(scratch) / "edges.json"
        child = subprocess.run(
            [sys.executable, "-m", "bench._walk", str(out)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if child.returncode != 0:
            raise RuntimeError(f"the traced run failed ({child.returncode}):\n{child.stderr[-3000:]}")
        logs = (Path(scratch) / "state" / "jobs").glob("*/trials/*/trial.log")
        if not any("stand-in trial" in log.read_text(errors="replace") for log in logs):
            raise RuntimeError("the trials did not run the stand-in trainer: see how _trace sets it")
        edges = [tuple(edge) for edge in json.loads(out.read_text())]
    return summarize(edges)


def summarize(edges: list[tuple[str, str, str, str]]) -> dict[str, object]:
    """`edges`: (caller file, caller function, callee file, callee function), first-seen order."""
    files: list[str] = []
    stops, climbs = [], []
    for caller_file, caller, callee_file, callee in edges:
        files += [path for path in dict.fromkeys((caller_file, callee_file)) if path not in files]
        if caller_file == callee_file:
            continue
        stop = f"{caller_file}:{caller} -> {callee_file}:{callee}"
        stops.append(stop)
        if layer(callee_file) < layer(caller_file):
            climbs.append(stop)
    per_package: dict[str, int] = {}
    for path in files:
        package = path.rsplit("/", 1)[0] if path.count("/") > 1 else path
        per_package[package] = per_package.get(package, 0) + 1
    return {
        "walk_files_entered": len(files),
        "walk_stops": len(stops),
        "walk_climbs": len(climbs),
        "walk_climbs_from_results_into_vertex": sum(
            stop.startswith("scripts/results/") and " -> scripts/vertex/" in stop for stop in climbs
        ),
        "walk_files_per_package": per_package,
        "walk_files": files,
        "walk_climb_list": climbs,
        "walk_stop_list": stops,
    }


def _function(frame) -> str:
    """The function a frame runs, as a reader names it: a lambda, comprehension or nested function
    counts as the function it is written in (`check_settings`, not `check_settings.<locals>.<lambda>`)."""
    return frame.f_code.co_qualname.split(".<locals>.")[0]


def _trace(out: Path) -> int:
    """The child: run the command under a profiler and write its product call edges to `out`."""
    prefixes = tuple(str(ROOT / package) + os.sep for package in ("scripts", "trainer"))
    edges: dict[tuple[str, str, str, str], None] = {}

    def product(frame) -> str | None:
        filename = frame.f_code.co_filename
        return filename[len(str(ROOT)) + 1 :] if filename.startswith(prefixes) else None

    def profile(frame, event, _arg) -> None:
        if event != "call" or frame.f_code.co_name == "<module>":
            return
        callee = product(frame)
        if callee is None:
            return
        caller = frame.f_back
        while caller is not None and product(caller) is None:
            caller = caller.f_back
        if caller is None or caller.f_code.co_name == "<module>":
            return  # the entry point itself, or a call made while a module is imported
        edge = (product(caller), _function(caller), callee, _function(frame))
        edges.setdefault(edge, None)

    import scripts.emulator.trials as trials
    from scripts import cli

    # The trials' program (outside the walk): the stand-in, not TensorFlow.
    trials.DEFAULT_ENTRYPOINT = (sys.executable, str(STANDIN))
    sys.setprofile(profile)
    try:
        status = cli.main(COMMAND)
    finally:
        sys.setprofile(None)
    out.write_text(json.dumps(list(edges)))
    return status


if __name__ == "__main__":
    raise SystemExit(_trace(Path(sys.argv[1])))

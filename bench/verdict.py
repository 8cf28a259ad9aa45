"""Verdict: how often each comparison method says better/worse on pairs of local studies.

    python -m bench verdict [--pairs 10] [--scenarios same,fewer-epochs] [--from FILE] [--out FILE]

Runs pairs of studies of the shipped `horses-humans` experiment on the offline profile, each
through the real CLI (`python -m scripts run horses-humans --backend local --profile offline
--seed S --json`, its own `HPT_STATE_DIR`), then asks every method of `scripts.results.compare`
for a verdict on each pair (the first study is JOB, the second BASELINE):

- `same`: both sides are the same trainer, only the optimizer's seed differs. The right
  verdict is `no clear difference`; each `better`/`worse` is a false alarm.
- `fewer-epochs`: JOB's trainer trains a third of the offline profile's epochs (1 instead of 3),
  meant to cost accuracy. The right verdict is `worse` (where the best did drop).
- `low-learning-rate`: JOB searches learning rates 100 times smaller (1e-5 to 0.01), meant to
  cost accuracy in 3 epochs of SGD. The right verdict is `worse`.

A last column runs nothing: every split of 12 distinct values into 6 + 6 (equally likely when
both sides are one trainer and values never tie, as on the real images), scored by each method:
its exact false-alarm rate where the offline profile's saturated accuracies (many trials at 1.0)
hide false alarms. docs/compare.md holds the table and the choice made from it.

Issue 24's targets: `same` gets better/worse in at most 1 of 20 pairs; a truly worse change gets
`worse` in at least 19 of 20. Pair i of `same` is studies (seed 2i-1, seed 2i); pair i of a worse
scenario is (its study at seed 1000+i, the unchanged study at seed 2i-1), so `--pairs N` runs 2N
unchanged studies and N per worse scenario (25 to 110 s each on 2 shared cores). Every pairing of
the studies run (not only the disjoint pairs) is scored too, as a second, correlated estimate.

Studies are saved to the results file as they finish (`bench/results/verdict.json`); a later
run reuses the studies it finds there, so `--pairs 20` after `--pairs 10` runs only the new
ones, and `--from FILE` re-scores stored studies without running anything (the studies behind
docs/compare.md: `--from bench/data/verdict-offline-studies.json --pairs 10
--scenarios same,fewer-epochs,low-learning-rate`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENT = "horses-humans"
PROFILE = "offline"
DEFAULT_OUT = ROOT / "bench" / "results" / "verdict.json"
SCENARIOS = ("same", "fewer-epochs", "low-learning-rate")
# What each scenario's right verdict is.
EXPECTED = {"same": "no clear difference", "fewer-epochs": "worse", "low-learning-rate": "worse"}
TARGETS = {"false_alarms_max_per_20": 1, "worse_min_per_20": 19}
WORSE_SEED_BASE = 1000


def _profile_args() -> list[str]:
    """The offline profile's trainer args, from experiments.yaml."""
    from scripts.experiments.loader import load
    from scripts.paths import EXPERIMENTS_FILE

    return list(load(EXPERIMENTS_FILE, os.environ).profiles[PROFILE].trainer_args)


def _yaml_list(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def scenario_overrides(scenario: str) -> list[str]:
    """The `--set` values that make a scenario's changed side (none for the unchanged trainer)."""
    if scenario == "fewer-epochs":
        args = _profile_args()
        epochs = [arg for arg in args if arg.startswith("--epochs=")]
        if not epochs:
            raise SystemExit(f"the {PROFILE} profile sets no --epochs=N: nothing to take a third of")
        third = max(1, int(epochs[-1].split("=", 1)[1]) // 3)
        args = [arg for arg in args if not arg.startswith("--epochs=")] + [f"--epochs={third}"]
        # `--set trainer=...` replaces the args the profile appended, so they are all given again.
        return [f"trainer={{args: {_yaml_list(args)}}}"]
    if scenario == "low-learning-rate":
        return ["parameters.learning_rate={type: double, min: 0.00001, max: 0.01, scale: log}"]
    return []


def run_study(scenario: str, seed: int, scratch: Path) -> dict:
    """One study through the CLI; its trials' values and outcomes, best, cost and wall time."""
    from scripts.results.trials import best_trial, final_value, objective, outcome
    from scripts.results.usage import usage
    from scripts.vertex.jobjson import from_json

    changed = scenario != "same"
    state_dir = scratch / f"{scenario}-{seed}"
    command = [sys.executable, "-m", "scripts", "run", EXPERIMENT, "--backend", "local"]
    command += ["--profile", PROFILE, "--seed", str(seed), "--json"]
    command += ["--commit", f"bench-{scenario if changed else 'base'}"]
    for override in scenario_overrides(scenario):
        command += ["--set", override]
    env = {k: v for k, v in os.environ.items() if k not in {"VERTEX_AI_EMULATOR_HOST", "GITHUB_SHA"}}
    env["HPT_STATE_DIR"] = str(state_dir)
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"study {scenario} seed {seed} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    job = from_json(done.stdout)
    goal = objective(job)
    best = best_trial(job)
    trials = [
        {
            "id": trial.id,
            "outcome": str(outcome(trial, goal.metric_id)),
            "value": final_value(trial, goal.metric_id) if trial.state.name == "SUCCEEDED" else None,
        }
        for trial in job.trials
    ]
    used = usage(job, backend="local")
    return {
        "scenario": scenario,
        "seed": seed,
        "state": job.state.name,
        "maximize": goal.maximize,
        "best": None if best is None else final_value(best, goal.metric_id),
        "trials": trials,
        "accelerator_hours": used["accelerator_hours"],
        "cost": used["cost"],
        "wall_s": round(wall, 1),
    }


def plan_studies(pairs: int, scenarios: list[str]) -> list[tuple[str, int]]:
    """(scenario, seed) of every study the pairs need, in an order where each pair completes early."""
    needed: list[tuple[str, int]] = []
    for i in range(1, pairs + 1):
        needed += [("same", 2 * i - 1), ("same", 2 * i)]
        needed += [(scenario, WORSE_SEED_BASE + i) for scenario in scenarios if scenario != "same"]
    return needed


def pairs_of(studies: dict[str, dict], scenario: str, pairs: int) -> list[tuple[dict, dict]]:
    """The disjoint (JOB, BASELINE) pairs of a scenario among the stored studies."""
    found = []
    for i in range(1, pairs + 1):
        baseline = studies.get(f"same:{2 * i - 1}")
        job = studies.get(f"same:{2 * i}") if scenario == "same" else studies.get(f"{scenario}:{1000 + i}")
        if job and baseline:
            found.append((job, baseline))
    return found


def all_pairings(studies: dict[str, dict], scenario: str) -> list[tuple[dict, dict]]:
    """Every (JOB, BASELINE) pairing of the stored studies: unordered pairs of unchanged studies
    for `same`, every changed study against every unchanged one otherwise."""
    unchanged = [study for key, study in sorted(studies.items()) if key.startswith("same:")]
    if scenario == "same":
        return list(itertools.combinations(unchanged, 2))
    changed = [study for key, study in sorted(studies.items()) if key.startswith(f"{scenario}:")]
    return [(job, baseline) for job in changed for baseline in unchanged]


def _values(study: dict) -> list[float]:
    return [trial["value"] for trial in study["trials"] if trial["value"] is not None]


def _dropped(pairs: list[tuple[dict, dict]]) -> list[tuple[dict, dict]]:
    """The pairs whose JOB's best is below BASELINE's (by the goal)."""

    def lower(job: dict, baseline: dict) -> bool:
        if job["best"] is None or baseline["best"] is None:
            return False
        return job["best"] < baseline["best"] if job["maximize"] else job["best"] > baseline["best"]

    return [(job, baseline) for job, baseline in pairs if lower(job, baseline)]


def score(pairs: list[tuple[dict, dict]]) -> dict[str, dict[str, int]]:
    """Per method, how many pairs got each verdict."""
    from scripts.results.compare import METHODS, judge

    counts: dict[str, dict[str, int]] = {}
    for method in METHODS:
        tally = {"better": 0, "worse": 0, "no clear difference": 0}
        for job, baseline in pairs:
            verdict = judge(_values(job), _values(baseline), maximize=job["maximize"], method=method).verdict
            tally[verdict] = tally.get(verdict, 0) + 1
        counts[method] = tally
    return counts


def null_splits(trials: int = 6) -> dict[str, dict[str, int]]:
    """Per method, the verdicts over every split of 2 x `trials` distinct values into two sides of
    `trials`: when both sides are one trainer and values never tie (as on the real images), each
    split is equally likely, so the share of better/worse is the method's exact false-alarm rate."""
    from scripts.results.compare import METHODS, judge

    values = [float(v) for v in range(1, 2 * trials + 1)]
    counts: dict[str, dict[str, int]] = {}
    for method in METHODS:
        tally = {"better": 0, "worse": 0, "no clear difference": 0}
        for chosen in itertools.combinations(range(2 * trials), trials):
            job = [values[i] for i in chosen]
            baseline = [values[i] for i in range(2 * trials) if i not in chosen]
            tally[judge(job, baseline, maximize=True, method=method).verdict] += 1
        counts[method] = tally
    return counts


def format_table(results: dict) -> str:
    """Method x scenario: the disjoint pairs' verdicts (better/worse of n), then all pairings'."""
    scenarios = list(results["disjoint"])
    head = "| method | " + " | ".join(
        f"{scenario} ({'false alarms' if scenario == 'same' else 'said worse'})" for scenario in scenarios
    )
    null = results.get("null_splits")
    if null:
        head += " | same, no ties: every split of 6 + 6 (false alarms)"
    lines = [head + " |", "|---|" + "---|" * (len(scenarios) + bool(null))]
    for method in results["disjoint"][scenarios[0]]:
        cells = []
        for scenario in scenarios:
            disjoint = results["disjoint"][scenario][method]
            everyone = results["all_pairings"][scenario][method]
            n, m = sum(disjoint.values()), sum(everyone.values())
            if scenario == "same":
                hit, hits = disjoint["better"] + disjoint["worse"], everyone["better"] + everyone["worse"]
            else:
                hit, hits = disjoint["worse"], everyone["worse"]
            cells.append(f"{hit} of {n} ({hits} of {m} pairings)")
        if null:
            alarms, splits = null[method]["better"] + null[method]["worse"], sum(null[method].values())
            cells.append(f"{alarms} of {splits} ({alarms / splits:.1%})")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    dropped = results.get("best_dropped") or {}
    if dropped:
        lines += [
            "",
            "| method | " + " | ".join(f"{s}: said worse where the best dropped" for s in dropped) + " |",
        ]
        lines.append("|---|" + "---|" * len(dropped))
        for method in results["disjoint"][scenarios[0]]:
            cells = []
            for counts in dropped.values():
                disjoint, everyone = counts["disjoint"][method], counts["all_pairings"][method]
                n, m = sum(disjoint.values()), sum(everyone.values())
                cells.append(f"{disjoint['worse']} of {n} ({everyone['worse']} of {m} pairings)")
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _load(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    return json.loads(path.read_text()).get("studies", {})


def _save(path: Path, studies: dict[str, dict], extra: dict | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"experiment": EXPERIMENT, "profile": PROFILE, "studies": studies, **(extra or {})}
    path.write_text(json.dumps(data, indent=2) + "\n")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench verdict", description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10, help="disjoint pairs per scenario (default 10)")
    parser.add_argument(
        "--scenarios",
        default="same,fewer-epochs",
        help=f"comma-separated, of {', '.join(SCENARIOS)} (default same,fewer-epochs)",
    )
    parser.add_argument("--from", dest="source", type=Path, help="score the studies in this file; run none")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"results file (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    scenarios = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s) {sorted(unknown)}; known: {', '.join(SCENARIOS)}")
    if "same" not in scenarios:
        scenarios.insert(0, "same")  # every pair's baseline is an unchanged study

    if args.source:
        studies = _load(args.source)
    else:
        studies = _load(args.out)
        needed = [key for key in plan_studies(args.pairs, scenarios) if f"{key[0]}:{key[1]}" not in studies]
        print(f"{len(needed)} studies to run ({len(studies)} stored)", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-verdict-") as scratch:
            for scenario, seed in needed:
                study = run_study(scenario, seed, Path(scratch))
                studies[f"{scenario}:{seed}"] = study
                _save(args.out, studies)
                values = ", ".join(f"{value:.3f}" for value in _values(study))
                print(
                    f"{scenario} seed {seed}: best {study['best']}, values {values}; {study['wall_s']:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )

    results = {
        "targets": TARGETS,
        "expected": {scenario: EXPECTED[scenario] for scenario in scenarios},
        "disjoint": {s: score(pairs_of(studies, s, args.pairs)) for s in scenarios},
        "all_pairings": {s: score(all_pairings(studies, s)) for s in scenarios},
        "null_splits": null_splits(),
        # The right answer about the best achievable is `worse` only where the best did drop.
        "best_dropped": {
            s: {
                "disjoint": score(_dropped(pairs_of(studies, s, args.pairs))),
                "all_pairings": score(_dropped(all_pairings(studies, s))),
            }
            for s in scenarios
            if s != "same"
        },
    }
    print(format_table(results))
    if not args.source:
        _save(args.out, studies, results)
    return 0

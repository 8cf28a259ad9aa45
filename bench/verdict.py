"""Verdict: how often each comparison method says better/worse on pairs of local studies.

    python -m bench verdict [--pairs 20] [--scenarios same,fewer-epochs] [--data offline|stripes]
                            [--from FILE] [--out FILE]

Runs pairs of studies of the shipped `horses-humans` experiment on the offline profile, each
through the real CLI (`python -m scripts run horses-humans --backend local --profile offline
--seed S --json`, its own `HPT_STATE_DIR`), then asks every method of `scripts.results.compare`
for a verdict on each pair (the first study is JOB, the second BASELINE):

- `same`: both sides are the same trainer, only the optimizer's seed differs. The right
  verdict is `no clear difference`; each `better`/`worse` is a false alarm.
- `fewer-epochs`: JOB's trainer trains a third of the profile's epochs, meant to cost accuracy.
  The right verdict is `worse`.
- `low-learning-rate`: JOB searches learning rates 100 times smaller (1e-5 to 0.01), meant to
  cost accuracy in 3 epochs of SGD. The right verdict is `worse`.

Confirmation trials: after each study, its best trial's configuration is trained again with each
trainer seed of CONFIRMATION_SEEDS (the study's own trials all train with the trainer's default
seed, 1), by `bench/_seed_runs.py`: what a confirmation job's trials report. CONFIRMATION_METHODS
are scored on the first k of them, k = 3 .. 6, as a second table.

`--data stripes`: instead of the offline profile's images (colour squares, learned in two SGD
steps, so that every study saturates at 1.0), bench/_stripes.py's striped patches, learned over
epochs: 9 epochs, a third of them 3. Its results go to their own `--out` file.

A column runs nothing: every split of 2k distinct values into k + k (equally likely when both
sides are one trainer and values never tie), scored by each method: its exact false-alarm rate.
The paired confirmation test's table has its own: every assignment of signs to 2k distinct
differences (equally likely when one trainer's training is not bit-reproducible, as on GPUs).
docs/compare.md holds the tables and the choice made from them.

Issue 24's targets: `same` gets better/worse in at most 1 of 20 pairs; a truly worse change gets
`worse` in at least 19 of 20. Study i of a changed scenario is paired with unchanged study i (JOB
seed 1000+i, BASELINE seed i); `same` pairs unchanged studies 2i and 2i - 1. So `--pairs N` runs N
unchanged studies and N per changed scenario: N changed pairs and N / 2 `same` pairs (about 100 s
a study with its confirmations on 2 shared cores); `--pairs 2N --scenarios same` then runs only
the unchanged studies N + 1 .. 2N, for N `same` pairs, and a `--from` score with `--pairs 2N` finds
the N changed pairs stored. Every pairing of the studies run (not only the disjoint pairs) is
scored too, as a second, correlated estimate.

Studies are saved to the results file as they finish (`bench/results/verdict.json`); a later
run reuses the studies it finds there, so `--pairs 20` after `--pairs 10` runs only the new
ones, and `--from FILE` re-scores stored studies without running anything (the studies behind
docs/compare.md are in bench/data/).
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
from collections.abc import Callable, Sequence
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
# Trainer seeds of the confirmation trials: the best configuration of each study trained again
# with each (the study's own trials all use the trainer's default seed, 1).
CONFIRMATION_SEEDS = (2, 3, 4, 5, 6, 7)
# The methods scored on confirmation trials (all of them at one configuration, so no bad region of
# the search space blurs a rank test there).
CONFIRMATION_METHODS = ("rank-all", "precedence")


# `--data stripes`: the trainer's static flags for bench/_stripes.py's image folder, in place of
# the offline profile's (set by main; empty: the profile's own).
_DATA_ARGS: list[str] = []
STRIPES_EPOCHS = 9


def stripes_args(root: Path) -> list[str]:
    return [
        f"--data=dir:{root}",
        "--image_size=32",
        f"--epochs={STRIPES_EPOCHS}",
        "--input_scaling=per_image",
    ]


def _profile_args() -> list[str]:
    """The offline profile's trainer args, from experiments.yaml (or `--data`'s)."""
    if _DATA_ARGS:
        return list(_DATA_ARGS)
    from scripts.experiments.loader import load
    from scripts.paths import EXPERIMENTS_FILE

    return list(load(EXPERIMENTS_FILE, os.environ).profiles[PROFILE].trainer_args)


def _yaml_list(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


def scenario_trainer_args(scenario: str) -> list[str]:
    """The trainer's static flags on a scenario's side: the offline profile's, with a third of its
    epochs for `fewer-epochs`."""
    args = _profile_args()
    if scenario != "fewer-epochs":
        return args
    epochs = [arg for arg in args if arg.startswith("--epochs=")]
    if not epochs:
        raise SystemExit(f"the {PROFILE} profile sets no --epochs=N: nothing to take a third of")
    third = max(1, int(epochs[-1].split("=", 1)[1]) // 3)
    return [arg for arg in args if not arg.startswith("--epochs=")] + [f"--epochs={third}"]


def scenario_overrides(scenario: str) -> list[str]:
    """The `--set` values that make a scenario's changed side (none for the unchanged trainer)."""
    if scenario == "fewer-epochs" or _DATA_ARGS:
        # `--set trainer=...` replaces the args the profile appended, so they are all given again.
        return [f"trainer={{args: {_yaml_list(scenario_trainer_args(scenario))}}}"]
    if scenario == "low-learning-rate":
        return ["parameters.learning_rate={type: double, min: 0.00001, max: 0.01, scale: log}"]
    return []


def run_confirmations(scenario: str, best_flags: list[str], seeds: tuple[int, ...]) -> list[float | None]:
    """The best trial's configuration trained again with each trainer seed of `seeds` (the study's
    trials all train with the trainer's default seed, 1): what a confirmation job's trials report."""
    if not best_flags:
        return []
    command = [sys.executable, "-m", "bench._seed_runs", "--seeds", ",".join(map(str, seeds)), "--"]
    command += scenario_trainer_args(scenario) + best_flags
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"confirmations of {best_flags} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_study(scenario: str, seed: int, scratch: Path) -> dict:
    """One study through the CLI; its trials' values and outcomes, best, cost and wall time."""
    from scripts.jobs.trial_flags import trial_flags
    from scripts.results.summary import usage
    from scripts.results.trials import best_trial, final_value, objective, outcome
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
    # The best trial's parameters as its trainer flags, formatted as the emulator passes them.
    best_flags = [] if best is None else trial_flags(best, job.study_spec)
    started = time.monotonic()
    confirmations = run_confirmations(scenario, best_flags, CONFIRMATION_SEEDS)
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
        "best_flags": best_flags,
        "confirmation_seeds": list(CONFIRMATION_SEEDS),
        "confirmations": confirmations,
        "confirmation_wall_s": round(time.monotonic() - started, 1),
    }


def plan_studies(pairs: int, scenarios: list[str]) -> list[tuple[str, int]]:
    """(scenario, seed) of every study the pairs need, in an order where each pair completes early:
    unchanged study i, then study i of each changed scenario (its baseline)."""
    needed: list[tuple[str, int]] = []
    for i in range(1, pairs + 1):
        needed.append(("same", i))
        needed += [(scenario, WORSE_SEED_BASE + i) for scenario in scenarios if scenario != "same"]
    return needed


def pairs_of(studies: dict[str, dict], scenario: str, pairs: int) -> list[tuple[dict, dict]]:
    """The disjoint (JOB, BASELINE) pairs of a scenario among the stored studies: for `same`,
    unchanged studies 2i and 2i - 1 (so N unchanged studies make N / 2 pairs); for a changed
    scenario, its study i against unchanged study i."""
    found = []
    for i in range(1, pairs + 1):
        if scenario == "same":
            job, baseline = studies.get(f"same:{2 * i}"), studies.get(f"same:{2 * i - 1}")
        else:
            job, baseline = studies.get(f"{scenario}:{WORSE_SEED_BASE + i}"), studies.get(f"same:{i}")
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


def _confirmed(seeds: int) -> Callable[[dict], list[float]]:
    """A study's values from its first `seeds` confirmation trials (those that ended with a value)."""

    def values(study: dict) -> list[float]:
        return [value for value in study.get("confirmations", [])[:seeds] if value is not None]

    return values


def score(
    pairs: list[tuple[dict, dict]],
    methods: Sequence[str] | None = None,
    values: Callable[[dict], list[float]] = _values,
) -> dict[str, dict[str, int]]:
    """Per method (default: every method of compare.METHODS), how many pairs got each verdict,
    judged on `values` of each side (default: its study's completed trials)."""
    from scripts.results.compare import METHODS, judge

    counts: dict[str, dict[str, int]] = {}
    for method in methods or METHODS:
        tally = {"better": 0, "worse": 0, "no clear difference": 0}
        for job, baseline in pairs:
            verdict = judge(values(job), values(baseline), maximize=job["maximize"], method=method).verdict
            tally[verdict] = tally.get(verdict, 0) + 1
        counts[method] = tally
    return counts


def confirmation_scores(studies: dict[str, dict], scenarios: list[str], pairs: int) -> dict[str, dict]:
    """Per number of confirmation seeds k (the first k of CONFIRMATION_SEEDS), the verdicts of
    CONFIRMATION_METHODS on each side's k confirmation trials, and their exact false-alarm rate over
    every split of 2k untied values."""
    confirmed = {key: study for key, study in studies.items() if "confirmations" in study}
    scores = {}
    for seeds in range(3, len(CONFIRMATION_SEEDS) + 1):
        values = _confirmed(seeds)
        scores[str(seeds)] = {
            "disjoint": {
                s: score(pairs_of(confirmed, s, pairs), CONFIRMATION_METHODS, values) for s in scenarios
            },
            "all_pairings": {
                s: score(all_pairings(confirmed, s), CONFIRMATION_METHODS, values) for s in scenarios
            },
            "null_splits": null_splits(seeds, CONFIRMATION_METHODS),
        }
    return scores


def format_confirmation_table(scores: dict[str, dict]) -> str:
    """(method, k seeds) x scenario, as format_table's columns."""
    first = next(iter(scores.values()))
    scenarios = list(first["disjoint"])
    head = "| method on the confirmation trials | seeds per side | " + " | ".join(
        f"{scenario} ({'false alarms' if scenario == 'same' else 'said worse'})" for scenario in scenarios
    )
    lines = [
        head + " | same, no ties: every split (false alarms) |",
        "|---|---|" + "---|" * (len(scenarios) + 1),
    ]
    for method in CONFIRMATION_METHODS:
        for seeds, counts in scores.items():
            cells = []
            for scenario in scenarios:
                disjoint, everyone = (
                    counts["disjoint"][scenario][method],
                    counts["all_pairings"][scenario][method],
                )
                n, m = sum(disjoint.values()), sum(everyone.values())
                wrong = ("better", "worse") if scenario == "same" else ("worse",)
                hit, hits = sum(disjoint[v] for v in wrong), sum(everyone[v] for v in wrong)
                cells.append(f"{hit} of {n} ({hits} of {m} pairings)")
            null = counts["null_splits"][method]
            alarms, splits = null["better"] + null["worse"], sum(null.values())
            cells.append(f"{alarms} of {splits} ({alarms / splits:.1%})")
            lines.append(f"| {method} | {seeds} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cross_path(out: Path) -> Path:
    """Where the cross runs of a results file are kept (apart, so a running bench never overwrites them)."""
    return out.with_name(out.stem + "-cross.json")


def _pair_key(scenario: str, job: dict, baseline: dict) -> str:
    return f"{scenario}:{job['seed']}:{baseline['seed']}"


def run_cross(studies: dict[str, dict], scenarios: list[str], pairs: int, path: Path) -> dict[str, dict]:
    """For each disjoint pair, each side's best configuration trained again by the other side's
    trainer with the same seeds (CONFIRMATION_SEEDS): with each side's own confirmations, the same
    (configuration, seed) trained by both trainers. Saved to `path` as they finish."""
    cross = json.loads(path.read_text()) if path.exists() else {}
    for scenario in sorted(scenarios, key=lambda name: name == "same"):  # the changed pairs first
        for job, baseline in pairs_of(studies, scenario, pairs):
            key = _pair_key(scenario, job, baseline)
            if key in cross or "confirmations" not in job or "confirmations" not in baseline:
                continue
            started = time.monotonic()
            cross[key] = {
                "job_config_on_baseline_trainer": run_confirmations(
                    baseline["scenario"], job["best_flags"], CONFIRMATION_SEEDS
                ),
                "baseline_config_on_job_trainer": run_confirmations(
                    job["scenario"], baseline["best_flags"], CONFIRMATION_SEEDS
                ),
            }
            path.write_text(json.dumps(cross, indent=2) + "\n")
            print(
                f"cross {key}: {cross[key]}; {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True
            )
    return cross


def paired_values(job: dict, baseline: dict, runs: dict, seeds: int) -> tuple[list, list]:
    """The first `seeds` seeds at both configurations: (JOB's trainer's values, BASELINE's), aligned."""
    mine = job["confirmations"][:seeds] + runs["baseline_config_on_job_trainer"][:seeds]
    theirs = runs["job_config_on_baseline_trainer"][:seeds] + baseline["confirmations"][:seeds]
    return mine, theirs


def paired_scores(studies: dict[str, dict], scenarios: list[str], pairs: int, cross: dict) -> dict[str, dict]:
    """Per number of seeds k, the paired-confirmation verdicts of the disjoint pairs with cross runs."""
    from scripts.results.compare import paired_confirmation

    scores: dict[str, dict] = {}
    for seeds in range(3, len(CONFIRMATION_SEEDS) + 1):
        per_scenario = {}
        for scenario in scenarios:
            tally = {"better": 0, "worse": 0, "no clear difference": 0}
            for job, baseline in pairs_of(studies, scenario, pairs):
                runs = cross.get(_pair_key(scenario, job, baseline))
                if runs:
                    mine, theirs = paired_values(job, baseline, runs, seeds)
                    tally[paired_confirmation(mine, theirs, maximize=job["maximize"]).verdict] += 1
            per_scenario[scenario] = tally
        scores[str(seeds)] = per_scenario
    return scores


def paired_sign_flips(differences: int) -> dict[str, int]:
    """The paired test's verdicts over every assignment of signs to `differences` distinct nonzero
    paired differences. When both sides are one trainer but training is not bit-reproducible (GPU
    kernels), each pair's difference is symmetric around 0, so every assignment is equally likely
    and the share of better/worse is the test's exact false-alarm rate (on a CPU the pairs tie)."""
    from scripts.results.compare import paired_confirmation

    sizes = [float(size) for size in range(1, differences + 1)]
    tally = {"better": 0, "worse": 0, "no clear difference": 0}
    for signs in itertools.product((1, -1), repeat=differences):
        job = [sign * size for sign, size in zip(signs, sizes, strict=True)]
        tally[paired_confirmation(job, [0.0] * differences, maximize=True).verdict] += 1
    return tally


def format_paired_table(scores: dict[str, dict], sign_flips: dict[str, dict] | None = None) -> str:
    """(k seeds) x scenario, and with `sign_flips` (per k, paired_sign_flips of 2k) its exact column."""
    scenarios = list(next(iter(scores.values())))
    head = "| paired confirmation: seeds per side and configuration | trials per comparison | " + " | ".join(
        f"{scenario} ({'false alarms' if scenario == 'same' else 'said worse'})" for scenario in scenarios
    )
    if sign_flips:
        head += " | same, not bit-reproducible: every sign of 2k differences (false alarms)"
    lines = [head + " |", "|---|---|" + "---|" * (len(scenarios) + bool(sign_flips))]
    for seeds, counts in scores.items():
        cells = []
        for scenario in scenarios:
            tally = counts[scenario]
            hit = tally["better"] + tally["worse"] if scenario == "same" else tally["worse"]
            cells.append(f"{hit} of {sum(tally.values())}")
        if sign_flips:
            flips = sign_flips[seeds]
            alarms, signs = flips["better"] + flips["worse"], sum(flips.values())
            cells.append(f"{alarms} of {signs} ({alarms / signs:.1%})")
        lines.append(f"| {seeds} | {4 * int(seeds)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def null_splits(trials: int = 6, methods: Sequence[str] | None = None) -> dict[str, dict[str, int]]:
    """Per method, the verdicts over every split of 2 x `trials` distinct values into two sides of
    `trials`: when both sides are one trainer and values never tie (as on the real images), each
    split is equally likely, so the share of better/worse is the method's exact false-alarm rate."""
    from scripts.results.compare import METHODS, judge

    values = [float(v) for v in range(1, 2 * trials + 1)]
    counts: dict[str, dict[str, int]] = {}
    for method in methods or METHODS:
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
    parser.add_argument("--pairs", type=int, default=20, help="disjoint pairs per scenario (default 20)")
    parser.add_argument(
        "--scenarios",
        default="same,fewer-epochs",
        help=f"comma-separated, of {', '.join(SCENARIOS)} (default same,fewer-epochs)",
    )
    parser.add_argument(
        "--data",
        choices=("offline", "stripes"),
        default="offline",
        help="offline: the profile's images (default); stripes: bench/_stripes.py's, 9 epochs",
    )
    parser.add_argument(
        "--cross",
        action="store_true",
        help="run the cross runs of the stored pairs (to OUT-cross.json); no studies",
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
    if args.data == "stripes":
        from bench._stripes import write_stripes

        _DATA_ARGS[:] = stripes_args(write_stripes(args.out.resolve().parent / "stripes"))

    if args.cross:
        run_cross(_load(args.out), scenarios, args.pairs, cross_path(args.out))
        return 0
    if args.source:
        studies = _load(args.source)
    else:
        studies = _load(args.out)
        # A study stored before confirmations existed runs again.
        planned = plan_studies(args.pairs, scenarios)
        needed = [key for key in planned if "confirmations" not in studies.get(f"{key[0]}:{key[1]}", {})]
        print(f"{len(needed)} studies to run ({len(studies)} stored)", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="bench-verdict-") as scratch:
            for scenario, seed in needed:
                study = run_study(scenario, seed, Path(scratch))
                studies[f"{scenario}:{seed}"] = study
                _save(args.out, studies)
                values = ", ".join(f"{value:.3f}" for value in _values(study))
                again = ", ".join(
                    "-" if value is None else f"{value:.3f}" for value in study["confirmations"]
                )
                print(
                    f"{scenario} seed {seed}: best {study['best']}, values {values}; {study['wall_s']:.0f} s;"
                    f" confirmations {again}; {study['confirmation_wall_s']:.0f} s",
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
        "confirmations": confirmation_scores(studies, scenarios, args.pairs),
    }
    print(format_table(results))
    print()
    print(format_confirmation_table(results["confirmations"]))
    cross_file = cross_path(args.source or args.out)
    if cross_file.exists():
        results["paired"] = paired_scores(studies, scenarios, args.pairs, json.loads(cross_file.read_text()))
        # 2k differences per comparison: k seeds at each of the two best configurations.
        results["paired_sign_flips"] = {
            seeds: paired_sign_flips(2 * int(seeds)) for seeds in results["paired"]
        }
        print()
        print(format_paired_table(results["paired"], results["paired_sign_flips"]))
    if not args.source:
        _save(args.out, studies, results)
    return 0

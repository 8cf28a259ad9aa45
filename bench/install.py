"""Install: size and time of the automation's environment against the full one, in the same run.

    python -m bench install [--keep DIR] [--strict]

Runs `make install VENV=...` (everything: TensorFlow, trainer, test tools) and then
`make install-automation VENV=...` (what the workflow jobs that never train import) into fresh
virtual environments under a scratch directory, one after the other from the same package
cache, so the second does not win by downloading less. Then it runs `validate`, `plan` and
`doctor` with the automation's interpreter, bytecode writing on (as on a CI runner), and
measures the automation's environment again: that is the size a workflow cache keeps.

Reported: seconds and MB of each, and the automation/full ratios. Target (issue 12): the
automation's size at most a tenth of the full one; `--strict` exits 1 when it is missed.
Results also go to `bench/results/install.json`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "install.json"
TARGET_SIZE_RATIO = 0.1
# The commands the workflow jobs run with the automation's install, offline (no credentials:
# doctor fails its checks, which still imports every client it uses).
FIRST_COMMANDS = (["validate"], ["plan", "horses-humans"], ["doctor", "horses-humans"])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench install", description=__doc__.splitlines()[0])
    parser.add_argument("--keep", metavar="DIR", help="install under DIR and keep it (default: temporary)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the size target is missed")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-install-") as scratch:
        where = Path(args.keep or scratch)
        where.mkdir(parents=True, exist_ok=True)
        full = _install("install", where / "full")
        automation = _install("install-automation", where / "automation")
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        for command in FIRST_COMMANDS:
            subprocess.run(
                [str(where / "automation" / "bin" / "python"), "-m", "scripts", *command],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
        automation["bytes_after_first_commands"] = _size(where / "automation")

    summary = {
        "full": full,
        "automation": automation,
        "size_ratio": automation["bytes"] / full["bytes"],
        "size_ratio_after_first_commands": automation["bytes_after_first_commands"] / full["bytes"],
        "time_ratio": automation["seconds"] / full["seconds"],
    }
    mb = 1e6
    print(f"{'':<12}{'seconds':>9}{'MB':>8}")
    print(f"{'full':<12}{full['seconds']:>9.1f}{full['bytes'] / mb:>8.0f}")
    print(f"{'automation':<12}{automation['seconds']:>9.1f}{automation['bytes'] / mb:>8.0f}")
    print(f"{'  after use':<12}{'':>9}{automation['bytes_after_first_commands'] / mb:>8.0f}")
    print(
        f"automation/full: size {summary['size_ratio']:.3f}"
        f" ({summary['size_ratio_after_first_commands']:.3f} after its first commands),"
        f" time {summary['time_ratio']:.3f}"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")

    worst = max(summary["size_ratio"], summary["size_ratio_after_first_commands"])
    if worst > TARGET_SIZE_RATIO:
        print(f"target missed: size ratio {worst:.3f} > {TARGET_SIZE_RATIO}")
        return 1 if args.strict else 0
    return 0


def _install(target: str, venv: Path) -> dict:
    print(f"make {target} VENV={venv}", file=sys.stderr)
    started = time.perf_counter()
    subprocess.run(["make", target, f"VENV={venv}"], cwd=ROOT, check=True)
    return {"seconds": time.perf_counter() - started, "bytes": _size(venv)}


def _size(path: Path) -> int:
    """Bytes of the files under `path`, as `du` counts them (blocks in use)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total

"""Overhead: from `/hpt run NAME SHA` to the result (and the check run) posted, what is ours.

    python -m bench overhead [--trial-seconds 10] [--rounds 3] [--out bench/results/overhead.json]

Drives the comment-command flow as hpt-commands.yml does, step by step, from a throwaway clone
(tests/scripts/github/project.py): `github command` (who asked, which commit), then `github
command-run` (submit, follow the job to its end, post the result and complete the check run
`hpt / NAME`, with `HPT_FOLLOW_MINUTES` set as the workflow sets it). GitHub is the fake API
(tests/scripts/github/fake_github.py, every write timed), Vertex AI the local emulator running the
stand-in trainer (tests/fakes/trainer_standin.py) whose trials each "train" `--trial-seconds`.
The trainer image is already in the fake registry: building is not measured (nor is `doctor`,
which asks Google Cloud's own APIs).

The time from the command step's start to the last write of the flow is split into:

- training: while at least one trial runs (the union of the trials' start-to-end intervals);
- backend: the rest of the job's own life (create to end), the emulator's scheduling here and
  Vertex AI's provisioning there: not ours either;
- ours: everything else, i.e. our commands' start-up, reading the event and the pull request,
  compiling, the spending gate, submitting, and after the job ended, noticing it (the follow
  poll, at most its interval) and posting the result and the check.

Printed: each part in seconds, ours against training and against the follow interval
(scripts/github/follow_flow.py: polls start at FIRST_INTERVAL and grow to MAX_INTERVAL), and the
notice latency (job end to result posted). Not measured here: what GitHub Actions adds (runner
start, checkout, installing; about a minute per workflow job) and the image build.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "bench" / "results" / "overhead.json"
PULL = 5


def _timed_github(base_url: str) -> Any:
    """The fake GitHub, recording the wall time of every write it serves."""
    from tests.scripts.github.fake_github import FakeGitHub

    class TimedGitHub(FakeGitHub):
        def handle(self, request):  # noqa: ANN001, ANN202 - werkzeug's Request and Response
            response = super().handle(request)
            if request.method in ("POST", "PATCH", "PUT", "DELETE"):
                self.write_times.append((time.time(), request.method, request.path))
            return response

    github = TimedGitHub(base_url=base_url)
    github.write_times = []
    return github


def _experiments(trial_seconds: float) -> str:
    """The pull request's experiments file: `wide`'s trials each report 2 steps, `trial_seconds` apart."""
    from tests.scripts.github.project import PR_EXPERIMENTS

    before, wide = PR_EXPERIMENTS.split("  wide:\n")
    slower = wide.replace("args: [--steps=2]", f"args: [--steps=2, --sleep={trial_seconds / 2:g}]")
    return f"{before}  wide:\n{slower}"


def _job(address: str) -> Any:
    import grpc
    from google.cloud.aiplatform_v1 import JobServiceClient
    from google.cloud.aiplatform_v1.services.job_service.transports import JobServiceGrpcTransport

    from tests.scripts.github.project import PROJECT, REGION

    client = JobServiceClient(transport=JobServiceGrpcTransport(channel=grpc.insecure_channel(address)))
    (job,) = client.list_hyperparameter_tuning_jobs(parent=f"projects/{PROJECT}/locations/{REGION}")
    return job


def _seconds(stamp: Any) -> float:
    return stamp.timestamp()


def _union(intervals: list[tuple[float, float]]) -> float:
    """The time covered by at least one of the intervals."""
    covered, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop <= end:
            continue
        covered += stop - max(start, end)
        end = stop
    return covered


def one_round(trial_seconds: float, scratch: Path) -> dict[str, Any]:
    """One `/hpt run wide SHA` from the comment to the last write; the parts of its time."""
    from pytest_httpserver import HTTPServer

    from scripts import images
    from scripts.github import follow_flow
    from scripts.github.sticky_comment import sections
    from tests.scripts.github import payloads
    from tests.scripts.github.project import PROJECT, REGION, emulator, make_history

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    history = make_history(scratch / "clone")
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        github = _timed_github(server.url_for("").rstrip("/"))
        server.expect_request(re.compile(".*")).respond_with_handler(github.handle)
        github.add_pull(PULL, history.head, history.base)
        github.contents[("experiments.yaml", history.head)] = _experiments(trial_seconds)
        # The trainer image the build job hands on (building is not measured): the head's content tag.
        tag, digest = images.content_tag(history.head, history.root), "sha256:" + "d" * 64
        github.images[f"{PROJECT}/hpt/trainer/manifests/{tag}"] = digest
        output = scratch / "github_output"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "HPT_", "VERTEX_AI_"))},
            "GITHUB_API_URL": github.base_url,
            "GITHUB_TOKEN": github.token,
            "GITHUB_REPOSITORY": github.repository,
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(scratch / "step_summary.md"),
            "GOOGLE_CLOUD_PROJECT": PROJECT,
            "GOOGLE_CLOUD_REGION": REGION,
            "HPT_REGISTRY_URL": github.base_url,
            "HPT_MAX_COST": "100",
            "HPT_COMMENT_SETTLE_SECONDS": "0",
            "HPT_FOLLOW_MINUTES": "20",  # hpt-commands.yml's default
        }
        comment = payloads.issue_comment(PULL, f"/hpt run wide {history.head[:7]}", "MEMBER")

        def step(name: str, **more: str) -> tuple[float, float]:
            event = payloads.write_event(scratch, "issue_comment", comment)
            started = time.time()
            done = subprocess.run(
                [sys.executable, "-m", "scripts", "github", name],
                cwd=history.root,
                env={**env, **event, **more},
                capture_output=True,
                text=True,
                timeout=600,
            )
            if done.returncode != 0:
                replies = [c["body"][-1500:] for c in github.ours(PULL)]
                raise SystemExit(
                    f"{replies}\n"
                    f"github {name} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}"
                )
            return started, time.time()

        with emulator(history.root, scratch / "state") as address:
            command_start, command_end = step("command")
            outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
            run_start, run_end = step(
                "command-run",
                VERTEX_AI_EMULATOR_HOST=address,
                GITHUB_SHA=history.base,
                HPT_PINNED_HEAD=outputs.get("head", history.head),
                HPT_TRAINER_IMAGE=f"{REGION}-docker.pkg.dev/{PROJECT}/hpt/trainer:{tag}",
                HPT_TRAINER_DIGEST=digest,
            )
            job = _job(address)
        body = github.ours(PULL)[0]["body"] if github.ours(PULL) else ""
        posted = [s for s in sections(body) if s.startswith("result")]
        checks = [
            run for run in getattr(github, "check_runs", []) if run.get("name", "").startswith("hpt / ")
        ]
        last_write = max((t for t, _, _ in github.write_times), default=run_end)
    finally:
        server.stop()

    trials = [(_seconds(t.start_time), _seconds(t.end_time)) for t in job.trials if t.end_time]
    created, ended = _seconds(job.create_time), _seconds(job.end_time)
    training = _union(trials)
    total = last_write - command_start
    backend = (ended - created) - training
    ours = total - (ended - created)
    after_end = [t for t, _, _ in github.write_times if t >= ended]
    comment_writes = [t for t, method, path in github.write_times if t >= ended and "/comments" in path]
    check_writes = [t for t, method, path in github.write_times if t >= ended and "/check-runs" in path]
    return {
        "trial_seconds": trial_seconds,
        "trials": len(job.trials),
        "job_state": job.state.name,
        "result_posted": bool(posted),
        "check_runs": [{k: run.get(k) for k in ("name", "status", "conclusion")} for run in checks],
        "total_s": round(total, 2),
        "training_s": round(training, 2),
        "backend_s": round(backend, 2),
        "ours_s": round(ours, 2),
        "ours_before_submit_s": round(created - command_start, 2),
        "command_step_s": round(command_end - command_start, 2),
        "command_run_step_s": round(run_end - run_start, 2),
        "notice_latency_s": round(after_end[0] - ended, 2) if after_end else None,
        "ours_after_end_s": round(last_write - ended, 2),
        "result_posted_after_end_s": round(comment_writes[0] - ended, 2) if comment_writes else None,
        "check_completed_after_end_s": round(check_writes[-1] - ended, 2) if check_writes else None,
        "follow_first_interval_s": follow_flow.FIRST_INTERVAL,
        "follow_max_interval_s": follow_flow.MAX_INTERVAL,
    }


def format_rounds(rounds: list[dict[str, Any]]) -> str:
    lines = [
        "| round | total s | training s | backend s | ours s | ours / training | ours / follow interval "
        "| before submit s | job end to result posted s | job end to check completed s | check run |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for number, r in enumerate(rounds, 1):
        checks = ", ".join(
            f"{c['name']}: {c['status']} {c['conclusion'] or ''}".strip() for c in r["check_runs"]
        )
        lines.append(
            f"| {number} | {r['total_s']:.1f} | {r['training_s']:.1f} | {r['backend_s']:.1f} "
            f"| {r['ours_s']:.1f} "
            f"| {r['ours_s'] / r['training_s']:.2f} | {r['ours_s'] / r['follow_max_interval_s']:.2f} "
            f"| {r['ours_before_submit_s']:.1f} | {r['result_posted_after_end_s']} "
            f"| {r['check_completed_after_end_s']} "
            f"| {checks or 'none (not in this version)'} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench overhead", description=__doc__.splitlines()[0])
    parser.add_argument("--trial-seconds", type=float, default=10.0, help="each stand-in trial's length")
    parser.add_argument("--rounds", type=int, default=3, help="how many times to run the flow (default 3)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"results file (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    rounds = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="bench-overhead-") as scratch:
            rounds.append(one_round(args.trial_seconds, Path(scratch)))
    print(format_rounds(rounds))
    print(
        f"\nfollow interval: polls start at {rounds[0]['follow_first_interval_s']:g} s and grow to "
        f"{rounds[0]['follow_max_interval_s']:g} s; ratios above are against the longest"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rounds": rounds}, indent=2) + "\n")
    return 0

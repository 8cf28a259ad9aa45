"""The verdict on a pull request's job: its best against the base branch's, in the comment and a check.

The baseline is the base branch's newest SUCCEEDED job of the same experiment in this repository,
at another commit: `scripts.results.confirmation.find_baseline`, taking a candidate only when GitHub's
compare API says its commit is in the branch's history (so no other pull request's job, nor this
one's earlier commits). The same answer lists what the branch changed since: when that touches
experiments.yaml or the trainer image's inputs, the comment says the baseline may be stale. With no
baseline, or a stale one, it names the command that tunes the branch's experiment too; while a job
of the branch runs (the one `--baseline` tuned beside the head), the verdict waits for it. The verdict and
its numbers are `scripts.results.compare`'s, rendered by `scripts.results.compare_text.markdown`.

A job whose commit is not on the base branch (a proposal) also gets the check run `hpt / NAME`
on that commit (`scripts.github.check_runs`): in progress while it runs, then completed with the
verdict as its title; its conclusion is the experiment's `gate:` (`scripts.experiments.gate`, read
from this checkout: the default branch), or neutral without one.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scripts import escaping
from scripts.experiments import load
from scripts.experiments.gate import describe, failed_conditions
from scripts.github import check_runs, environment
from scripts.github.api import GitHubClient, GitHubError
from scripts.github.tuning_jobs import EndedJob, TuningJobs
from scripts.images import BUILD_INPUTS
from scripts.jobs import labels, states
from scripts.jobs.names import job_id, parse_job_name
from scripts.paths import EXPERIMENTS_FILE
from scripts.results import compare_text
from scripts.results.confirmation import (
    CONFIRMS_LABEL,
    SEEDS,
    VERDICT_OF_LABEL,
    find_baseline,
    is_confirmation,
    same_trainer,
)

if TYPE_CHECKING:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

    from scripts.experiments.model import Gate
    from scripts.github.runner import Step

# What a job of an experiment depends on besides its commit's experiments file: the image's inputs.
EXPERIMENT_INPUTS = ("experiments.yaml", *BUILD_INPUTS)
# Candidates asked about (one compare call each) before giving up: the base branch's jobs are
# among the newest unless many pull-request jobs ran since.
MAX_CANDIDATES = 20
_COMMIT = re.compile(r"[0-9a-f]{40}")
# A job in these states may still become the baseline.
RUNNING = ("JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_RUNNING")


@dataclass(frozen=True)
class Verdict:
    """One ended pull-request job against its baseline: what the comment and the check say."""

    experiment: str
    job_id: str
    commit: str  # the commit the job tuned: where its check run is
    branch: str  # the pull request's base branch, where the baseline comes from
    proposal: bool  # the commit is not on the base branch: the job gets a check run
    state: str  # SUCCEEDED, FAILED...
    comparison: dict[str, Any] | None  # None when the job did not succeed
    notes: tuple[str, ...] = ()  # Markdown: the baseline used or why none, staleness, the command
    gate: Gate | None = None

    @property
    def failed(self) -> list[str]:
        """The gate's conditions this job fails (a job that did not succeed fails every gate)."""
        if self.gate is None:
            return []
        if self.comparison is None:
            return [f"the job must succeed, and it ended {self.state}"]
        return failed_conditions(self.gate, self.comparison)

    @property
    def conclusion(self) -> str:
        if self.comparison is None and self.state == "CANCELLED":
            return "cancelled"
        if self.gate is None:
            return "neutral"
        return "failure" if self.failed else "success"

    @property
    def title(self) -> str:
        data = self.comparison
        if data is None:
            text = f"job {self.state.lower()}"
        else:
            delta = data["delta"]
            text = data["verdict"] + (f" ({delta:+.4g} {data['metric']})" if delta is not None else "")
        if self.gate is not None:
            text += ": gate failed" if self.failed else ": gate passed"
        return text

    def markdown(self) -> str:
        """The section in the pull request's comment, and the check's summary."""
        lines = [f"#### Compared with {escaping.code(self.branch)}", ""]
        if self.comparison is None:
            lines.append(f"The job ended {escaping.code(self.state)}: no verdict.")
        else:
            lines.append(compare_text.markdown(self.comparison))
        lines += [line for note in self.notes for line in ("", note)]
        if self.proposal:
            lines += ["", self._check_line()]
        return "\n".join(lines)

    def _check_line(self) -> str:
        name = escaping.code(check_runs.check_name(self.experiment))
        if self.gate is None:
            return f"Check {name}: **neutral** (no `gate:` for this experiment in `experiments.yaml`)."
        failed = self.failed
        if failed:
            return (
                f"Check {name}: **failure**, the gate failed: " + "; ".join(map(escaping.text, failed)) + "."
            )
        return f"Check {name}: **success**, the gate passed ({escaping.text(describe(self.gate))})."


class Verdicts:
    """Judges the pull-request jobs of one reporting run and writes their checks (GitHub answers cached)."""

    def __init__(
        self, client: GitHubClient, tuning: TuningJobs, step: Step, *, gates: Mapping[str, Gate] | None = None
    ):
        """`tuning`: the backend's jobs, read with their trials; `gates`: each experiment's gate
        (None: those of this checkout's experiments.yaml, the default branch's, where the reporter
        runs: a pull request's own file never decides its check)."""
        self.client, self.step = client, step
        self.backend, self.jobs, self.full_job = tuning.backend, tuning.service, tuning.job
        if gates is None:
            experiments = load(EXPERIMENTS_FILE, environment.trusted(step.env)).experiments
            gates = {name: experiment.gate for name, experiment in experiments.items() if experiment.gate}
        self.gates = gates
        self.waiting: list[EndedJob] = []  # the last report's proposals whose baseline still runs
        self._pulls: dict[int, dict[str, Any]] = {}
        self._compared: dict[tuple[str, str], tuple[bool, list[str]]] = {}

    def judge(self, ended: EndedJob) -> Verdict:
        """The job's verdict against its pull request's base branch."""
        # The comparison's modules (and the Vertex types listing loads): only once a job is judged.
        from scripts.results.compare import comparison
        from scripts.results.confirmation import find_confirmations

        assert ended.pull_request is not None
        job = self.full_job(ended)
        pull = self._pull(ended.pull_request)
        branch, head = pull["base"]["ref"], pull["head"]["sha"]
        commit = job.labels.get(labels.COMMIT, "")
        verdict = Verdict(
            experiment=ended.experiment,
            job_id=job_id(job.name),
            commit=commit,
            branch=branch,
            proposal=bool(_COMMIT.fullmatch(commit)) and not self._on_branch(commit, branch)[0],
            state=states.short(job.state.name),
            comparison=None,
            gate=self.gates.get(ended.experiment),
        )
        if verdict.state != "SUCCEEDED":
            return verdict
        succeeded = self.jobs.experiment_jobs(job, [states.SUCCEEDED])
        baseline = self.baseline_of(job, branch, succeeded)
        reason = f"No SUCCEEDED job of {ended.experiment} at another commit of {branch} to compare with."
        data = comparison(
            job,
            baseline,
            backend=self.backend.name,
            no_baseline_reason=reason,
            confirmations=find_confirmations(job, baseline, succeeded),
        )
        notes = self._notes(verdict, baseline, f"/hpt run {ended.experiment} {head[:7]}")
        if self._could_confirm(verdict, data, job, baseline, head):
            notes += (
                "For a verdict past the noise of two small searches: "
                + escaping.code(f"/hpt run {ended.experiment} {head[:7]} --confirm")
                + f" trains each side's best configuration again with both trainers and {len(SEEDS)} "
                f"seeds (up to {4 * len(SEEDS)} trials of one configuration; docs/compare.md).",
            )
        return dataclasses.replace(verdict, comparison=data, notes=notes)

    @staticmethod
    def _could_confirm(
        verdict: Verdict,
        data: Mapping[str, Any],
        job: HyperparameterTuningJob,
        baseline: HyperparameterTuningJob | None,
        head: str,
    ) -> bool:
        """Whether `/hpt run NAME HEAD --confirm` would sharpen this verdict: a proposal at the pull
        request's head, judged from the studies alone, against a baseline of another trainer."""
        return (
            baseline is not None
            and verdict.proposal
            and verdict.commit == head
            and data["method_name"] != "paired-confirmation"
            and not same_trainer(job, baseline)
        )

    def baseline_of(
        self,
        job: HyperparameterTuningJob,
        branch: str,
        succeeded: Sequence[HyperparameterTuningJob] | None = None,
    ) -> HyperparameterTuningJob | None:
        """`job`'s baseline: the newest SUCCEEDED job of its experiment at another commit that
        `branch` holds (asking GitHub about at most MAX_CANDIDATES commits). `succeeded`: the
        experiment's SUCCEEDED jobs, when the caller listed them already (None: listed here)."""
        asked = []

        def on_branch(candidate: HyperparameterTuningJob) -> bool:
            asked.append(candidate)
            other = candidate.labels.get(labels.COMMIT, "")
            held = len(asked) <= MAX_CANDIDATES and _COMMIT.fullmatch(other)
            return bool(held) and self._on_branch(other, branch)[0]

        if succeeded is None:
            succeeded = self.jobs.experiment_jobs(job, [states.SUCCEEDED])
        return find_baseline(job, succeeded, accept=on_branch)

    def confirmed(self, ended: EndedJob) -> Verdict | None:
        """The verdict again of the pull-request job that the confirmation job `ended` was submitted
        for (`hpt-verdict-of`), once none of the confirmation jobs of that job and its baseline still
        runs; None while one does (the last to end posts it)."""
        job = self.full_job(ended)
        parsed = parse_job_name(job.name)
        of = job.labels.get(VERDICT_OF_LABEL, "")
        if parsed is None or not of.isdigit() or ended.pull_request is None:
            return None
        proposal = EndedJob(
            f"{parsed.parent}/hyperparameterTuningJobs/{of}", ended.experiment, ended.pull_request
        )
        configs = {of, job.labels.get(CONFIRMS_LABEL, "")}
        for running in self.jobs.experiment_jobs(job, RUNNING):
            if running.labels.get(VERDICT_OF_LABEL) == of or running.labels.get(CONFIRMS_LABEL) in configs:
                print(escaping.log_line(f"{job.name}: waiting for {running.name}, a confirmation, to end"))
                return None
        return self.judge(proposal)

    def _notes(self, verdict: Verdict, baseline: HyperparameterTuningJob | None, run: str) -> tuple[str, ...]:
        """Which baseline was used (or the command that makes one: `run` with `--baseline`), and
        whether it may be stale."""
        branch = escaping.code(verdict.branch)
        command = escaping.code(f"{run} --baseline")
        if baseline is None:
            return (
                (f"To tune {branch}'s experiment too and compare with it: {command}",)
                if verdict.proposal
                else ()
            )
        commit = baseline.labels[labels.COMMIT]
        notes = [
            f"Baseline: the newest SUCCEEDED job of {escaping.code(verdict.experiment)} on {branch} at "
            f"another commit, {escaping.code(job_id(baseline.name))} at {escaping.code(commit[:12])}."
        ]
        changed = [name for name in self._on_branch(commit, verdict.branch)[1] if _is_input(name)]
        if changed:
            listed = ", ".join(escaping.code(name) for name in changed[:5]) + (", ..." if changed[5:] else "")
            notes.append(
                f"> {branch} changed {listed} since the baseline's commit: the baseline may not be what it "
                "achieves now."
                + (f" To tune it again beside this one: {command}" if verdict.proposal else "")
            )
        return tuple(notes)

    def finish_check(self, verdict: Verdict, *, rewrite: bool = False) -> None:
        """Complete the proposal's check run with the verdict, its summary the comment's section;
        `rewrite`: also when it was completed before (the confirmed verdict replaces the first)."""
        if not verdict.proposal:
            return
        name = check_runs.check_name(verdict.experiment)
        self._writing(
            name,
            lambda: check_runs.complete(
                self.client,
                verdict.commit,
                name,
                verdict.job_id,
                conclusion=verdict.conclusion,
                title=verdict.title,
                summary=verdict.markdown(),
                rewrite=rewrite,
            ),
        )

    def start_check(self, job: HyperparameterTuningJob) -> None:
        """The check run of a running proposal job, in progress (nothing for other jobs)."""
        pull = job.labels.get(labels.PULL_REQUEST, "")
        commit = job.labels.get(labels.COMMIT, "")
        if not pull.isdigit() or not _COMMIT.fullmatch(commit) or is_confirmation(job):
            return  # a confirmation job's check is the job it confirms
        branch = self._pull(int(pull))["base"]["ref"]
        if self._on_branch(commit, branch)[0]:
            return
        experiment = job.labels.get(labels.EXPERIMENT, job.display_name)
        name = check_runs.check_name(experiment)
        summary = (
            f"Job {escaping.code(job_id(job.name))} is tuning {escaping.code(commit[:12])}; this check "
            f"completes with the verdict against {escaping.code(branch)} when it ends."
        )
        details = self.backend.console_url(job.name) or ""
        self._writing(
            name, lambda: check_runs.start(self.client, commit, name, job_id(job.name), summary, details)
        )

    def _writing(self, name: str, write: Callable[[], tuple[str, dict[str, Any]]]) -> None:
        """Write a check run; without `checks: write` say so and go on (the result is still posted)."""
        try:
            action, run = write()
        except GitHubError as error:
            if error.status != 403:
                raise
            self.step.warning(
                f"check {name} not written (HTTP 403): the job needs `permissions: checks: write`"
            )
            return
        print(f"{action} check {escaping.log_line(name)}: {run.get('html_url', '')}")

    def baseline_running(self, ended: EndedJob) -> str:
        """A job of the experiment still running at a commit of the base branch, which will be the
        baseline (the branch's experiment that `--baseline` tunes beside the head, or a merge's job):
        a proposal's verdict waits for it. "" when there is none."""
        job = self.full_job(ended)
        commit = job.labels.get(labels.COMMIT, "")
        parsed = parse_job_name(job.name)
        if ended.pull_request is None or parsed is None or not _COMMIT.fullmatch(commit):
            return ""
        branch = self._pull(ended.pull_request)["base"]["ref"]
        if self._on_branch(commit, branch)[0]:
            return ""  # not a proposal: compared with what has ended
        for candidate in self.jobs.list_jobs(parsed.parent, ended.experiment, RUNNING):
            other = candidate.labels.get(labels.COMMIT, "")
            if candidate.labels.get(labels.REPOSITORY) != job.labels.get(labels.REPOSITORY):
                continue
            if is_confirmation(candidate):  # a re-run of a best configuration is nobody's baseline
                continue
            if _COMMIT.fullmatch(other) and other != commit and self._on_branch(other, branch)[0]:
                return candidate.name
        return ""

    def _pull(self, number: int) -> dict[str, Any]:
        if number not in self._pulls:
            self._pulls[number] = self.client.get(self.client.repo_path(f"pulls/{number}"))
        return self._pulls[number]

    def _on_branch(self, commit: str, branch: str) -> tuple[bool, list[str]]:
        """Whether `branch`'s history holds `commit`, and the files the branch changed since it."""
        key = (commit, branch)
        if key not in self._compared:
            path = self.client.repo_path(f"compare/{commit}...{urllib.parse.quote(branch, safe='/')}")
            try:
                found = self.client.get(path, {"per_page": 1})
            except GitHubError as error:
                if error.status != 404:  # a commit GitHub does not know (a deleted fork's)
                    raise
                found = {"status": "diverged"}
            held = found.get("status") in ("ahead", "identical")
            self._compared[key] = (held, [f["filename"] for f in found.get("files") or [] if "filename" in f])
        return self._compared[key]


def _is_input(path: str) -> bool:
    return any(path == name or path.startswith(name + "/") for name in EXPERIMENT_INPUTS)

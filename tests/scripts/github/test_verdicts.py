"""A pull request's job against its base branch: the verdict in the comment and the `hpt / NAME` check.

The reporter runs as the workflow runs it (`python -m scripts github report`), against the fake
GitHub (pull requests, the compare API, check runs) and the fake JobService on loopback holding
hand-made jobs whose trials decide the verdict. The gates are read from the default branch's
experiments.yaml, this checkout's in a subprocess: gate outcomes are driven through the library
(`report` with `Verdicts`) with the same fakes.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from google.cloud.aiplatform_v1 import JobState
from werkzeug import Response

from scripts.experiments.model import Gate
from scripts.github.api import GitHubClient
from scripts.github.report_flow import report
from scripts.github.runner import Step
from scripts.github.sticky_comment import sections
from scripts.github.tuning_jobs import TuningJobs
from scripts.github.verdicts import Verdicts
from scripts.vertex.backend import Backend
from tests.markdown_render import LIVE_MENTION, parse
from tests.scripts.github.fake_github import REPOSITORY
from tests.scripts.github.verdict_jobs import (
    HEAD,
    HIGH,
    LOW,
    MAIN,
    MAIN_OLD,
    MIXED,
    OTHER,
    PROJECT,
    REGION,
    reporter,
    tuning_job,
)


def result(github, number: int) -> str:
    return sections(github.ours(5)[0]["body"])[f"result:{number}"]


def test_a_pull_requests_job_gets_the_verdict_against_main_and_a_completed_check_once(
    repo, fake, tmp_path, github_env
):
    fake.add_job(tuning_job(1, MAIN, HIGH, minute=0))  # main's job: the baseline
    fake.add_job(tuning_job(2, OTHER, HIGH, pull=6, minute=10))  # newer, but another pull request's
    fake.add_job(tuning_job(3, HEAD, LOW, pull=5, minute=20))

    first = reporter(fake, tmp_path)

    assert first.returncode == 0, first.stderr
    section = result(repo, 3)
    assert "**Verdict: worse**" in section and "-0.3 against the baseline" in section
    assert "Precedence test" in section and "p = 0.002165" in section  # the method and its numbers
    assert (
        "Baseline: the newest SUCCEEDED job of `wide` on `main` at another commit, `1` at `111111111111`"
        in (section)
    )
    assert "| cost |" in section and "| accelerator hours |" in section  # what each side spent
    assert "Check `hpt / wide`: **neutral** (no `gate:`" in section
    (check,) = repo.runs_on(HEAD)
    assert (check["name"], check["external_id"], check["status"]) == ("hpt / wide", "3", "completed")
    assert check["conclusion"] == "neutral"
    assert check["output"]["title"] == "worse (-0.3 accuracy)"
    assert "**Verdict: worse**" in check["output"]["summary"]
    assert "result:2" not in sections(repo.ours(5)[0]["body"])  # pull request #6's job stays off #5

    writes = len(repo.writes())
    again = reporter(fake, tmp_path)

    assert again.returncode == 0, again.stderr
    assert len(repo.writes()) == writes  # no second check run, no second section
    assert len(repo.runs_on(HEAD)) == 1 and len(repo.ours(5)) == 1


def test_without_a_job_on_main_the_comment_says_so_and_names_the_command(repo, fake, tmp_path, github_env):
    fake.add_job(tuning_job(2, OTHER, HIGH, pull=6))  # only another pull request's job
    fake.add_job(tuning_job(3, HEAD, LOW, pull=5, minute=20))

    reported = reporter(fake, tmp_path)

    assert reported.returncode == 0, reported.stderr
    section = result(repo, 3)
    assert "**Verdict: no baseline**" in section
    assert "No SUCCEEDED job of wide at another commit of main to compare with." in section
    assert (
        "To tune `main`'s experiment too and compare with it: `/hpt run wide 2222222 --baseline`" in section
    )
    (check,) = repo.runs_on(HEAD)
    assert (check["conclusion"], check["output"]["title"]) == ("neutral", "no baseline")


def test_a_baseline_older_than_mains_last_trainer_change_is_said_to_be_stale(
    repo, fake, tmp_path, github_env
):
    repo.commit_files[MAIN] = ["trainer/task.py", "README.md"]
    fake.add_job(tuning_job(1, MAIN_OLD, MIXED))
    fake.add_job(tuning_job(3, HEAD, MIXED, pull=5, minute=20))

    reported = reporter(fake, tmp_path)

    assert reported.returncode == 0, reported.stderr
    section = result(repo, 3)
    assert "**Verdict: no clear difference**" in section and "`000000000000`" in section
    assert (
        "`main` changed `trainer/task.py` since the baseline's commit: the baseline may not be what it "
        "achieves now. To tune it again beside this one: `/hpt run wide 2222222 --baseline`"
    ) in section


def test_the_check_is_in_progress_while_the_job_runs_then_completed_in_place(
    repo, fake, tmp_path, github_env
):
    fake.add_job(tuning_job(1, MAIN, HIGH))
    running = fake.add_job(tuning_job(3, HEAD, [], pull=5, state=JobState.JOB_STATE_RUNNING, minute=20))

    reporter(fake, tmp_path)
    (check,) = repo.runs_on(HEAD)
    assert (check["status"], check["external_id"], check["output"]["title"]) == ("in_progress", "3", "Tuning")
    reporter(fake, tmp_path)  # still running: the same check, found again
    assert len(repo.runs_on(HEAD)) == 1

    fake.jobs[running.name] = tuning_job(3, HEAD, HIGH, pull=5, minute=20)
    reported = reporter(fake, tmp_path)

    assert reported.returncode == 0, reported.stderr
    (check,) = repo.runs_on(HEAD)
    assert (check["status"], check["conclusion"]) == ("completed", "neutral")
    assert check["output"]["title"] == "no clear difference (+0 accuracy)"
    assert [r.method for r in repo.requests if "check-runs" in r.path and r.method != "GET"] == [
        "POST",
        "PATCH",
    ]


def test_a_job_of_a_commit_already_on_main_gets_the_verdict_but_no_check(repo, fake, tmp_path, github_env):
    # The merge's own job (its pull request's number, main's commit): compared with main's job before.
    fake.add_job(tuning_job(1, MAIN_OLD, HIGH))
    fake.add_job(tuning_job(3, MAIN, HIGH, pull=5, minute=20))

    reported = reporter(fake, tmp_path)

    assert reported.returncode == 0, reported.stderr
    section = result(repo, 3)
    assert "**Verdict: no clear difference**" in section and "--baseline" not in section
    assert repo.check_runs == []


# -- gates, through the library with the same fakes --------------------------------------------


def _report_with(github, fake, tmp_path, gate: Gate | None) -> Step:
    # No pause before the comment is read back (conftest's no_comment_settling sets the
    # environment, which a client built here does not read).
    client = GitHubClient(github.repository, github.token, github.base_url, comment_settle_seconds=0)
    backend = Backend.emulator_at(fake.address, tmp_path / "state")
    tuning = TuningJobs(backend)
    jobs = tuning.ended([(PROJECT, REGION)], github.repository)
    step = Step({})
    gates = {"wide": gate} if gate else {}
    verdicts = Verdicts(client, tuning, step, gates=gates)
    counts = report(jobs, client, tuning.markdown, step, verdicts=verdicts)
    assert counts["posted"] == 1, counts
    return step


@pytest.mark.parametrize(
    ("gate", "conclusion", "title", "said"),
    [
        (None, "neutral", "worse (-0.3 accuracy)", "**neutral** (no `gate:`"),
        (Gate(max_cost=100), "success", "worse (-0.3 accuracy): gate passed",
         "**success**, the gate passed (the job's cost at most 100 USD)"),
        (Gate(verdict="not-worse"), "failure", "worse (-0.3 accuracy): gate failed",
         "**failure**, the gate failed: the verdict must not be worse, and it is worse."),
        (Gate(verdict="not-worse", max_cost=0.01), "failure", "worse (-0.3 accuracy): gate failed",
         "the verdict must not be worse, and it is worse; the job's cost must be at most 0.01 USD, and it "
         "is 0.66 USD"),
    ],
)  # fmt: skip
def test_the_gate_decides_the_conclusion_and_says_which_condition_failed(
    github, repo, fake, tmp_path, gate, conclusion, title, said
):
    fake.add_job(tuning_job(1, MAIN, HIGH))
    fake.add_job(tuning_job(3, HEAD, LOW, pull=5, minute=20))

    _report_with(github, fake, tmp_path, gate)

    (check,) = github.runs_on(HEAD)
    assert (check["conclusion"], check["output"]["title"]) == (conclusion, title)
    assert said in check["output"]["summary"] and said in result(github, 3)


def test_not_worse_passes_an_experiment_main_does_not_have_yet(github, repo, fake, tmp_path):
    fake.add_job(tuning_job(3, HEAD, LOW, pull=5))

    _report_with(github, fake, tmp_path, Gate(verdict="not-worse"))

    (check,) = github.runs_on(HEAD)
    assert (check["conclusion"], check["output"]["title"]) == ("success", "no baseline: gate passed")


def test_a_failed_job_fails_its_gate(github, repo, fake, tmp_path):
    fake.add_job(tuning_job(3, HEAD, LOW[:1], pull=5, state=JobState.JOB_STATE_FAILED))

    _report_with(github, fake, tmp_path, Gate(verdict="not-worse"))

    (check,) = github.runs_on(HEAD)
    assert (check["conclusion"], check["output"]["title"]) == ("failure", "job failed: gate failed")
    assert "The job ended `FAILED`: no verdict." in result(github, 3)


def test_a_base_branch_name_builds_no_markdown_in_the_comment_or_the_check(github, repo, fake, tmp_path):
    # Git allows backticks, `<`, `|` and `@` in a branch name: the name is shown, never obeyed.
    hostile = "rel`<img src=x>|@octo-org/team"
    github.pulls[5]["base"]["ref"] = hostile
    github.branches[hostile] = github.branches.pop("main")
    fake.add_job(tuning_job(1, MAIN, HIGH))
    fake.add_job(tuning_job(3, HEAD, LOW, pull=5, minute=20))

    _report_with(github, fake, tmp_path, None)

    section = result(github, 3)
    (check,) = github.runs_on(HEAD)
    for shown in (section, check["output"]["summary"]):
        assert "**Verdict: worse**" in shown  # the base branch's job was found through the quoted name
        tree, stray = parse(shown)  # as GitHub renders it
        assert "img" not in tree.tags() and stray == []
        assert not LIVE_MENTION.search(tree.prose())
        (heading,) = [h for h in tree.find("h4") if "Compared with" in h.text]
        # escaping.code writes `|` as `\|` (a table cell's need; outside one the backslash shows)
        assert heading.text == "Compared with " + hostile.replace("|", "\\|")


def test_without_checks_write_the_result_is_still_posted_with_a_warning(github, repo, fake, tmp_path, capsys):
    forbidden = Response('{"message": "Resource not accessible by integration"}', status=403)
    github.scripted.append(("POST", rf"/repos/{REPOSITORY}/check-runs", forbidden))
    fake.add_job(tuning_job(3, HEAD, LOW, pull=5))

    _report_with(github, fake, tmp_path, None)

    assert "**Verdict: no baseline**" in result(github, 3)
    assert github.check_runs == []
    assert "check hpt / wide not written (HTTP 403): the job needs `permissions: checks: write`" in (
        capsys.readouterr().err
    )


# -- the whole loop: dispatched jobs on the emulator, followed by their submitting step ---------


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    from tests.scripts.github.project import make_history

    return make_history(tmp_path_factory.mktemp("clone"))


@pytest.mark.slow
def test_a_followed_pull_request_job_has_its_check_in_progress_then_the_verdict_against_main(
    github, history, github_env, tmp_path
):
    """main's job of `quick` at the base commit, then one dispatched for pull request #5 at its head
    and followed: the check is in progress from the submission, then completed with the verdict
    against main's job, success by the default branch's gate; the reporter then does nothing."""
    from scripts import images
    from tests.scripts.github import payloads
    from tests.scripts.github.project import PROJECT as E2E_PROJECT
    from tests.scripts.github.project import REGION as E2E_REGION
    from tests.scripts.github.project import emulator

    github.add_pull(5, history.head, history.base)
    github.branches["main"] = [history.base, history.merge]
    tag = images.content_tag(history.merge, history.root)
    github.images[f"{E2E_PROJECT}/hpt/trainer/manifests/{tag}"] = "sha256:" + "d" * 64
    experiments = history.root / "experiments.yaml"
    shipped = experiments.read_text()
    # The default branch's gate (the checkout's file): the pull request's job must not be worse.
    experiments.write_text(
        shipped.replace(
            "    trainer:\n      args: [--steps=2]\n",
            "    trainer:\n      args: [--steps=2]\n    gate: {verdict: not-worse}\n",
            1,
        )
    )

    def step(name: str, payload: dict, **env: str) -> subprocess.CompletedProcess[str]:
        full = {
            **os.environ,
            **payloads.write_event(tmp_path, "workflow_dispatch", payload),
            "GOOGLE_CLOUD_PROJECT": E2E_PROJECT,
            "GOOGLE_CLOUD_REGION": E2E_REGION,
            "HPT_REGISTRY_URL": github_env["GITHUB_API_URL"],
            "HPT_FOLLOW_MINUTES": "3",
            **env,
        }
        command = [sys.executable, "-m", "scripts", "github", name]
        return subprocess.run(
            command, cwd=history.root, capture_output=True, text=True, env=full, timeout=300
        )

    inputs = {"experiment": "quick", "max_trials": "", "parallel_trials": "", "dry_run": False}
    try:
        with emulator(history.root, tmp_path / "state") as address:
            main = step(
                "dispatch", payloads.workflow_dispatch(**inputs, pull_request=""),
                VERTEX_AI_EMULATOR_HOST=address, GITHUB_SHA=history.base,
            )  # fmt: skip
            assert main.returncode == 0, main.stderr
            proposed = step(
                "dispatch", payloads.workflow_dispatch(**inputs, pull_request="5"),
                VERTEX_AI_EMULATOR_HOST=address, GITHUB_SHA=history.head,
            )  # fmt: skip
            assert proposed.returncode == 0, proposed.stderr

            body = github.ours(5)[0]["body"]
            (key,) = [key for key in sections(body) if key.startswith("result:")]
            section = sections(body)[key]
            assert "#### Compared with `main`" in section and "**Verdict: " in section
            assert f"at `{history.base[:12]}`." in section  # main's job is the baseline
            assert (
                "Check `hpt / quick`: **success**, the gate passed (the verdict must not be worse)."
                in section
            )
            (check,) = github.runs_on(history.head)
            started = next(
                r for r in github.requests if r.method == "POST" and r.path.endswith("/check-runs")
            )
            assert (started.body["status"], started.body["external_id"]) == ("in_progress", key.split(":")[1])
            assert (check["status"], check["conclusion"]) == ("completed", "success")
            assert check["output"]["title"].endswith(": gate passed")

            writes = len(github.writes())
            reported = step("report", {}, VERTEX_AI_EMULATOR_HOST=address)
            assert reported.returncode == 0 and "1 already posted" in reported.stdout, reported.stderr
            assert len(github.writes()) == writes
    finally:
        experiments.write_text(shipped)


def test_confirmation_jobs_decide_a_pull_requests_verdict_by_the_paired_test(
    repo, fake, tmp_path, github_env
):
    """Each side's best configuration trained again by both trainers (confirmation jobs, labelled
    `hpt-confirms`): the pull request's verdict is the paired test over them, not the studies' trials,
    and no confirmation job is taken for the baseline although it is newer."""
    from scripts.results.confirmation import CONFIRMS_LABEL
    from tests.fakes.job_service import make_trial

    fake.add_job(tuning_job(1, MAIN, MIXED, minute=0))  # alone, the studies' trials say no clear difference
    fake.add_job(tuning_job(3, HEAD, MIXED, pull=5, minute=20))
    number = 10
    for config in ("1", "3"):
        for commit, drop in ((MAIN, 0.0), (HEAD, 0.05)):  # the head's trainer loses 5 points every seed
            confirmation = tuning_job(number, commit, [], minute=30 + number)
            confirmation.labels[CONFIRMS_LABEL] = config
            confirmation.trials.extend(
                make_trial(str(seed), {"seed": str(seed)}, 0.9 + 0.01 * seed - drop) for seed in range(2, 8)
            )
            fake.add_job(confirmation)
            number += 1

    done = reporter(fake, tmp_path)

    assert done.returncode == 0, done.stderr
    section = result(repo, 3)
    assert "**Verdict: worse**" in section
    assert "Wilcoxon signed-rank" in section  # the paired test's method sentence
    assert "`1` at `111111111111`" in section  # main's study, not a newer confirmation job at MAIN
    (check,) = repo.runs_on(HEAD)
    assert check["output"]["title"].startswith("worse")

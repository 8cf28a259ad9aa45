"""GitHub Actions glue: pull-request plans, merge submissions, result reports, `/hpt` commands.

Each subcommand is one step of a workflow. It reads the event from `$GITHUB_EVENT_PATH` (never
from `${{ }}` expressions in the shell), talks to `$GITHUB_API_URL` with `$GITHUB_TOKEN`, and
writes `$GITHUB_OUTPUT` and the job summary.
"""

from __future__ import annotations

import argparse
import os

from scripts import escaping
from scripts.errors import UserError

SUBCOMMANDS = {
    "plan": "pull_request: validate and post the plan of the added or changed experiments",
    "submit": "push to main: submit the added or changed experiments, update the pull request's comment",
    "dispatch": "workflow_dispatch: run one experiment with the dispatch inputs (or plan it, for a dry run)",
    "dry-run": "workflow_dispatch with dry_run: plan one experiment into the job summary, submit nothing",
    "report": "post the best trial of every ended job of this repository, once",
    "command": "issue_comment: answer `/hpt plan`; authorize `/hpt run` for the next job",
    "command-run": "issue_comment: submit an authorized `/hpt run <experiment>`",
    "merged-pr": "print the pull request a commit merged (empty when none)",
    "build-summary": "write the image and the build log link (`build`'s outputs) to the job summary",
    "link-files": "link the uploaded result files ($ARTIFACT_URL) from the comments of $RESULTS",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    steps = parser.add_subparsers(dest="step", required=True, metavar="STEP")
    for name, summary in SUBCOMMANDS.items():
        sub = steps.add_parser(name, help=summary, description=summary)
        if name == "report":
            where = "; with neither given: every project and region experiments.yaml uses"
            sub.add_argument(
                "--project",
                default=os.environ.get("GOOGLE_CLOUD_PROJECT"),
                help="default $GOOGLE_CLOUD_PROJECT" + where,
            )
            sub.add_argument(
                "--region", default=os.environ.get("GOOGLE_CLOUD_REGION"), help="default $GOOGLE_CLOUD_REGION"
            )
            sub.add_argument(
                "--max-age-days",
                type=float,
                default=7.0,
                help="only jobs that ended this recently (default 7; 0: all)",
            )
        if name == "merged-pr":
            sub.add_argument("--commit", default=os.environ.get("GITHUB_SHA"), help="default: $GITHUB_SHA")


def run(args: argparse.Namespace) -> int:
    from scripts.github import events, runner
    from scripts.github.api import GitHubClient
    from scripts.vertex.backend import Backend

    # The one choice of JobService for the whole step: Vertex AI, or the emulator the environment names.
    backend = Backend.from_environment()

    if args.step == "merged-pr":
        from scripts.github.submit_flow import merged_pull_request

        if not args.commit:
            raise UserError("--commit is required outside GitHub Actions")
        number = merged_pull_request(GitHubClient.from_environment(), args.commit)
        runner.set_output("pull_request", str(number or ""))
        print(number or "")
        return 0
    if args.step == "link-files":
        from scripts.github import report_flow

        return report_flow.link_files(
            GitHubClient.from_environment(),
            os.environ.get("RESULTS", ""),
            os.environ.get("ARTIFACT_URL", ""),
            os.environ.get("GITHUB_RUN_ID", ""),
        )
    if args.step == "build-summary":
        runner.append_summary(build_summary(os.environ))
        return 0
    if args.step == "report":
        from scripts.github import report_flow

        name = os.environ.get("GITHUB_EVENT_NAME", "")
        return report_flow.run(
            args.project,
            args.region,
            GitHubClient.from_environment(),
            backend,
            include_unlinked=name == "workflow_dispatch",
            max_age_days=args.max_age_days,
        )

    name, payload = events.load_event()
    event = events.parse_event(name, payload)
    expected = {
        "plan": events.PullRequestEvent,
        "submit": events.PushEvent,
        "dispatch": events.DispatchEvent,
        "dry-run": events.DispatchEvent,
        "command": events.IssueCommentEvent,
        "command-run": events.IssueCommentEvent,
    }[args.step]
    if not isinstance(event, expected):
        raise UserError(f"`github {args.step}` handles {expected.__name__} events, not {name}")
    if args.step == "plan":
        from scripts.github import plan_flow

        return plan_flow.run(event)
    if args.step == "submit":
        from scripts.github import submit_flow

        return submit_flow.run(event, GitHubClient.from_environment(), backend)
    if args.step == "dry-run":
        from scripts.github import dispatch_flow

        return dispatch_flow.run_dry(event)
    if args.step == "dispatch":
        from scripts.github import dispatch_flow

        return dispatch_flow.run(event, os.environ.get("GITHUB_SHA", ""), backend)
    from scripts.github import comment_commands

    if args.step == "command":
        return comment_commands.run_command(event, GitHubClient.from_environment())
    return comment_commands.run_submit(event, GitHubClient.from_environment(), backend)


def build_summary(env: dict[str, str] | os._Environ) -> str:
    """The job summary of a trainer image build, from `build`'s step outputs passed as BUILD_*."""
    image, digest = env.get("BUILD_IMAGE", ""), env.get("BUILD_DIGEST", "")
    log_url = env.get("BUILD_LOG_URL", "")
    lines = ["### Trainer image", ""]
    if image and digest:
        state = "built" if env.get("BUILD_BUILT") == "true" else "already built (its inputs are unchanged)"
        lines.append(f"{escaping.code(f'{image}@{digest}')}: {state}")
    else:
        lines.append(
            "The build did not finish; see the step's log" + (" and the build log below." if log_url else ".")
        )
    if log_url:
        lines += ["", f"[Cloud Build log]({log_url})"]
    return "\n".join(lines)

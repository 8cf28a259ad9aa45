"""GitHub Actions glue: pull-request plans, merge submissions, result reports, `/hpt` commands.

Each subcommand is one step of a workflow. It reads the event from `$GITHUB_EVENT_PATH` (never
from `${{ }}` expressions in the shell), talks to `$GITHUB_API_URL` with `$GITHUB_TOKEN`, and
writes `$GITHUB_OUTPUT` and the job summary. What the step's variables say reaches the flows
through the wiring (`scripts.wiring`): its environment, backend, GitHub client and step.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from scripts import escaping
from scripts.errors import UserError
from scripts.github import events
from scripts.wiring import Wiring

SUBCOMMANDS = {
    "plan": "pull_request: validate and post the plan of the added or changed experiments",
    "submit": "push to main: submit the added or changed experiments, update the pull request's comment",
    "dispatch": "workflow_dispatch: run one experiment with the dispatch inputs (or plan it, for a dry run)",
    "dry-run": "workflow_dispatch with dry_run: plan one experiment into the job summary, submit nothing",
    "report": "post the best trial of every ended job of this repository, once",
    "command": "issue_comment: answer `/hpt plan`; authorize `/hpt run` or `/hpt promote` for the next job",
    "command-run": "issue_comment: submit an authorized `/hpt run <experiment>`",
    "command-promote": "issue_comment: register the best trial of an authorized `/hpt promote <experiment>`",
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
            sub.add_argument("--project", help="default $GOOGLE_CLOUD_PROJECT" + where)
            sub.add_argument("--region", help="default $GOOGLE_CLOUD_REGION")
            sub.add_argument(
                "--max-age-days",
                type=float,
                default=7.0,
                help="only jobs that ended this recently (default 7; 0: all)",
            )
        if name == "merged-pr":
            sub.add_argument("--commit", help="default: $GITHUB_SHA")


def run(args: argparse.Namespace, wiring: Wiring) -> int:
    # The one choice of JobService for the whole step: Vertex AI, or the emulator the environment names.
    env, step, backend = wiring.env, wiring.step, wiring.backend
    # Each step imports its own flow only: the flows bring the GitHub client and the Vertex AI types.

    if args.step == "merged-pr":
        from scripts.github.submit_flow import merged_pull_request  # this step's flow only (see above)

        commit = args.commit or env.get("GITHUB_SHA")
        if not commit:
            raise UserError("--commit is required outside GitHub Actions")
        number = merged_pull_request(wiring.github(), commit)
        step.set_output("pull_request", str(number or ""))
        print(number or "")
        return 0
    if args.step == "link-files":
        from scripts.github import report_flow  # this step's flow only (see above)

        return report_flow.link_files(
            wiring.github(), env.get("RESULTS", ""), env.get("ARTIFACT_URL", ""), env.get("GITHUB_RUN_ID", "")
        )
    if args.step == "build-summary":
        step.append_summary(build_summary(env))
        return 0
    if args.step == "report":
        from scripts.github import report_flow  # this step's flow only (see above)

        return report_flow.run(
            args.project or env.get("GOOGLE_CLOUD_PROJECT"),
            args.region or env.get("GOOGLE_CLOUD_REGION"),
            step,
            wiring.github(),
            backend,
            include_unlinked=env.get("GITHUB_EVENT_NAME", "") == "workflow_dispatch",
            max_age_days=args.max_age_days,
        )

    name, payload = events.load_event(env)
    event = events.parse_event(name, payload)
    expected = {
        "plan": events.PullRequestEvent,
        "submit": events.PushEvent,
        "dispatch": events.DispatchEvent,
        "dry-run": events.DispatchEvent,
        "command": events.IssueCommentEvent,
        "command-run": events.IssueCommentEvent,
        "command-promote": events.IssueCommentEvent,
    }[args.step]
    if not isinstance(event, expected):
        raise UserError(f"`github {args.step}` handles {expected.__name__} events, not {name}")
    if args.step == "plan":
        from scripts.github import plan_flow  # this step's flow only (see above)

        return plan_flow.run(event, step, wiring.github)
    if args.step == "submit":
        from scripts.github import submit_flow  # this step's flow only (see above)

        return submit_flow.run(event, step, wiring.github(), backend)
    if args.step == "dry-run":
        from scripts.github import dispatch_flow  # this step's flow only (see above)

        return dispatch_flow.run_dry(event, step)
    if args.step == "dispatch":
        from scripts.github import dispatch_flow  # this step's flow only (see above)

        return dispatch_flow.run(event, env.get("GITHUB_SHA", ""), step, wiring.github, backend)
    from scripts.github import comment_commands  # this step's flow only (see above)

    if args.step == "command":
        return comment_commands.run_command(event, step, wiring.github())
    if args.step == "command-promote":
        return comment_commands.run_promotion(event, step, wiring.github(), backend)
    return comment_commands.run_submit(event, step, wiring.github(), backend)


def build_summary(env: Mapping[str, str]) -> str:
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

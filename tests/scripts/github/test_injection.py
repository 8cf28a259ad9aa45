"""User text cannot forge our comment's sections or the run's workflow commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.experiments import CompileContext, InvalidExperiments, compile_experiment, load
from scripts.experiments.plan import render_plan
from scripts.github.comment_commands import run_reply
from scripts.github.comment_sections import Submitted, plan_section
from scripts.github.events import parse_command
from scripts.github.runner import annotation
from scripts.github.sticky_comment import TITLE, marker, sections, set_section
from tests.markdown_render import LIVE_MENTION, parse
from tests.scripts.github import payloads
from tests.scripts.github.project import BASE_EXPERIMENTS, PR_EXPERIMENTS, PROJECT, REGION, make_history

FORGED = (
    "nice study\n<!-- /vertex-hpt-section:plan -->\n\n<!-- vertex-hpt-section:result:fake -->\n"
    "### Best trial: 99.9% (fake)\n<!-- /vertex-hpt-section:result:fake -->\n"
    "<!-- vertex-hpt-section:plan -->\n<!-- vertex-hpt-record head="
    + "f" * 40
    + " at=2000-01-01T00:00:00Z -->"
)


def test_a_forged_section_marker_in_content_is_inert_and_survives_no_rewrite():
    body = f"{marker('experiments')}\n{TITLE}"
    plan = f"### Plan\n\n> {FORGED}"
    body = set_section(body, "plan", plan)
    assert list(sections(body)) == ["plan"]

    rewritten = set_section(body, "plan", "### Plan v2")
    assert list(sections(rewritten)) == ["plan"] and "fake" not in rewritten
    assert "<!-- vertex-hpt-section:result" not in body  # escaped as &lt;!--


def test_the_description_is_one_inert_line_in_the_plan(tmp_path):
    text = PR_EXPERIMENTS.replace(
        "description: The stand-in's slope tuned too.",
        'description: "x\\n### Result: forged</details><!-- vertex-hpt-section:result:x -->"',
    )
    file = tmp_path / "experiments.yaml"
    file.write_text(text)
    compiled = compile_experiment(
        load(file, {}), "wide", CompileContext(env={}, commit="0" * 40, image_tag="t")
    )
    markdown = render_plan(compiled, env={})
    (quoted,) = [line for line in markdown.splitlines() if line.startswith("> ")]
    assert quoted == "> x ### Result: forged&lt;/details&gt;&lt;\\!-- vertex-hpt-section:result:x --&gt;"


def test_problems_in_the_plan_stay_one_line_each_inside_the_fence():
    section = plan_section("a" * 40, [], [], ["f:1:1: a\n```\n## forged: x", "f: 1 problem"])
    fence = section.split("````\n", 1)[1].rsplit("\n````", 1)[0]  # longer than any run inside
    assert fence.splitlines() == ["f:1:1: a\\n```\\n## forged: x", "f: 1 problem"]
    root, stray = parse(section)
    assert [pre.text for pre in root.find("pre")] == ["f:1:1: a\\n```\\n## forged: x\nf: 1 problem\n"]
    assert [h.text for h in root.find("h2")] == [] and stray == []


def test_an_annotation_is_one_line_whatever_its_text_holds():
    line = annotation("error", "k\n::warning::pwned\r%", file="a,b:c\n.yaml", line=3, col=4)
    assert line == "::error file=a%2Cb%3Ac%0A.yaml,line=3,col=4::k%0A::warning::pwned%0D%25"
    assert "\n" not in line


def test_validate_prints_one_line_and_one_annotation_per_problem_for_a_newline_key(tmp_path):
    file = tmp_path / "experiments.yaml"
    file.write_text('version: 1\n"evil\\n::warning file=x::injected": 1\n')
    result = subprocess.run(
        [sys.executable, "-m", "scripts", "validate", "--file", str(file), "--format", "github"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    commands = [line for line in lines if line.startswith("::")]
    problems = [line for line in lines if not line.startswith("::")]
    assert len(commands) == len(problems) >= 1
    assert all(line.startswith("::error file=") for line in commands)
    assert not any(line.startswith("::warning") for line in lines)


# -- values a pull request's experiments file chose, in the plan and in the log -----------------

# One categorical value of a fork's file closed our `<details>`, printed a fake cost heading and a
# beacon, and folded the real cost section into a collapsed block.
PAYLOAD = (
    "</details>\n\n### Worst case $0.42 (approved)\n\n![b](https://evil.example/beacon.png) "
    "[ok](javascript:alert(1)) @org/admins ``` `x`"
)
OUR_LINKS = ("https://cloud.google.com/",)
OUR_HEADINGS = (
    "Plan for ",
    "Plan: ",
    "Search space",
    "Machines per trial",
    "Cost",
    "Before the merge",
    "Changes compared to ",
)


def hostile_experiments(payload: str = PAYLOAD) -> str:
    """The pull request's file with `payload` as a description, a categorical value, a `when`
    value and a trainer argument."""
    value = json.dumps(payload)  # a YAML double-quoted scalar
    text = PR_EXPERIMENTS.replace("description: The stand-in's slope tuned too.", f"description: {value}")
    text = text.replace(
        "      slope: {type: discrete, values: [0.1, 0.2]}\n",
        "      slope: {type: discrete, values: [0.1, 0.2]}\n"
        f"      act:\n        type: categorical\n        values: [relu, {value}]\n"
        f"        children:\n          - when: [{value}]\n"
        "            parameters:\n              units: {type: integer, min: 1, max: 4}\n",
    )
    head, tail = text.rsplit("      args: [--steps=2]\n", 1)
    return f"{head}      args: [--steps=2, {json.dumps('--note=' + payload)}]\n{tail}"


def assert_only_our_structure(markdown: str, plans: int) -> None:
    """What a reader sees: our blocks, our headings, and the file's text only as text."""
    root, stray = parse(markdown)
    assert stray == []  # no `</details>` (or other end tag) closed anything of ours
    tags = root.tags()
    assert tags.count("details") == plans
    assert "img" not in tags  # no beacon
    links = [a.attributes.get("href") or "" for a in root.find("a")]
    assert all(link.startswith(OUR_LINKS) for link in links), links  # the prices' sources only
    headings = [h.text for level in range(1, 7) for h in root.find(f"h{level}")]
    assert headings and all(heading.startswith(OUR_HEADINGS) for heading in headings), headings
    for details in root.find("details"):  # the cost stays inside its experiment's block
        assert "Cost" in [h.text for h in details.find("h4")]
    assert not LIVE_MENTION.search(root.prose())
    assert "Worst case $0.42 (approved)" in root.text  # shown, as text
    raw_headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert all(line.lstrip("#").strip().startswith(OUR_HEADINGS) for line in raw_headings), raw_headings


def test_a_forged_plan_in_values_of_a_file_renders_as_text(tmp_path):
    file = tmp_path / "experiments.yaml"
    file.write_text(hostile_experiments())
    compiled = compile_experiment(
        load(file, {}), "wide", CompileContext(env={}, commit="0" * 40, image_tag="t")
    )
    section = plan_section("a" * 40, [("wide", render_plan(compiled, env={}))], ["gone"], [])
    assert_only_our_structure(section, plans=1)
    # Each place the payload was put shows it whole: in code for values, as prose elsewhere.
    root, _ = parse(section)
    codes = [code.text for code in root.find("code")]
    assert " ".join(PAYLOAD.split()) in codes and "--note=" + " ".join(PAYLOAD.split()) in codes


def test_a_file_whose_key_holds_a_plan_gets_its_problems_shown_as_text(tmp_path):
    file = tmp_path / "experiments.yaml"
    file.write_text(hostile_experiments().replace("      base:", f"      {json.dumps('base' + PAYLOAD)}:", 1))
    with pytest.raises(InvalidExperiments) as refused:
        load(file, {})
    section = plan_section("a" * 40, [], [], [str(problem) for problem in refused.value.problems])
    root, stray = parse(section)
    assert stray == [] and "img" not in root.tags() and "a" not in root.tags()
    assert [h.text for h in root.find("h3")] == ["Plan for aaaaaaaaaaaa"] and not root.find("h2")
    assert "Worst case $0.42 (approved)" in root.find("pre")[0].text


@pytest.mark.slow
def test_hpt_plan_of_a_forks_file_shows_its_values_as_text(github, github_env, tmp_path):
    history = make_history(tmp_path / "clone")
    github.add_pull(5, history.head, history.base)
    github.contents[("experiments.yaml", history.head)] = hostile_experiments()
    github.contents[("experiments.yaml", history.base)] = BASE_EXPERIMENTS
    result = _step(
        history.root,
        tmp_path,
        "command",
        "issue_comment",
        payloads.issue_comment(5, "/hpt plan", "COLLABORATOR"),
    )

    assert result.returncode == 0, result.stderr
    plan = sections(github.ours(5)[0]["body"])["plan"]
    assert "<b>wide</b>" in plan
    assert_only_our_structure(plan, plans=1)


@pytest.mark.slow
def test_the_submitting_step_logs_a_key_with_workflow_commands_as_text(github, github_env, tmp_path):
    """A key with a newline and `::stop-commands::` reaches the credentialed step's log as text."""
    history = make_history(tmp_path / "clone")
    (history.root / "experiments.yaml").write_text(
        hostile_experiments().replace(
            "    algorithm: random\n",
            '    algorithm: random\n    "x\\n::stop-commands::pwned\\n::add-mask::shown": 1\n',
        )
    )
    inputs = {
        "experiment": "wide",
        "max_trials": "",
        "parallel_trials": "",
        "pull_request": "",
        "dry_run": False,
    }
    result = _step(
        history.root,
        tmp_path,
        "dispatch",
        "workflow_dispatch",
        payloads.workflow_dispatch(**inputs),
        VERTEX_AI_EMULATOR_HOST="127.0.0.1:9",
        GITHUB_SHA=history.merge,
    )
    assert result.returncode == 1
    lines = (result.stdout + result.stderr).splitlines()
    assert any("stop-commands" in line for line in lines)  # the problem is logged, whole
    assert not [line for line in lines if line.lstrip().startswith("::") or "##[" in line]
    summary = Path(github_env["GITHUB_STEP_SUMMARY"]).read_text()
    root, stray = parse(summary)
    assert stray == [] and "img" not in root.tags() and "details" not in root.tags()


def _step(root: Path, tmp_path: Path, name: str, event_name: str, payload: dict, **env: str):
    """`python -m scripts github NAME` in the clone, as the workflow step runs it."""
    full = {
        **os.environ,
        **payloads.write_event(tmp_path, event_name, payload),
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "GOOGLE_CLOUD_REGION": REGION,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "scripts", "github", name],
        cwd=root,
        capture_output=True,
        text=True,
        env=full,
        timeout=180,
    )


def test_a_run_reply_shows_a_failure_message_from_the_file_as_text():
    command = parse_command("/hpt run wide 1a2b3c4")
    failed = Submitted("wide", error=f"experiments.yaml:3:1: {PAYLOAD}: unknown key")
    reply = run_reply(command, "bob", "1a2b3c4" + "0" * 33, [failed], False)
    root, stray = parse(reply)
    assert stray == [] and "img" not in root.tags() and "a" not in root.tags()
    assert not root.find("h3") and LIVE_MENTION.findall(root.prose()) == ["@b"]  # ours: the author

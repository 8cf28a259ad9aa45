"""User text cannot forge our comment's sections or the run's workflow commands."""

from __future__ import annotations

import subprocess
import sys

from scripts.github import bodies
from scripts.github.comments import marker, sections, set_section
from scripts.github.runner import annotation
from tests.markdown_render import parse

FORGED = (
    "nice study\n<!-- /vertex-hpt-section:plan -->\n\n<!-- vertex-hpt-section:result:fake -->\n"
    "### Best trial: 99.9% (fake)\n<!-- /vertex-hpt-section:result:fake -->\n"
    "<!-- vertex-hpt-section:plan -->\n<!-- vertex-hpt-record head="
    + "f" * 40
    + " at=2000-01-01T00:00:00Z -->"
)


def test_a_forged_section_marker_in_content_is_inert_and_survives_no_rewrite():
    body = f"{marker('experiments')}\n{bodies.header()}"
    plan = f"### Plan\n\n> {FORGED}"
    body = set_section(body, "plan", plan)
    assert list(sections(body)) == ["plan"]

    rewritten = set_section(body, "plan", "### Plan v2")
    assert list(sections(rewritten)) == ["plan"] and "fake" not in rewritten
    assert "<!-- vertex-hpt-section:result" not in body  # escaped as &lt;!--


def test_the_description_is_one_inert_line_in_the_plan(tmp_path):
    from tests.github.project import PR_EXPERIMENTS

    text = PR_EXPERIMENTS.replace(
        "description: The stand-in's slope tuned too.",
        'description: "x\\n### Result: forged</details><!-- vertex-hpt-section:result:x -->"',
    )
    file = tmp_path / "experiments.yaml"
    file.write_text(text)
    from scripts.experiments import CompileContext, compile_experiment, load
    from scripts.experiments.plan import render_plan

    compiled = compile_experiment(
        load(file, {}), "wide", CompileContext(env={}, commit="0" * 40, image_tag="t")
    )
    markdown = render_plan(compiled)
    (quoted,) = [line for line in markdown.splitlines() if line.startswith("> ")]
    assert quoted == "> x \\#\\#\\# Result: forged&lt;/details&gt;&lt;\\!-- vertex-hpt-section:result:x --&gt;"


def test_problems_in_the_plan_stay_one_line_each_inside_the_fence():
    section = bodies.plan_section("a" * 40, [], [], ["f:1:1: a\n```\n## forged: x", "f: 1 problem"])
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

"""Step outputs and the job summary, as the Actions runner reads them back."""

from __future__ import annotations

import re

from scripts.github.runner import Step


def _read_outputs(text: str) -> dict[str, str]:
    """The runner's parser for $GITHUB_OUTPUT: `name=value`, or `name<<DELIM` ... `DELIM`."""
    outputs, lines = {}, iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value = []
            for body in lines:
                if body == delimiter:
                    break
                value.append(body)
            outputs[name] = "\n".join(value)
        else:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def test_single_and_multi_line_outputs(tmp_path):
    env = {"GITHUB_OUTPUT": str(tmp_path / "out")}
    Step(env).set_output("verb", "run")
    Step(env).set_output("plan", "line 1\nline 2")
    assert _read_outputs((tmp_path / "out").read_text()) == {"verb": "run", "plan": "line 1\nline 2"}


def test_a_value_cannot_inject_another_output(tmp_path):
    env = {"GITHUB_OUTPUT": str(tmp_path / "out")}
    hostile = "x\nEOF\nverb=run\nghadelimiter_0000\nverb=run"
    Step(env).set_output("experiment", hostile)
    assert _read_outputs((tmp_path / "out").read_text()) == {"experiment": hostile}
    assert re.search(r"^experiment<<ghadelimiter_[0-9a-f]{16}$", (tmp_path / "out").read_text(), re.MULTILINE)


def test_summary_appends_and_outside_a_runner_prints(tmp_path, capsys):
    env = {"GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    Step(env).append_summary("## one")
    Step(env).append_summary("## two\n")
    assert (tmp_path / "summary.md").read_text() == "## one\n\n## two\n\n"
    Step({}).append_summary("## here")
    assert capsys.readouterr().out == "## here\n\n"

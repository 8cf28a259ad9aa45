"""One `--format` flag on every command that prints results; `--json` kept where it was."""

from __future__ import annotations

import argparse
import json

import pytest

from scripts import cli

# The commands that print results, the formats each takes, and its default (unchanged).
FORMATS = {
    "run": (["table", "json"], "table"),
    "status": (["table", "json"], "table"),
    "list": (["table", "json"], "table"),
    "report": (["markdown", "json"], "markdown"),
    "plan": (["json", "markdown"], "json"),
    "changed": (["table", "json"], "table"),
    "validate": (["text", "github", "json"], "text"),
    "doctor": (["table", "markdown", "json"], "table"),
    "prices": (["table", "json"], "table"),
}


def _parser(name: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m scripts {name}")
    cli._load(name).add_arguments(parser)
    return parser


def _format_action(parser: argparse.ArgumentParser) -> argparse.Action:
    (action,) = [action for action in parser._actions if "--format" in action.option_strings]
    return action


@pytest.mark.parametrize("name", FORMATS)
def test_each_command_that_prints_results_takes_format_with_help_for_every_choice(name):
    choices, default = FORMATS[name]
    action = _format_action(_parser(name))
    assert list(action.choices) == choices and action.default == default
    for choice in choices:
        assert f"{choice}:" in action.help or f"{choice} (default):" in action.help, (name, choice)


@pytest.mark.parametrize("name", ["run", "status"])
def test_json_stays_an_alias_of_format_json(name):
    argv = ["horses-humans", "--backend", "local"] if name == "run" else ["123"]
    parser = _parser(name)
    assert parser.parse_args([*argv, "--json"]).format == "json"
    assert parser.parse_args([*argv, "--format", "json"]).format == "json"
    assert parser.parse_args(argv).format == "table"


def test_changed_still_takes_its_older_name_text():
    args = _parser("changed").parse_args(["--base", "main", "--format", "text"])
    assert args.format == "table"


def test_an_unknown_format_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["plan", "horses-humans", "--format", "yaml"])
    assert exited.value.code == 2
    assert "invalid choice: 'yaml'" in capsys.readouterr().err


def test_validate_json_lists_the_experiments_or_every_located_problem(tmp_path, capsys):
    assert cli.main(["validate", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is True and "horses-humans" in report["experiments"] and report["problems"] == []

    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nexperiments:\n  x: {metric: 3}\n")
    assert cli.main(["validate", "--file", str(bad), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False and report["problems"]
    first = report["problems"][0]
    assert set(first) == {"file", "line", "column", "field", "message"}
    assert (first["file"], first["line"]) == (str(bad), 3)

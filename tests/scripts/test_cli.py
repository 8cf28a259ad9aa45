"""The `python -m scripts` dispatcher."""

from __future__ import annotations

import subprocess
import sys

from scripts import cli


def test_every_registered_command_has_a_help_line_and_a_module_with_the_interface():
    for name, command in cli.COMMANDS.items():
        assert command.help and "\n" not in command.help, name
        module = cli._load(name)
        assert callable(module.add_arguments) and callable(module.run), name


def test_unknown_command_lists_the_commands(capsys):
    assert cli.main(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'no-such-command'" in err
    assert "validate" in err


def test_help_runs_without_importing_heavy_libraries_or_any_command(repo_root):
    probe = (
        "import sys; from scripts import cli; cli.main(['--help']);"
        "heavy = [m for m in ('tensorflow', 'google.cloud.aiplatform_v1', 'optuna') if m in sys.modules];"
        "heavy += [m for m in sys.modules if m.startswith('scripts.commands')];"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=repo_root, capture_output=True, text=True, check=True
    ).stdout
    assert "HEAVY []" in out
    assert "usage: python -m scripts COMMAND" in out

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
    assert "usage: python -m scripts [--version] COMMAND" in out


def test_a_misspelt_command_suggests_the_closest_one(capsys):
    assert cli.main(["stauts", "123"]) == 2
    assert "unknown command 'stauts' (did you mean 'status'?)" in capsys.readouterr().err


def test_version_names_the_project_its_version_and_the_commit(capsys, repo_root):
    import tomllib

    from scripts import git

    assert cli.main(["--version"]) == 0
    out = capsys.readouterr().out.strip()
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    assert out.startswith(f"{project['name']} {project['version']}")
    commit = git.head_commit()
    assert commit is None or out.endswith(f"(commit {commit[:12]})")

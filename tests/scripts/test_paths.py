"""The default experiments file, named once for the commands and the workflows' flows alike."""

from __future__ import annotations

import argparse

from scripts.commands.experiment_args import add_file_argument
from scripts.paths import EXPERIMENTS_FILE, REPO_ROOT, experiments_file


def test_under_the_repository_the_file_is_named_as_problems_show_it(monkeypatch):
    # `experiments.yaml:LINE:COL`: what editors and GitHub annotations resolve.
    monkeypatch.chdir(REPO_ROOT)
    assert experiments_file() == "experiments.yaml"


def test_from_anywhere_else_it_is_named_in_full(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert experiments_file() == str(EXPERIMENTS_FILE)
    monkeypatch.chdir(REPO_ROOT / "scripts")  # not `../experiments.yaml`: an annotation would not resolve it
    assert experiments_file() == str(EXPERIMENTS_FILE)


def test_the_commands_file_option_defaults_to_the_same_name(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    parser = argparse.ArgumentParser()
    add_file_argument(parser)
    assert parser.parse_args([]).file == experiments_file() == "experiments.yaml"

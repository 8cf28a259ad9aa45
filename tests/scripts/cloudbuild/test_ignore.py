"""Ignore-file semantics: `.gcloudignore` as git applies gitignore rules (checked against git itself),
`.dockerignore` as Docker's pattern matcher applies them (cases from Docker's documentation)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scripts.cloudbuild import ignore
from scripts.cloudbuild.ignore import DockerignoreRules, GitignoreRules

# Patterns that exercise every gitignore rule the module claims, and paths to decide.
GITIGNORE = """\
# comment
*.log
!keep.log
build/
/top.txt
docs/**/draft.md
cache
secret-?.json
data/*
!data/small.csv
out/
!out/wanted.txt
logs/**
tmp**x
notes[
"""
PATHS = [
    "a.log",
    "deep/er/b.log",
    "keep.log",
    "deep/keep.log",
    "build/x.o",
    "src/build/y.o",
    "build.txt",
    "top.txt",
    "sub/top.txt",
    "docs/draft.md",
    "docs/a/b/draft.md",
    "docs/a/final.md",
    "cache",
    "cache/item",
    "src/cache/item",
    "secret-1.json",
    "secret-12.json",
    "data/big.csv",
    "data/small.csv",
    "data/sub/file.csv",
    "out/wanted.txt",
    "out/other.txt",
    "logs/today/x.txt",
    "logs",
    "src/main.py",
    # `**` not next to a `/` is a `*` (it stops at `/`); an unclosed `[` matches nothing.
    "tmpax",
    "sub/tmpzx",
    "tmp/x",
    "tmpa/bx",
    "notes[",
]


def _git_ignored(tmp_path: Path, patterns: str, paths: list[str]) -> set[str]:
    repo = tmp_path / "gitcheck"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / ".gitignore").write_text(patterns)
    # check-ignore decides paths without needing them to exist (as files; leading parts as directories).
    result = subprocess.run(
        ["git", "check-ignore", "--stdin"], cwd=repo, input="\n".join(paths), capture_output=True, text=True
    )
    assert result.returncode in (0, 1), result.stderr
    return set(result.stdout.split())


def test_gcloudignore_rules_decide_like_git(tmp_path):
    rules = GitignoreRules(GITIGNORE.splitlines())
    ours = {path for path in PATHS if rules.ignored(path, False)}
    by_git = _git_ignored(tmp_path, GITIGNORE, PATHS)
    assert ours == by_git
    assert {"deep/er/b.log", "src/build/y.o", "docs/a/b/draft.md", "out/wanted.txt"} <= by_git
    assert not {"keep.log", "sub/top.txt", "data/small.csv", "src/main.py"} & by_git
    assert {"tmpax", "sub/tmpzx"} <= by_git and not {"tmp/x", "tmpa/bx", "notes["} & by_git


def test_a_gcloudignore_line_that_is_no_pattern_is_named_with_its_file_and_line(tmp_path):
    (tmp_path / ".gitignore").write_text("*.secret\n")
    (tmp_path / ".gcloudignore").write_text("# what gcloud skips\n#!include:.gitignore\nbuild/\nkeep\\\n")
    with pytest.raises(ignore.IgnoreFileError) as raised:
        ignore.load(tmp_path)
    assert str(raised.value).startswith(".gcloudignore:4: 'keep\\\\' is not a gitignore pattern")


def test_gitignore_cannot_reinclude_under_an_excluded_directory_but_dockerignore_can():
    lines = ["out/", "!out/wanted.txt"]
    assert GitignoreRules(lines).ignored("out/wanted.txt")
    assert not DockerignoreRules(["out", "!out/wanted.txt"]).ignored("out/wanted.txt")


@pytest.mark.parametrize(
    ("patterns", "path", "ignored"),
    [
        # Every pattern is anchored at the root of the context.
        (["*.md"], "README.md", True),
        (["*.md"], "docs/README.md", False),
        (["**/*.md"], "docs/deep/README.md", True),
        (["**/*.md"], "README.md", True),
        (["*/temp*"], "somedir/temporary.txt", True),
        (["*/temp*"], "temp.txt", False),
        (["*/*/temp*"], "a/b/temp", True),
        (["temp?"], "temp1", True),
        (["temp?"], "temp12", False),
        # A leading slash and ./ are cleaned away; a directory excludes everything below it.
        (["/secrets"], "secrets/key.json", True),
        (["./build"], "build/out/x", True),
        # Later lines win: exceptions, and exclusions after exceptions (Docker's own examples).
        (["*.md", "!README.md"], "README.md", False),
        (["*.md", "!README*.md", "README-secret.md"], "README-secret.md", True),
        (["*.md", "README-secret.md", "!README*.md"], "README-secret.md", False),
        # The allowlist idiom.
        (["*", "!trainer"], "trainer/task.py", False),
        (["*", "!trainer"], "tests/test_x.py", True),
        (["*", "!trainer", "**/__pycache__"], "trainer/__pycache__/task.cpython-311.pyc", True),
        (["# only a comment", ""], "anything", False),
    ],
)
def test_dockerignore_rules(patterns, path, ignored):
    assert DockerignoreRules(patterns).ignored(path) is ignored


def test_gcloudignore_wins_over_dockerignore_and_can_include_gitignore(tmp_path):
    (tmp_path / ".dockerignore").write_text("*\n")
    (tmp_path / ".gitignore").write_text("*.secret\n")
    (tmp_path / ".gcloudignore").write_text("#!include:.gitignore\n.git/\n")
    rules = ignore.load(tmp_path)
    assert rules.name == ".gcloudignore"
    assert rules.ignored("key.secret", False) and rules.ignored(".git/HEAD", False)
    assert not rules.ignored("trainer/task.py", False)


def test_without_ignore_files_everything_is_kept(tmp_path):
    rules = ignore.load(tmp_path)
    assert rules.path is None and not rules.ignored(".git/HEAD", False)


def test_the_walk_skips_a_directory_only_when_nothing_below_it_can_be_kept():
    rules = DockerignoreRules(["*", "!trainer", "!requirements/trainer.txt"])
    assert not rules.may_reinclude(".venv")
    assert rules.may_reinclude("requirements")
    assert DockerignoreRules(["*", "!**/keep"]).may_reinclude(".venv")

"""`build --source DIR` of a commit someone else wrote (`/hpt run`'s `build` job): the files our
code reads from it must be its own. A symlink or an include that points out of the source (at
`/proc/self/environ`, the runner's credentials file) would print what it reads into the
public log, in a step that holds the builder's token; it is refused, naming no content."""

from __future__ import annotations

import pytest

from scripts import cli
from tests.scripts.cloudbuild.conftest import BUCKET, PROJECT, git

SECRET = "ACTIONS_ID_TOKEN_REQUEST_TOKEN=eyJ-secret-of-the-runner"


def _build(repo) -> int:
    return cli.main(["build", "--project", PROJECT, "--bucket", f"gs://{BUCKET}", "--source", str(repo)])


@pytest.fixture
def outside(tmp_path):
    """A file outside the source with something the log must never show."""
    path = tmp_path / "runner-environ"
    path.write_text(f"{SECRET}\0PATH=/usr/bin\n")
    return path


@pytest.mark.parametrize("name", ["cloudbuild.yaml", ".dockerignore", ".gcloudignore"])
def test_a_build_file_that_links_out_of_the_source_is_refused(git_repo, google_http, outside, name, capsys):
    (git_repo / name).unlink(missing_ok=True)
    (git_repo / name).symlink_to(outside)
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "link out")

    assert _build(git_repo) == 1
    err = capsys.readouterr().err
    assert f"{name} is a link to a file outside the source" in err
    assert "eyJ-secret" not in err


def test_an_include_out_of_the_source_is_refused(git_repo, google_http, outside, capsys):
    (git_repo / ".gcloudignore").write_text(f"#!include:../{outside.name}\n.hpt/\n")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "include out")

    assert _build(git_repo) == 1
    err = capsys.readouterr().err
    assert ".gcloudignore:1: includes a file outside the source" in err
    assert "eyJ-secret" not in err

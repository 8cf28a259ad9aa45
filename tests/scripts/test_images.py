"""scripts.images: which image a commit runs (the `image-ref` command: commands/test_image_ref.py)."""

from __future__ import annotations

import shutil

from scripts import git as scripts_git
from scripts import images
from tests.scripts.cloudbuild.conftest import git


def test_the_content_tag_follows_the_build_inputs_only(git_repo):
    first = images.content_tag("HEAD", git_repo)
    assert first.startswith("inputs-") and len(first) == len("inputs-") + 16

    (git_repo / "experiments.yaml").write_text("experiments: {changed: {}}\n")
    git(git_repo, "commit", "-q", "-am", "experiments only")
    assert images.content_tag("HEAD", git_repo) == first
    assert images.content_tag("HEAD~1", git_repo) == first

    (git_repo / "trainer" / "task.py").write_text("print('a new trainer')\n")
    git(git_repo, "commit", "-q", "-am", "trainer")
    assert images.content_tag("HEAD", git_repo) != first
    assert images.content_tag("HEAD~1", git_repo) == first


def test_a_copy_without_git_gets_the_same_tag_as_the_commit(git_repo, tmp_path):
    copy = tmp_path / "export"
    unversioned = shutil.ignore_patterns(".git", "__pycache__", "gha-creds-*", ".hpt")
    shutil.copytree(git_repo, copy, ignore=unversioned)
    assert scripts_git.head_commit(copy) is None
    assert images.content_tag("HEAD", copy) == images.content_tag("HEAD", git_repo)


def test_dirty_build_inputs_lists_modified_and_new_input_files_only(git_repo):
    assert images.dirty_build_inputs(git_repo) == []
    (git_repo / "trainer" / "task.py").write_text("changed\n")
    (git_repo / "trainer" / "new.py").write_text("new\n")
    (git_repo / "experiments.yaml").write_text("not an input\n")
    assert images.dirty_build_inputs(git_repo) == ["trainer/new.py", "trainer/task.py"]


def test_image_uri_is_an_artifact_registry_reference():
    assert images.image_uri("us-central1", "proj", "repo", "trainer", "inputs-00") == (
        "us-central1-docker.pkg.dev/proj/repo/trainer:inputs-00"
    )

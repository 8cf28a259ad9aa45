"""`python -m scripts image-ref`: the content-tagged image of a commit, or one line saying what is wrong."""

from __future__ import annotations

from scripts import cli, images
from tests.scripts.cloudbuild.conftest import _no_ambient_settings  # noqa: F401 (autouse: no ambient settings)


def test_image_ref_prints_the_content_tagged_image_of_a_commit(capsys, monkeypatch):
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "proj")
    assert cli.main(["image-ref", "--region", "europe-west4"]) == 0
    expected = images.image_uri("europe-west4", "proj", "hpt", "trainer", images.content_tag("HEAD"))
    assert capsys.readouterr().out == expected + "\n"

    assert cli.main(["image-ref", "--commit", "HEAD", "--tag-only"]) == 0
    assert capsys.readouterr().out == images.content_tag("HEAD") + "\n"


def test_image_ref_rejects_an_unknown_commit_in_one_line(capsys):
    assert cli.main(["image-ref", "--commit", "no-such-revision", "--tag-only"]) == 1
    err = capsys.readouterr().err
    assert err == "error: --commit 'no-such-revision' is not a commit of this repository\n"


def test_image_ref_without_a_project_says_what_to_set(capsys):
    assert cli.main(["image-ref"]) == 1
    err = capsys.readouterr().err
    assert err == "error: missing --project (or $GOOGLE_CLOUD_PROJECT) (or use --tag-only)\n"

"""Whose trainer `/hpt run` tunes, the image the build job hands on, and the command's flags."""

from __future__ import annotations

import pytest

from scripts import git as scripts_git
from scripts import images
from scripts.cloudbuild.registry import ImageName
from scripts.errors import UserError
from scripts.experiments import CompileContext, compile_experiment
from scripts.experiments.loader import load_text
from scripts.github.api import GitHubClient
from scripts.github.events import parse_command
from scripts.github.trainer_image import BuiltImage, built_image, choose, content_tag_at, run_built_image
from tests.scripts.cloudbuild.conftest import git
from tests.scripts.github.fake_github import tree_of
from tests.scripts.github.project import BASE_EXPERIMENTS

HEAD = "c" * 40
TAG = "inputs-0123456789abcdef"
DIGEST = "sha256:" + "e" * 64
NAME = ImageName("us-central1", "demo-project", "hpt", "trainer")
ENV = {"GOOGLE_CLOUD_PROJECT": "demo-project", "HPT_STAGING_BUCKET": "gs://demo-bucket"}


def test_the_command_carries_its_flags_in_any_order_once_each():
    command = parse_command("/hpt run wide 1a2b3c4 --fork-trainer --baseline")
    assert (command.baseline, command.fork_trainer, command.force) == (True, True, False)
    assert command.text == "/hpt run wide 1a2b3c4 --baseline --fork-trainer"
    for body in ("/hpt run wide 1a2b3c4 --baseline --baseline", "/hpt run wide 1a2b3c4 --fork"):
        with pytest.raises(UserError, match="malformed command"):
            parse_command(body)


def test_a_forks_trainer_runs_only_when_the_command_asks():
    plain, asked = (
        parse_command("/hpt run wide ccccccc"),
        parse_command("/hpt run wide ccccccc --fork-trainer"),
    )
    assert choose(plain, HEAD, from_fork=False).commit == HEAD
    assert choose(asked, HEAD, from_fork=True).commit == HEAD
    default = choose(plain, HEAD, from_fork=True)
    assert default.commit == "" and "`--fork-trainer`" in default.note


@pytest.mark.parametrize(
    "env",
    [
        {},  # the build job failed or did not run
        {"HPT_TRAINER_IMAGE": f"{NAME.reference(TAG)}", "HPT_TRAINER_DIGEST": "sha256:short"},
        {"HPT_TRAINER_IMAGE": f"{NAME.reference('latest')}", "HPT_TRAINER_DIGEST": DIGEST},
        {"HPT_TRAINER_IMAGE": "docker.io/x/y:inputs-0123456789abcdef", "HPT_TRAINER_DIGEST": DIGEST},
    ],
)
def test_no_image_of_the_commit_is_no_job(env):
    with pytest.raises(UserError, match=f"the trainer image of {HEAD[:12]} was not built"):
        built_image(env, HEAD)


def _compiled(text: str):
    experiments = load_text(text, "experiments.yaml", ENV)
    return [compile_experiment(experiments, "quick", CompileContext(env=ENV, commit=HEAD, image_tag=TAG))]


def test_the_built_image_runs_by_its_digest_in_every_pool():
    image = built_image({"HPT_TRAINER_IMAGE": NAME.reference(TAG), "HPT_TRAINER_DIGEST": DIGEST}, HEAD)
    compiled = _compiled(BASE_EXPERIMENTS)
    run_built_image(compiled, image)
    pools = compiled[0].job.trial_job_spec.worker_pool_specs
    assert [pool.container_spec.image_uri for pool in pools] == [NAME.by_digest(DIGEST)]


def test_an_experiment_whose_image_is_not_the_built_one_is_refused():
    """The default branch's experiment names its own image: the commit's trainer is not in it."""
    text = BASE_EXPERIMENTS.replace(
        "    trainer:\n      args: [--steps=2]\n",
        "    trainer:\n      args: [--steps=2]\n"
        "    image: {uri: 'us-docker.pkg.dev/demo-project/other/serving:1'}\n",
    )
    compiled = _compiled(text)
    with pytest.raises(
        UserError, match="runs us-docker.pkg.dev/demo-project/other/serving:1, not the image built"
    ):
        run_built_image(compiled, BuiltImage(NAME, TAG, DIGEST))


@pytest.fixture
def odd_commit(git_repo):
    """A commit whose build inputs git lists in every way it can: paths it quotes, a symlink, a
    submodule, beside files whose names only begin like a build input's."""
    trainer = git_repo / "trainer"
    (trainer / 'é t"a\\b.py').write_text("1\n")
    (trainer / "tab\tname.py").write_text("2\n")
    (trainer / "deep" / "er").mkdir(parents=True)
    (trainer / "deep" / "er" / "x.py").write_text("3\n")
    (trainer / "deep-x.py").write_text("4\n")
    (trainer / "link").symlink_to("task.py")
    (git_repo / "trainer2").mkdir()
    (git_repo / "trainer2" / "x.py").write_text("5\n")
    (git_repo / "Dockerfile.dev").write_text("FROM scratch\n")
    git(git_repo, "add", "-A")
    git(git_repo, "update-index", "--add", "--cacheinfo", f"160000,{'a' * 40},trainer/vendored")
    git(git_repo, "commit", "-q", "-m", "odd paths")
    return git_repo, git(git_repo, "rev-parse", "HEAD")


def test_the_content_tag_from_githubs_tree_is_the_one_git_gives(odd_commit, github):
    """`/hpt plan` has no clone: it hashes GitHub's listing of the head's tree into the same tag."""
    repo, commit = odd_commit
    github.trees[commit] = tree_of(repo, commit)
    listed = scripts_git.tree_listing(commit, images.BUILD_INPUTS, repo)
    assert '\t"trainer/\\303\\251 t\\"a\\\\b.py"\n' in listed and "\ttrainer/vendored\n" in listed
    assert "trainer2" not in listed and "Dockerfile.dev" not in listed
    files = [
        (entry["sha"], entry["path"]) for entry in github.trees[commit]["tree"] if entry["type"] != "tree"
    ]
    assert images.tree_listing(files) == listed

    client = GitHubClient(github.repository, github.token, github.base_url)
    assert content_tag_at(client, commit) == images.content_tag(commit, repo)
    assert content_tag_at(client, commit) != images.content_tag("HEAD~1", repo)


def test_a_tree_github_lists_in_part_or_not_at_all_has_no_content_tag(odd_commit, github, capsys):
    repo, commit = odd_commit
    client = GitHubClient(github.repository, github.token, github.base_url)
    assert content_tag_at(client, commit) is None  # not found
    assert f"the tree of {commit[:12]} could not be read" in capsys.readouterr().err
    github.trees[commit] = tree_of(repo, commit, truncated=True)
    assert content_tag_at(client, commit) is None
    assert f"GitHub listed the tree of {commit[:12]} only in part" in capsys.readouterr().err

"""cloudbuild.yaml: valid for Cloud Build's schema, and ordered so nothing is pushed before the smoke test."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scripts.cloudbuild import config

REPO_ROOT = Path(__file__).resolve().parents[3]
CLOUDBUILD = REPO_ROOT / "cloudbuild.yaml"
IMAGE = "${_REGION}-docker.pkg.dev/$PROJECT_ID/${_REPOSITORY}/${_IMAGE}"


@pytest.fixture(scope="module")
def document() -> dict:
    return yaml.safe_load(CLOUDBUILD.read_text())


def test_cloudbuild_yaml_passes_the_cloudbuild_schema():
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.cloudbuild", str(CLOUDBUILD)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_built_then_run_then_pushed_to_artifact_registry(document):
    ids = [step["id"] for step in document["steps"]]
    assert ids == ["check-substitutions", "pull-cache", "build", "smoke-test"]
    # Pushing happens only through `images`, after every step succeeded: no step pushes.
    assert not [
        step
        for step in document["steps"]
        if "push" in step.get("args", []) or "docker push" in " ".join(step.get("args", []))
    ]
    assert "gcr.io/$PROJECT_ID" not in CLOUDBUILD.read_text()  # Container Registry is retired


def test_only_tags_that_never_move_are_pushed(document):
    # The commit and the content tag name one set of inputs each; `latest` would be moved by every
    # build, and a repository with immutable tags refuses to move it.
    assert document["images"] == [f"{IMAGE}:$COMMIT_SHA", f"{IMAGE}:${{_CONTENT_TAG}}"]
    assert ":latest" not in CLOUDBUILD.read_text()
    build = next(step for step in document["steps"] if step["id"] == "build")
    assert re.findall(r'--tag="([^"]+)"', build["args"][-1]) == ["$$IMAGE:$$COMMIT", "$$IMAGE:$$CONTENT_TAG"]
    assert f"IMAGE={IMAGE}" in build["env"]


def _run_step(document: dict, step_id: str, values: dict[str, str], tmp_path: Path) -> tuple[int, str, str]:
    """Run a bash step as Cloud Build would: substitutions expanded in its script and its `env`,
    with a stand-in `docker` on PATH that prints each command line it is given, one word a line."""
    step = next(step for step in document["steps"] if step["id"] == step_id)
    values = {**document["substitutions"], "PROJECT_ID": "p", "COMMIT_SHA": "c" * 40, **values}
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    docker = bin_dir / "docker"
    docker.write_text('#!/bin/sh\necho "docker $#"; for word in "$@"; do echo "$word"; done\n')
    docker.chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        **dict(_as_cloud_build_runs_it(item, values).split("=", 1) for item in step.get("env", [])),
    }
    script = _as_cloud_build_runs_it(step["args"][-1], values)
    result = subprocess.run(
        [step["entrypoint"], *step["args"][:-1], script],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    return result.returncode, result.stdout, result.stderr


PREVIOUS = "us-central1-docker.pkg.dev/p/hpt/trainer@sha256:" + "a" * 64


def test_the_layer_cache_is_a_previous_image_named_by_digest_or_none(document, tmp_path):
    # No previous image: no pull, and no --cache-from at all.
    code, out, err = _run_step(document, "pull-cache", {"_CACHE_FROM": ""}, tmp_path)
    assert code == 0 and "docker" not in out and "from scratch" in out + err
    code, out, err = _run_step(document, "build", {"_CACHE_FROM": ""}, tmp_path)
    assert code == 0, err
    assert not [word for word in out.splitlines() if word.startswith("--cache-from")]
    assert f"--tag=us-central1-docker.pkg.dev/p/hpt/trainer:{'c' * 40}" in out.splitlines()
    assert f"--build-arg=REVISION={'c' * 40}" in out.splitlines()

    # The newest image a successful build of this project pushed, pulled and used by its digest.
    code, out, _ = _run_step(document, "pull-cache", {"_CACHE_FROM": PREVIOUS}, tmp_path)
    assert code == 0 and out.splitlines()[:3] == ["docker 2", "pull", PREVIOUS]
    code, out, _ = _run_step(document, "build", {"_CACHE_FROM": PREVIOUS}, tmp_path)
    assert code == 0 and f"--cache-from={PREVIOUS}" in out.splitlines()


def test_substitutions_reach_the_build_script_as_data_not_as_code(document, tmp_path):
    hostile = "https://github.com/o/r$(touch pwned)`touch pwned`"
    code, out, err = _run_step(document, "build", {"_SOURCE_URL": hostile}, tmp_path)
    assert code == 0, err
    assert f"--build-arg=SOURCE={hostile}" in out.splitlines()
    assert not (tmp_path / "pwned").exists()


def test_the_smoke_test_runs_the_image_entrypoint_on_synthetic_data_and_checks_the_metric(document):
    script = next(step for step in document["steps"] if step["id"] == "smoke-test")["args"][-1]
    assert f"{IMAGE}:$COMMIT_SHA" in script
    assert "--entrypoint" not in script  # the image's own entry point, as on Vertex
    assert re.search(r"--env CLOUD_ML_HP_METRIC_FILE=/\S+", script)
    flags = set(re.findall(r"--(\w+)=", script))
    assert {"learning_rate", "momentum", "num_units", "epochs", "batch_size", "data"} <= flags
    assert "--epochs=1" in script and "--data=synthetic" in script
    assert "grep -q '\"accuracy\"'" in script


def _smoke_command(document: dict) -> tuple[dict[str, str], list[str], str]:
    """The smoke test's `docker run`: its environment, the trainer's arguments, the grep pattern."""
    script = next(step for step in document["steps"] if step["id"] == "smoke-test")["args"][-1]
    script = script.replace("\\\n", " ")
    run = next(line for line in script.splitlines() if line.strip().startswith("docker run"))
    tokens = shlex.split(run)[2:]
    env: dict[str, str] = {}
    while tokens[0].startswith("--"):
        option, value = tokens[0], tokens[1]
        if option == "--env":
            key, _, val = value.partition("=")
            env[key] = val
        tokens = tokens[2:]
    assert "docker.pkg.dev" in tokens[0]
    check = next(line for line in script.splitlines() if "grep -q" in line)
    pattern = shlex.split(check.split("grep -q", 1)[1])[0]
    return env, tokens[1:], pattern


@pytest.mark.slow
def test_the_smoke_test_command_reports_a_metric_with_the_real_trainer(document, tmp_path):
    """The smoke step's own flags and environment, run against trainer/ here (CPU TensorFlow)."""
    env, args, pattern = _smoke_command(document)
    env = {key: value.replace("/tmp/smoke", str(tmp_path)) for key, value in env.items()}
    result = subprocess.run(
        [sys.executable, "-m", "trainer.task", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **env, "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = Path(env["CLOUD_ML_HP_METRIC_FILE"]).read_text()
    assert pattern in metrics
    (last,) = [json.loads(line) for line in metrics.splitlines() if line.strip()][-1:]
    assert 0.0 <= float(last["accuracy"]) <= 1.0 and last["trial"] == "smoke"


def test_every_substitution_has_a_default_and_is_used(document):
    text = CLOUDBUILD.read_text().split("steps:", 1)[1]
    for name in document["substitutions"]:
        assert f"${{{name}}}" in text, f"{name} is declared but not used"
    used = set(re.findall(r"\$\{(_\w+)\}", text))
    assert used <= set(document["substitutions"])
    assert set(config.Target("p", "r", "repo", "img", "t", "c").substitutions()) - {"COMMIT_SHA"} == set(
        document["substitutions"]
    )


def test_timeout_machine_and_logging_suit_a_gpu_image(document):
    assert document["timeout"] == "3600s"
    assert document["options"]["machineType"] == "E2_HIGHCPU_8"
    assert document["options"]["logging"] == "CLOUD_LOGGING_ONLY"


def _expand(text: str, values: dict[str, str]) -> str:
    """`text` with `$NAME` / `${NAME}` replaced as Cloud Build does, longest names first."""
    for name in sorted(values, key=len, reverse=True):
        text = text.replace("${" + name + "}", values[name]).replace("$" + name, values[name])
    return text


def test_loading_sets_source_substitutions_and_build_tags():
    target = config.Target(
        "demo", "europe-west4", "repo", "img", "inputs-0123456789abcdef", "c" * 40, "https://github.com/o/r"
    )
    build = config.load_build(CLOUDBUILD, target, "bucket", "src.tar.gz")
    assert build.source.storage_source.bucket == "bucket"
    assert build.source.storage_source.object_ == "src.tar.gz"
    assert build.substitutions["_REGION"] == "europe-west4" and build.substitutions["COMMIT_SHA"] == "c" * 40
    assert list(build.tags) == ["hpt-trainer", "inputs-0123456789abcdef"]
    assert _expand(build.images[1], {"PROJECT_ID": "demo", **build.substitutions}) == (
        "europe-west4-docker.pkg.dev/demo/repo/img:inputs-0123456789abcdef"
    )
    assert build.substitutions["_CACHE_FROM"] == ""  # no previous image given: no cache


def test_an_undeclared_substitution_is_refused(tmp_path):
    path = tmp_path / "cloudbuild.yaml"
    path.write_text("steps:\n  - name: ubuntu\n    args: [echo, hi]\nsubstitutions:\n  _REGION: x\n")
    with pytest.raises(
        config.ConfigError, match=r"declare _CACHE_FROM, _CONTENT_TAG, _IMAGE, _REPOSITORY, _SOURCE_URL"
    ):
        config.load_build(path, config.Target("p", "r", "repo", "img", "t", "c"), "b", "o")


def _as_cloud_build_runs_it(script: str, values: dict[str, str]) -> str:
    """Cloud Build's substitution: `$$` is a literal `$`, `$NAME` and `${NAME}` are values."""
    return re.sub(
        r"\$\$|\$\{(\w+)\}|\$(\w+)",
        lambda m: "$" if m.group(0) == "$$" else values[m.group(1) or m.group(2)],
        script,
    )


@pytest.mark.parametrize(
    ("commit", "tag", "cache_from", "refused"),
    [
        ("0123456789abcdef0123456789abcdef01234567", "inputs-0123456789abcdef", "", None),
        ("0123456789abcdef0123456789abcdef01234567", "inputs-0123456789abcdef", PREVIOUS, None),
        ("", "inputs-0123456789abcdef", "", "COMMIT_SHA"),
        ("0123456789abcdef0123456789abcdef01234567", "unset", "", "_CONTENT_TAG"),
        # A cache named by a tag could be moved under the build: only a digest is taken.
        ("0123456789abcdef0123456789abcdef01234567", "inputs-0123456789abcdef", "x/y:latest", "_CACHE_FROM"),
    ],
)
def test_the_first_step_refuses_a_build_without_commit_and_content_tag(
    document, tmp_path, commit, tag, cache_from, refused
):
    values = {"COMMIT_SHA": commit, "_CONTENT_TAG": tag, "_CACHE_FROM": cache_from}
    code, _, err = _run_step(document, "check-substitutions", values, tmp_path)
    if refused is None:
        assert code == 0, err
    else:
        assert code == 1 and err.startswith(refused)

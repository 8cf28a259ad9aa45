"""The Dockerfile, read as Docker reads it: lint, entry point, layer order, and what it installs.

No Docker engine runs here, so the layer-cache claims are checked from the instruction order:
Docker reuses a layer until the first instruction whose inputs changed, and rebuilds from there.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "Dockerfile"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    line: int


def parse(text: str) -> list[Instruction]:
    """Instructions with their continuation lines joined and comments dropped."""
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue
        if not pending:
            start = number
        pending.append(stripped[:-1].strip() if stripped.endswith("\\") else stripped)
        if not stripped.endswith("\\"):
            keyword, _, arguments = " ".join(pending).partition(" ")
            instructions.append(Instruction(keyword.upper(), arguments.strip(), start))
            pending = []
    return instructions


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse(DOCKERFILE.read_text())


def _index(instructions: list[Instruction], keyword: str, pattern: str) -> int:
    matches = [
        n
        for n, instruction in enumerate(instructions)
        if instruction.keyword == keyword and re.search(pattern, instruction.arguments)
    ]
    assert len(matches) == 1, f"expected one {keyword} matching {pattern!r}, found {len(matches)}"
    return matches[0]


def test_hadolint_finds_nothing_beyond_justified_ignores():
    config = REPO_ROOT / ".hadolint.yaml"
    command = [str(BIN / "hadolint"), "--config", str(config), "--format", "json", str(DOCKERFILE)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert json.loads(result.stdout or "[]") == [] and result.returncode == 0, result.stdout + result.stderr
    settings = yaml.safe_load(config.read_text())
    comments = "\n".join(line for line in config.read_text().splitlines() if line.lstrip().startswith("#"))
    for rule in settings.get("ignored") or []:
        assert rule in comments, f"{rule} is ignored without a reason in .hadolint.yaml"


def test_the_entrypoint_runs_the_trainer_module(instructions):
    (entrypoint,) = [i for i in instructions if i.keyword == "ENTRYPOINT"]
    assert json.loads(entrypoint.arguments) == ["python", "-m", "trainer.task"]
    assert not [i for i in instructions if i.keyword == "CMD"]


def test_a_trainer_change_rebuilds_only_the_last_layers(instructions):
    install = _index(instructions, "RUN", r"pip install .*-r requirements/trainer\.txt")
    copy_requirements = _index(instructions, "COPY", r"requirements/trainer\.txt")
    copy_trainer = _index(instructions, "COPY", r"^trainer/? ")
    assert copy_requirements < install < copy_trainer
    # Nothing before the trainer code depends on it or on the commit: COPY only requirements, and
    # the per-commit build arguments (which bust every later layer's cache) come after it.
    for instruction in instructions[:copy_trainer]:
        if instruction.keyword == "COPY":
            assert all(source.startswith("requirements/") for source in instruction.arguments.split()[:-1])
        assert not re.search(r"\b(REVISION|SOURCE)\b", instruction.arguments), instruction
    # What follows the code is cheap: compile it, name the commit, switch user, set the entry point.
    tail = {i.keyword for i in instructions[copy_trainer + 1 :]}
    assert tail <= {"RUN", "ARG", "LABEL", "USER", "ENTRYPOINT", "ENV"}
    assert all("pip" not in i.arguments for i in instructions[copy_trainer + 1 :])


def test_it_installs_the_pinned_files_that_make_install_uses(instructions):
    run = instructions[_index(instructions, "RUN", r"-r requirements/trainer\.txt")].arguments
    makefile = (REPO_ROOT / "Makefile").read_text()
    make_requirements = re.search(r"^REQUIREMENTS := (.+)$", makefile, re.M).group(1).split()
    assert "requirements/trainer.txt" in make_requirements
    assert "-c requirements/constraints.txt" in makefile
    assert re.search(r"-r requirements/trainer\.txt -c requirements/constraints\.txt", run)
    # The same pip, so the same resolver, as `make install`.
    assert re.search(r"pip==([\d.]+)", run).group(1) == re.search(r"pip==([\d.]+)", makefile).group(1)


def test_the_base_image_carries_the_tensorflow_that_local_runs_pin(instructions):
    requirements = (REPO_ROOT / "requirements/tensorflow.txt").read_text()
    pinned = re.search(r"^tensorflow-cpu==([\d.]+)", requirements, re.M)
    (default,) = [
        i.arguments
        for i in instructions
        if i.keyword == "ARG" and i.arguments.startswith("TENSORFLOW_VERSION=")
    ]
    assert default == f"TENSORFLOW_VERSION={pinned.group(1)}"
    (base,) = [i.arguments for i in instructions if i.keyword == "FROM"]
    assert base == "tensorflow/tensorflow:${TENSORFLOW_VERSION}-gpu"
    # The build fails if the dependency install replaced the base's TensorFlow.
    install = instructions[_index(instructions, "RUN", r"requirements/trainer")]
    assert "m.version('tensorflow')" in install.arguments


def test_runtime_settings_user_and_labels(instructions):
    env = " ".join(i.arguments for i in instructions if i.keyword == "ENV")
    assert "PYTHONUNBUFFERED=1" in env
    (user,) = [i.arguments for i in instructions if i.keyword == "USER"]
    uid, _, gid = user.partition(":")
    assert int(uid) > 0 and int(gid) > 0
    assert re.search(rf"useradd .*--uid {uid}\b", " ".join(i.arguments for i in instructions))
    labels = " ".join(i.arguments for i in instructions if i.keyword == "LABEL")
    assert 'org.opencontainers.image.source="${SOURCE}"' in labels
    assert 'org.opencontainers.image.revision="${REVISION}"' in labels


def _dry_run(*requirements: str) -> dict:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--ignore-installed",
        "--quiet",
        "--disable-pip-version-check",
        "--report",
        "-",
        *requirements,
    ]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        if re.search(r"NewConnectionError|Max retries|Could not fetch URL|Temporary failure", result.stderr):
            pytest.skip("the package index is unreachable")
        pytest.fail(result.stderr[-2000:])
    return json.loads(result.stdout)


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed(report: dict) -> dict[str, str]:
    return {_normalized(item["metadata"]["name"]): item["metadata"]["version"] for item in report["install"]}


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO_ROOT / "requirements/constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_normalized(name)] = version.strip()
    return pins


@pytest.mark.slow
def test_pip_resolves_the_image_install_to_locked_versions_without_any_tensorflow():
    """What `pip install -r requirements/trainer.txt -c requirements/constraints.txt` would install,
    by pip's own resolver against the index (Python 3.11 on Linux x86-64 here, as in the image)."""
    report = _dry_run("-r", "requirements/trainer.txt", "-c", "requirements/constraints.txt")
    installed = _installed(report)
    assert "tensorflow-datasets" in installed and "cloudml-hypertune" in installed
    # Nothing that would replace or shadow the base image's GPU TensorFlow.
    assert not {
        name
        for name in installed
        if name.startswith(("tensorflow-cpu", "tensorflow-intel"))
        or name in {"tensorflow", "keras", "tf-keras"}
    }
    pins = _pins()
    assert {name: version for name, version in installed.items() if pins.get(name) != version} == {}


@pytest.mark.slow
def test_the_lock_is_consistent_with_the_gpu_tensorflow_build():
    """The lock was made with tensorflow-cpu; the base image has `tensorflow` of the same version.
    pip's resolver proves the locked shared dependencies (numpy, protobuf, ...) satisfy it too."""
    version = re.search(
        r"^tensorflow-cpu==([\d.]+)", (REPO_ROOT / "requirements/tensorflow.txt").read_text(), re.M
    ).group(1)
    report = _dry_run(
        "-r", "requirements/trainer.txt", "-c", "requirements/constraints.txt", f"tensorflow=={version}"
    )
    versions = _installed(report)
    assert versions["tensorflow"] == version
    pins = _pins()
    for shared in ("numpy", "protobuf", "keras", "ml-dtypes", "tensorflow-datasets"):
        assert versions[shared] == pins[shared]


def test_parse_joins_continuations_and_skips_comments():
    text = '# c\nFROM a\nRUN one \\\n    # inside\n    two\nENTRYPOINT ["x"]\n'
    assert parse(text) == [
        Instruction("FROM", "a", 2),
        Instruction("RUN", "one two", 3),
        Instruction("ENTRYPOINT", '["x"]', 6),
    ]

"""The source archive: what the real .dockerignore lets through, reproducibility, and the size limit."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from scripts.cloudbuild import archive

REPO_ROOT = Path(__file__).resolve().parents[3]


def _members(source: archive.SourceArchive) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(source.data)) as tar:
        return tar.getnames()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The project's real .dockerignore over a work tree full of things that must not ship."""
    root = tmp_path / "tree"
    files = {
        "Dockerfile": "FROM scratch\n",
        "requirements/trainer.txt": "cloudml-hypertune==0.1.0.dev6\n",
        "trainer/__init__.py": "",
        "trainer/task.py": "print('train')\n",
        "trainer/__pycache__/task.cpython-311.pyc": "\0",
        "trainer/gha-creds-1a2b.json": "{}",
        "gha-creds-9f8e7d6c.json": '{"type": "external_account"}',
        "service-account-credentials.json": "{}",
        ".git/config": "[core]\n",
        ".venv/bin/python": "#!/bin/sh\n",
        ".venv/lib/python3.11/site-packages/big.so": "x",
        ".hpt/store.sqlite": "SQLite",
        ".hpt/trials/1/output.metrics": "{}",
        "tests/test_trainer.py": "def test(): pass\n",
        ".pytest_cache/v/cache": "{}",
        ".ruff_cache/x": "",
        "experiments.yaml": "experiments: {}\n",
        "README.md": "# hi\n",
        "data/horses/1.png": "png",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    shutil.copy(REPO_ROOT / ".dockerignore", root / ".dockerignore")
    return root


def test_only_the_image_inputs_go_into_the_archive(tree):
    source = archive.build_archive(tree)
    assert sorted(_members(source)) == [
        ".dockerignore",
        "Dockerfile",
        "requirements/trainer.txt",
        "trainer/__init__.py",
        "trainer/task.py",
    ]
    assert source.ignore_file == ".dockerignore"


def test_the_archive_is_reproducible(tree):
    first = archive.build_archive(tree)
    os.utime(tree / "trainer" / "task.py", (1, 1))
    second = archive.build_archive(tree)
    assert first.data == second.data and first.sha256 == second.sha256
    with tarfile.open(fileobj=io.BytesIO(first.data)) as tar:
        assert {(m.mtime, m.uid, m.gid, m.uname) for m in tar.getmembers()} == {(0, 0, 0, "")}


def test_symlinks_are_not_followed(tree, tmp_path):
    outside = tmp_path / "outside-secret.txt"
    outside.write_text("secret")
    (tree / "trainer" / "link.txt").symlink_to(outside)
    assert "trainer/link.txt" not in _members(archive.build_archive(tree))


def test_an_oversized_source_is_refused_naming_the_largest_files(tree):
    (tree / "trainer" / "weights.bin").write_bytes(b"\0" * 4096)
    expected = r"largest: trainer/weights\.bin.*exclude them in \.dockerignore"
    with pytest.raises(archive.ArchiveError, match=expected):
        archive.build_archive(tree, max_bytes=1024)


def test_a_gcloudignore_line_that_is_no_pattern_stops_the_archive_naming_the_line(tree):
    (tree / ".gcloudignore").write_text(".git/\n!\n")
    with pytest.raises(archive.ArchiveError, match=r"^\.gcloudignore:2: '!' is not a gitignore pattern"):
        archive.build_archive(tree)


def test_the_repository_archive_is_small_and_holds_only_image_inputs():
    source = archive.build_archive(REPO_ROOT)
    allowed = (".dockerignore", "Dockerfile", "requirements/", "trainer/")
    assert [m for m in source.members if not m.startswith(allowed)] == []
    assert "Dockerfile" in source.members and "requirements/constraints.txt" in source.members
    assert len(source.data) < 1024 * 1024

"""docs/setup.md makes the repository a newcomer creates one whose tags cannot be moved."""

from __future__ import annotations

import re
from pathlib import Path

SETUP = Path(__file__).resolve().parents[3] / "docs" / "setup.md"


def _shell_commands(text: str) -> list[str]:
    """Every command of the page's `sh` blocks, continuation lines joined."""
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)
    return [line.strip() for block in blocks for line in block.replace("\\\n", " ").splitlines()]


def test_the_documented_repository_has_immutable_tags():
    (create,) = [
        c for c in _shell_commands(SETUP.read_text()) if c.startswith("gcloud artifacts repositories create")
    ]
    assert "--repository-format=docker" in create and "--immutable-tags" in create.split()

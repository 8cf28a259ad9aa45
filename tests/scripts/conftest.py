"""Fixtures shared across tests/scripts' packages, re-exported from where they are defined.

`git_repo` (a committed copy of the image's build inputs, tests/scripts/cloudbuild/conftest.py):
the content tag (test_images.py) and the `build` command (commands/test_build.py) read it.
"""

from __future__ import annotations

from tests.scripts.cloudbuild.conftest import git_repo  # noqa: F401

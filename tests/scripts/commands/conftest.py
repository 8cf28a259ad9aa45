"""The fakes a command's tests drive it against, where the package the command serves keeps them.

Re-exported (not copied) so each fake has one definition: the fake JobService and image registry
(tests/scripts/vertex), the emulator on loopback (tests/scripts/emulator), Cloud Build and Cloud
Storage (tests/scripts/cloudbuild; its git repository comes from tests/scripts/conftest.py). The
cloudbuild package's autouse fixture that clears ambient settings is not here: the tests that need
it import it themselves.
"""

from __future__ import annotations

from tests.scripts.cloudbuild.conftest import cloud_build, google_http  # noqa: F401
from tests.scripts.emulator.conftest import emulator  # noqa: F401
from tests.scripts.vertex.conftest import fake, registry  # noqa: F401

"""The emulator on loopback (tests/scripts/emulator/conftest.py), re-exported: the field table's
tests check that the emulator refuses what the table says it refuses."""

from __future__ import annotations

from tests.scripts.emulator.conftest import emulator  # noqa: F401

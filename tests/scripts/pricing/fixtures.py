"""A small price table for tests: figures a test can multiply by hand, with a source and a date."""

from __future__ import annotations

from pathlib import Path

import pytest

import scripts.pricing.table

SOURCE = "https://prices.example.test/vertex-ai"
RECORDED = "2026-01-02"
DISK_SOURCE = "https://prices.example.test/disks"

PRICE_TABLE = f"""\
currency: USD
regions:
  us-central1:
    source: {SOURCE}
    recorded: {RECORDED}
    obtained: typed in by a test
    confirmed:
      n1-standard-4: {RECORDED}
    machines:
      n1-standard-4: 1.0
      n1-standard-8: 2.0
    accelerators:
      NVIDIA_TESLA_V100: 2.0
      NVIDIA_TESLA_T4: 0.5
    disks:
      source: {DISK_SOURCE}
      recorded: {RECORDED}
      obtained: typed in by a test
      confirmed:
        pd-ssd: {RECORDED}
      per_gb_month:
        pd-ssd: 7.3
        pd-standard: 0.73
"""
# A boot disk-hour: 100 GB of pd-ssd at $7.30 per GB-month / 730 hours = $1.


def price_table_for(region: str) -> str:
    """The same test table, for another region."""
    return PRICE_TABLE.replace("  us-central1:", f"  {region}:", 1)


def use_price_table(monkeypatch: pytest.MonkeyPatch, directory: Path, text: str = PRICE_TABLE) -> Path:
    """Make `text` the maintained price table, with an empty state directory (no cached refresh)."""
    path = directory / "prices.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setattr(scripts.pricing.table, "PRICES_FILE", path)
    state = directory / "state"
    state.mkdir(exist_ok=True)
    monkeypatch.setenv("HPT_STATE_DIR", str(state))
    monkeypatch.delenv("HPT_RESULTS_DIR", raising=False)
    return path

"""The spending gate's policy (`scripts.experiments.costs.budget`): how `HPT_MAX_COST` is read, and that
deciding costs no more than reading the prices: the gate runs before every submission."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scripts.experiments.costs import HOW_TO_SET_A_CAP, max_cost
from scripts.paths import REPO_ROOT


@pytest.mark.parametrize(
    ("written", "cap"),
    [("200", 200.0), (" $1,000.50 ", 1000.5), ("0", 0.0), ("", None)],
)
def test_the_cap_is_read_as_a_dollar_amount(written, cap):
    assert max_cost({"HPT_MAX_COST": written}) == cap
    assert max_cost({}) is None


@pytest.mark.parametrize("written", ["inf", "-1", "nan", "two hundred"])
def test_a_cap_that_bounds_nothing_is_refused_by_name(written):
    with pytest.raises(ValueError, match=r"HPT_MAX_COST='.*' is not an amount in US dollars"):
        max_cost({"HPT_MAX_COST": written})


def test_the_refusal_says_how_to_set_a_cap():
    assert "gh variable set HPT_MAX_COST --body 200" in HOW_TO_SET_A_CAP
    assert "docs/setup.md" in HOW_TO_SET_A_CAP


def test_the_gate_decides_without_loading_the_vertex_api_types():
    # The cost model and the gate read the checked experiment and the price tables only: importing
    # `aiplatform_v1` (about a second) is the compiler's business, not the gate's.
    code = (
        "import sys\n"
        "from scripts.experiments import load\n"
        "from scripts.experiments.costs import budget, expected_case\n"
        "experiment = load('experiments.yaml', {}).experiments['horses-humans']\n"
        "print(budget(experiment, {'HPT_MAX_COST': '1'}).refusal)\n"
        "print(expected_case(experiment, history=[]).basis)\n"
        "print(sorted(name for name in sys.modules if name.startswith('google.cloud.aiplatform')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    refusal, basis, loaded = done.stdout.splitlines()
    assert refusal.startswith("its worst case, $") and refusal.endswith("exceeds HPT_MAX_COST ($1.00)")
    assert basis == "not known: no earlier run of this experiment and no timeout bounds a trial"
    assert loaded == "[]"

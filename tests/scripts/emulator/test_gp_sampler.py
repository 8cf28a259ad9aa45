"""The default algorithm's GP sampler with collapsed trials, on real Optuna studies.

The situations are the ones the study benchmark showed on the real images (docs/trainer.md,
"Choosing the defaults by the study"): collapsed trials end at epoch 2-3, long before the others.
"""

from __future__ import annotations

import math

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from scripts.emulator.gp_sampler import GPSampler

SPACE = {
    "learning_rate": FloatDistribution(0.001, 1.0, log=True),
    "momentum": FloatDistribution(0.0, 1.0),
    "num_units": CategoricalDistribution([64, 128, 512]),
}
CENTRE = {"learning_rate": 10**-1.5, "momentum": 0.5, "num_units": 128}
COLLAPSED = [
    {"learning_rate": 0.1668, "momentum": 0.435, "num_units": 512},
    {"learning_rate": 0.4402, "momentum": 0.629, "num_units": 128},
]


@pytest.fixture(autouse=True)
def _quiet():
    optuna.logging.set_verbosity(optuna.logging.ERROR)


def _study(seed: int, trials: list[tuple[dict, TrialState, float | None]]) -> optuna.Study:
    study = optuna.create_study(direction="maximize", sampler=GPSampler(seed=seed))
    for params, state, value in trials:
        study.add_trial(create_trial(params=params, distributions=SPACE, state=state, value=value))
    return study


def test_collapsed_trials_keep_the_gp_away_even_when_one_trial_has_completed():
    """Seed 4's study: the centre completed (0.852), two large learning rates collapsed, one
    small one is running. Counting a collapsed trial as the worst completed value (the centre's,
    the best there is) sent 7 of 20 seeds' next trial above learning rate 0.1."""
    suggested = []
    for seed in range(1, 21):
        study = _study(
            seed,
            [
                (CENTRE, TrialState.COMPLETE, 0.852),
                *((params, TrialState.PRUNED, None) for params in COLLAPSED),
                ({"learning_rate": 0.0015, "momentum": 0.237, "num_units": 64}, TrialState.RUNNING, None),
            ],
        )
        suggested.append(study.ask(SPACE).params["learning_rate"])
    assert max(suggested) < 0.1, sorted(suggested)


def test_after_a_collapse_with_nothing_completed_the_next_trial_stays_near_the_first():
    """The centre still trains; the random start-up trial beside it has collapsed already. A
    uniform draw would collapse as often as that one did: the next trial is drawn near the centre."""
    distances = []
    for seed in range(1, 21):
        study = _study(seed, [(CENTRE, TrialState.RUNNING, None), (COLLAPSED[0], TrialState.PRUNED, None)])
        params = study.ask(SPACE).params
        log_range = math.log(1.0) - math.log(0.001)
        distances.append(
            max(
                abs(math.log(params["learning_rate"]) - math.log(CENTRE["learning_rate"])) / log_range,
                abs(params["momentum"] - CENTRE["momentum"]),
            )
        )
    # In the unit cube; uniform draws would be 0.25 or more away in either axis three times in four.
    assert max(distances) < 0.6 and sorted(distances)[10] < 0.25, sorted(distances)


def test_with_nothing_ended_yet_the_start_up_trials_are_random():
    suggested = {
        round(_study(seed, [(CENTRE, TrialState.RUNNING, None)]).ask(SPACE).params["momentum"], 6)
        for seed in range(1, 6)
    }
    assert len(suggested) == 5

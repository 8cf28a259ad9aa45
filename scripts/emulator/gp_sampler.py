"""A small Gaussian-process sampler for Optuna, in NumPy: Bayesian optimization at small budgets.

Vertex AI's default search is a GP bandit; Optuna's own `GPSampler` needs PyTorch and SciPy,
which the local backend does not install. This one models the parameters that every trial has
(the intersection search space) in the unit cube (log scales as logs, categorical choices one-hot)
with a Matern-5/2 GP whose length scale and noise are picked by marginal likelihood from a small
grid, and proposes the candidate with the highest expected improvement among random points and
perturbations of the best ones. What it learns from:

- completed trials: their values (standardized);
- pruned trials (the trainer stopped a collapsed or diverged model): one standard deviation of
  the completed values below the worst of them (one unit below it while only one has
  completed), so the model learns that region is bad without a far outlier, such as a
  collapsed classifier's 0.5, squashing the differences between the completed trials;
- running trials (constant liar): the worst completed value, so trials in parallel spread out.

Until `n_startup_trials` trials have ended (or none completed), and for parameters outside the
intersection (conditional children), it samples at random, except after a pruned trial while
none has completed: then it samples near the first trial that has not failed (the default
search's first trial is the centre of the space), since a collapsed trial ends long before the
others and a second uniform draw is as likely to collapse as the first.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

LENGTH_SCALES = (0.1, 0.2, 0.35, 0.6, 1.0)
NOISES = (1e-4, 1e-2, 0.1)
RANDOM_CANDIDATES = 2000
LOCAL_CANDIDATES = 500
# A pruned trial's value: this many standard deviations (of the completed values) below the worst.
PRUNED_PENALTY = 1.0
# The spread, in the unit cube, of a suggestion near the first trial that has not failed.
NEAR_SURVIVOR = 0.15


class GPSampler(BaseSampler):
    def __init__(self, seed: int | None = None, n_startup_trials: int = 2) -> None:
        self._rng = np.random.default_rng(seed)
        self._random = RandomSampler(seed=seed)
        self._n_startup = n_startup_trials
        self._space = IntersectionSearchSpace(include_pruned=True)

    def reseed_rng(self) -> None:
        self._rng = np.random.default_rng()
        self._random.reseed_rng()

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        space = self._space.calculate(study)
        return {name: d for name, d in space.items() if not d.single()}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        trials = study._get_trials(
            deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
        )
        ended = [
            t for t in trials if t.state != TrialState.RUNNING and all(n in t.params for n in search_space)
        ]
        completed = [t for t in ended if t.state == TrialState.COMPLETE]
        if len(ended) < self._n_startup or not completed:
            if not completed and any(t.state == TrialState.PRUNED for t in ended):
                return self._near_first_survivor(trials, search_space)
            return {}
        sign = 1.0 if study.direction == StudyDirection.MAXIMIZE else -1.0
        raw = np.array([sign * float(t.value) for t in completed])
        # Standardized by the completed trials alone (see the module's docstring).
        values = (raw - raw.mean()) / ((raw.std() if len(raw) > 1 else 0.0) or 1.0)
        standardized = {t.number: float(value) for t, value in zip(completed, values, strict=True)}
        worst = float(values.min())
        rows, ys = [], []
        for t in trials:
            if t.number == trial.number or not all(n in t.params for n in search_space):
                continue
            rows.append(_encode(t.params, search_space))
            if t.state == TrialState.COMPLETE:
                ys.append(standardized[t.number])
            else:
                ys.append(worst - PRUNED_PENALTY if t.state == TrialState.PRUNED else worst)
        x, y = np.array(rows), np.array(ys)
        length, noise = _fit(x, y)
        best = float(values.max())
        candidates = self._candidates(x[np.argsort(-y)[:3]], search_space)
        mu, sigma = _predict(x, y, candidates, length, noise)
        z = (mu - best) / sigma
        expected = sigma * (z * _norm_cdf(z) + _norm_pdf(z))
        return _decode(candidates[int(np.argmax(expected))], search_space)

    def _near_first_survivor(self, trials: list[FrozenTrial], space: dict[str, BaseDistribution]) -> dict:
        survivors = [
            t for t in trials if t.state != TrialState.PRUNED and all(name in t.params for name in space)
        ]
        if not survivors:
            return {}
        anchor = _encode(min(survivors, key=lambda t: t.number).params, space)
        return _decode(np.clip(anchor + self._rng.normal(0.0, NEAR_SURVIVOR, anchor.shape), 0.0, 1.0), space)

    def _candidates(self, anchors: np.ndarray, space: dict[str, BaseDistribution]) -> np.ndarray:
        width = sum(_width(d) for d in space.values())
        uniform = self._rng.random((RANDOM_CANDIDATES, width))
        local = np.repeat(anchors, LOCAL_CANDIDATES // len(anchors), axis=0)
        local = np.clip(local + self._rng.normal(0.0, 0.08, local.shape), 0.0, 1.0)
        return np.vstack([uniform, local])

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        return self._random.sample_independent(study, trial, param_name, param_distribution)


def _width(distribution: BaseDistribution) -> int:
    return len(distribution.choices) if isinstance(distribution, CategoricalDistribution) else 1


def _encode(params: dict[str, Any], space: dict[str, BaseDistribution]) -> np.ndarray:
    out: list[float] = []
    for name, d in space.items():
        value = params[name]
        if isinstance(d, CategoricalDistribution):
            out.extend(1.0 if choice == value else 0.0 for choice in d.choices)
        elif d.log:
            out.append((math.log(value) - math.log(d.low)) / (math.log(d.high) - math.log(d.low)))
        else:
            out.append((value - d.low) / (d.high - d.low))
    return np.array(out)


def _decode(row: np.ndarray, space: dict[str, BaseDistribution]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    i = 0
    for name, d in space.items():
        if isinstance(d, CategoricalDistribution):
            params[name] = d.choices[int(np.argmax(row[i : i + len(d.choices)]))]
            i += len(d.choices)
            continue
        unit = float(np.clip(row[i], 0.0, 1.0))
        i += 1
        if d.log:
            value = math.exp(math.log(d.low) + unit * (math.log(d.high) - math.log(d.low)))
        else:
            value = d.low + unit * (d.high - d.low)
        if isinstance(d, IntDistribution):
            value = int(min(d.high, max(d.low, round((value - d.low) / d.step) * d.step + d.low)))
        elif isinstance(d, FloatDistribution):
            value = min(d.high, max(d.low, value))
            if d.step is not None:
                value = min(d.high, round((value - d.low) / d.step) * d.step + d.low)
        params[name] = value
    return params


def _kernel(a: np.ndarray, b: np.ndarray, length: float) -> np.ndarray:
    distance = np.sqrt(np.maximum(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1), 0.0)) / length
    root5 = math.sqrt(5.0) * distance
    return (1.0 + root5 + root5**2 / 3.0) * np.exp(-root5)


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The (length scale, noise) of the grid with the highest log marginal likelihood."""
    best, chosen = -math.inf, (LENGTH_SCALES[1], NOISES[1])
    for length in LENGTH_SCALES:
        base = _kernel(x, x, length)
        for noise in NOISES:
            try:
                factor = np.linalg.cholesky(base + noise * np.eye(len(x)))
            except np.linalg.LinAlgError:
                continue
            alpha = np.linalg.solve(factor.T, np.linalg.solve(factor, y))
            likelihood = -0.5 * y @ alpha - np.log(np.diag(factor)).sum()
            if likelihood > best:
                best, chosen = likelihood, (length, noise)
    return chosen


def _predict(x, y, candidates, length, noise) -> tuple[np.ndarray, np.ndarray]:
    factor = np.linalg.cholesky(_kernel(x, x, length) + noise * np.eye(len(x)))
    cross = _kernel(x, candidates, length)
    alpha = np.linalg.solve(factor.T, np.linalg.solve(factor, y))
    mu = cross.T @ alpha
    v = np.linalg.solve(factor, cross)
    variance = np.maximum(1.0 - (v**2).sum(0), 1e-12)
    return mu, np.sqrt(variance)


def _norm_cdf(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.vectorize(math.erf)(z / math.sqrt(2.0)))


def _norm_pdf(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * z**2) / math.sqrt(2.0 * math.pi)

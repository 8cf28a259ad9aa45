"""The two-sample tests the comparison of two jobs uses, on plain lists of values.

- `mann_whitney_u`: the U test, exact (every split of the pooled ranks, ties as mid-ranks) while
  the number of splits is small, and the normal approximation with the tie correction beyond;
- `precedence_test`: how many of one sample's values are ahead of the other's best (Nelson's
  precedence test), exact over every split of the pooled values, sampled beyond that.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

# Above this many ways to split the pooled trials, the U test uses its normal approximation.
EXACT_SPLITS_MAX = 50_000
PERMUTATION_SAMPLES = 20_000  # random splits of the precedence test beyond that
SAMPLING_SEED = 0  # the same two samples always get the same sampled p-value


@dataclass(frozen=True)
class UTest:
    u: float  # the first sample's U: pairs where it is ahead (by value), ties as 1/2
    p_greater: float  # one-sided: the first sample tends to be larger
    p_less: float
    p_two_sided: float
    exact: bool
    smallest_p: float  # the smallest two-sided p these sample sizes allow (without ties)


def mann_whitney_u(first: Sequence[float], second: Sequence[float]) -> UTest:
    """Mann-Whitney U test of two samples (larger values ahead), exact while small."""
    n1, n2 = len(first), len(second)
    if n1 == 0 or n2 == 0:
        return UTest(u=0.0, p_greater=1.0, p_less=1.0, p_two_sided=1.0, exact=True, smallest_p=1.0)
    pooled = list(first) + list(second)
    ranks = _mid_ranks(pooled)
    rank_sum = sum(ranks[:n1])
    u = rank_sum - n1 * (n1 + 1) / 2
    splits = math.comb(n1 + n2, n1)
    smallest = min(1.0, 2 / splits)
    if splits <= EXACT_SPLITS_MAX:
        # Every way the pooled ranks could have been split: the null distribution, ties included.
        sums = [sum(chosen) for chosen in itertools.combinations(ranks, n1)]
        eps = 1e-9
        greater = sum(s >= rank_sum - eps for s in sums) / splits
        less = sum(s <= rank_sum + eps for s in sums) / splits
        exact = True
    else:
        mean = n1 * n2 / 2
        ties = _tie_term(pooled)
        n = n1 + n2
        variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
        if variance <= 0:
            greater = less = 1.0
        else:
            sd = math.sqrt(variance)
            greater = _upper_tail((u - mean - 0.5) / sd)  # continuity correction
            less = _upper_tail((mean - u - 0.5) / sd)
        exact = False
    return UTest(
        u=u,
        p_greater=greater,
        p_less=less,
        p_two_sided=min(1.0, 2 * min(greater, less)),
        exact=exact,
        smallest_p=smallest,
    )


@dataclass(frozen=True)
class PrecedenceTest:
    ahead_first: int  # values of the first sample above every value of the second
    ahead_second: int
    p_greater: float  # one-sided: the first sample's top is ahead this far or further by chance
    p_less: float
    p_two_sided: float
    exact: bool
    smallest_p: float


def _ahead(first: Sequence[float], second: Sequence[float]) -> tuple[int, int]:
    top_first, top_second = max(first), max(second)
    return sum(v > top_second for v in first), sum(v > top_first for v in second)


def precedence_test(first: Sequence[float], second: Sequence[float]) -> PrecedenceTest:
    """How many of one sample's values beat every value of the other, and how likely that is when
    the two are one population: a permutation test over every split of the pooled values (ties
    beat nothing), or `PERMUTATION_SAMPLES` seeded random splits when there are too many."""
    n1, n2 = len(first), len(second)
    if n1 == 0 or n2 == 0:
        return PrecedenceTest(0, 0, 1.0, 1.0, 1.0, exact=True, smallest_p=1.0)
    pooled = list(first) + list(second)
    ahead_first, ahead_second = _ahead(first, second)
    splits = math.comb(n1 + n2, n1)
    if splits <= EXACT_SPLITS_MAX:
        chosen_sets = (set(chosen) for chosen in itertools.combinations(range(n1 + n2), n1))
        total, exact = splits, True
    else:
        generator = random.Random(SAMPLING_SEED)
        chosen_sets = (set(generator.sample(range(n1 + n2), n1)) for _ in range(PERMUTATION_SAMPLES))
        total, exact = PERMUTATION_SAMPLES, False
    as_far_first = as_far_second = 0
    for chosen in chosen_sets:
        a = [pooled[i] for i in chosen]
        b = [pooled[i] for i in range(n1 + n2) if i not in chosen]
        one, other = _ahead(a, b)
        as_far_first += one >= ahead_first
        as_far_second += other >= ahead_second
    if not exact:  # a sampled p-value counts the observed split too, so it is never 0
        as_far_first, as_far_second, total = as_far_first + 1, as_far_second + 1, total + 1
    p_greater = as_far_first / total if ahead_first else 1.0
    p_less = as_far_second / total if ahead_second else 1.0
    return PrecedenceTest(
        ahead_first,
        ahead_second,
        p_greater,
        p_less,
        min(1.0, 2 * min(p_greater, p_less)),
        exact=exact,
        smallest_p=min(1.0, 2 / splits),
    )


def _mid_ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ascending; tied values share the mean of their ranks."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def _tie_term(values: Sequence[float]) -> float:
    return sum(t**3 - t for t in Counter(values).values())


def _upper_tail(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


@dataclass(frozen=True)
class SignedRankTest:
    pairs: int  # differences that are not zero (zeros carry no sign)
    w_plus: float  # the sum of the ranks of |difference| of the positive differences
    p_greater: float  # one-sided: the differences tend to be positive
    p_less: float
    p_two_sided: float
    exact: bool
    smallest_p: float


def signed_rank_test(differences: Sequence[float]) -> SignedRankTest:
    """Wilcoxon's signed-rank test of paired differences (zeros dropped, ties as mid-ranks): exact
    over every assignment of signs while there are at most 2 ** 16 of them, sampled beyond."""
    nonzero = [d for d in differences if d != 0]
    n = len(nonzero)
    if n == 0:
        return SignedRankTest(0, 0.0, 1.0, 1.0, 1.0, exact=True, smallest_p=1.0)
    ranks = _mid_ranks([abs(d) for d in nonzero])
    w_plus = sum(rank for rank, d in zip(ranks, nonzero, strict=True) if d > 0)
    eps = 1e-9
    if n <= 16:
        signs = itertools.product((0, 1), repeat=n)
        total, exact = 2**n, True
    else:
        generator = random.Random(SAMPLING_SEED)
        signs = ([generator.randint(0, 1) for _ in range(n)] for _ in range(PERMUTATION_SAMPLES))
        total, exact = PERMUTATION_SAMPLES, False
    greater = less = 0
    for chosen in signs:
        w = sum(rank for rank, positive in zip(ranks, chosen, strict=True) if positive)
        greater += w >= w_plus - eps
        less += w <= w_plus + eps
    if not exact:
        greater, less, total = greater + 1, less + 1, total + 1
    p_greater, p_less = greater / total, less / total
    return SignedRankTest(
        n, w_plus, p_greater, p_less, min(1.0, 2 * min(p_greater, p_less)), exact, min(1.0, 2 / 2**n)
    )

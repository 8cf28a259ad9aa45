"""The spending gate's policy: an experiment's worst case against the cap `$HPT_MAX_COST`.

Nothing is submitted to Vertex AI without a cap (a repository variable in the workflows, an
environment variable for `run --backend vertex`). The gate fails closed: no cap, an invalid cap,
or a worst case that cannot be priced is a refusal. Over a cap that is set, an approval may let
the experiment through (`scripts.submission`); without one, nothing may.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from scripts.experiments.costs import worst_case
from scripts.experiments.model import Experiment
from scripts.paths import state_dir
from scripts.pricing.table import PriceTable, tables

# The spending limit per job, in US dollars: required before anything is submitted to Vertex AI
# (a repository variable in the workflows, an environment variable for `run --backend vertex`).
MAX_COST_VARIABLE = "HPT_MAX_COST"
HOW_TO_SET_A_CAP = (
    f"set {MAX_COST_VARIABLE} to the most one job may cost, in US dollars: the repository variable "
    f"for the workflows (`gh variable set {MAX_COST_VARIABLE} --body 200`), the environment variable "
    'for `python -m scripts run --backend vertex` (docs/setup.md, "The spending gate")'
)


def max_cost(env: Mapping[str, str]) -> float | None:
    """`$HPT_MAX_COST` as a number; None when unset or empty. Raises ValueError when it is not a
    finite, non-negative amount (`inf` would be no cap at all)."""
    text = (env.get(MAX_COST_VARIABLE) or "").strip().lstrip("$").replace(",", "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value < float("inf"):
        raise ValueError(f"{MAX_COST_VARIABLE}={text!r} is not an amount in US dollars")
    return value


@dataclass(frozen=True)
class Budget:
    """The spending gate's verdict on one experiment."""

    refusal: str | None  # why it may not be submitted; None: its worst case is within the cap
    # An approval in the spending environment may let it through: only over a cap that is set.
    # A missing or invalid cap is never approvable: nothing bounds what an approval would allow.
    approvable: bool = False


def budget(
    experiment: Experiment, env: Mapping[str, str], price_tables: Mapping[str, PriceTable] | None = None
) -> Budget:
    """The experiment's worst case against `$HPT_MAX_COST`. Fails closed: no cap, an invalid cap, or
    a worst case that cannot be priced is a refusal. The prices are `price_tables`, else the
    maintained table with the refresh cached in `env`'s state directory (`prices --refresh`)."""
    try:
        limit = max_cost(env)
    except ValueError as error:
        return Budget(f"{error}; {HOW_TO_SET_A_CAP}")
    if limit is None:
        return Budget(f"no spending cap is set; {HOW_TO_SET_A_CAP}")
    case = worst_case(experiment, tables(state_dir(env)) if price_tables is None else price_tables)
    if case.cost is None:
        return Budget(f"its cost is {case.missing} and {MAX_COST_VARIABLE} is ${limit:,.2f}", approvable=True)
    if case.cost > limit:
        reason = f"its worst case, ${case.cost:,.2f}, exceeds {MAX_COST_VARIABLE} (${limit:,.2f})"
        return Budget(reason, approvable=True)
    return Budget(None)

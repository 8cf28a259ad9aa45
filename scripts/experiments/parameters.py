"""The search space: parameters, their values and scales, and conditional children."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from scripts.experiments import rules
from scripts.experiments.checker import Checker, is_integer, is_number, kind_of
from scripts.experiments.model import Condition, Parameter
from scripts.experiments.source import KeyPath, dotted

PARAMETER_KEYS = ("type", "min", "max", "scale", "values", "default", "children")
PARAMETER_TYPES = ("double", "integer", "discrete", "categorical")
SCALES = ("linear", "log", "reverse_log")

# `default` was in the format and compiled to `default_value`; the v1 API documents that field as
# "Currently only supported by the Vertex AI Vizier service. Not supported by
# HyperparameterTuningJob or TrainingPipeline"
# (https://cloud.google.com/vertex-ai/docs/reference/rest/v1/StudySpec#DoubleValueSpec), so a job
# never started from it. Kept as a known key to say so where it is written.
DEFAULT_REMOVED = (
    "'default' is not supported: Vertex AI documents default_value as not supported by "
    "HyperparameterTuningJob (Vizier only), so a tuning job never starts from it; remove it"
)

# The keys each type of parameter takes.
_KEYS_OF_TYPE = {
    "double": ("type", "min", "max", "scale", "children"),
    "integer": ("type", "min", "max", "scale", "children"),
    "discrete": ("type", "values", "scale", "children"),
    "categorical": ("type", "values", "children"),
}
_PARAMETER_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


def check_parameters(
    value: Any, path: KeyPath, checker: Checker, algorithm: str | None
) -> tuple[Parameter, ...] | None:
    data = checker.names(value, path, "parameters")
    if data is None:
        return None
    if not data:
        checker.report(path, "an experiment tunes at least one parameter")
        return None
    return _check_parameter_map(checker, data, path, algorithm, seen={})


def _check_parameter_map(
    checker: Checker, data: dict, path: KeyPath, algorithm: str | None, seen: dict[str, KeyPath]
) -> tuple[Parameter, ...] | None:
    result = [
        _check_parameter(checker, parameter_id, spec, (*path, parameter_id), algorithm, seen)
        for parameter_id, spec in data.items()
    ]
    return None if None in result else tuple(result)


def _check_parameter(
    checker: Checker,
    parameter_id: str,
    data: Any,
    path: KeyPath,
    algorithm: str | None,
    seen: dict[str, KeyPath],
) -> Parameter | None:
    before = len(checker.problems)
    if not _PARAMETER_ID.fullmatch(parameter_id):
        checker.report(
            path,
            f"parameter id {parameter_id!r} is not a valid flag name: use letters, digits, '_' "
            "and '-', starting with a letter (the trainer receives --ID=VALUE)",
            key=True,
        )
    else:
        # argparse reads --num-units and --num_units into the same option
        flag = parameter_id.replace("-", "_")
        if flag in seen:
            checker.report(
                path,
                f"parameter id {parameter_id!r} collides with {dotted(seen[flag])} "
                "(the trainer would receive the same flag twice)",
                key=True,
            )
        else:
            seen[flag] = path
    data, kind = checker.tagged(data, path, PARAMETER_KEYS, "type", PARAMETER_TYPES)
    if kind is None:
        return None
    get = checker.get
    allowed = _KEYS_OF_TYPE[kind]
    for key in data:
        if key == "default":
            checker.report((*path, key), DEFAULT_REMOVED, key=True)
        elif key in PARAMETER_KEYS and key not in allowed:
            checker.report((*path, key), f"a {kind} parameter has no {key!r}", key=True)
    scale = get(data, "scale", path, checker.choice, SCALES) if "scale" in allowed else None
    low = high = None
    values: tuple = ()
    if kind in ("double", "integer"):
        read = checker.number if kind == "double" else checker.integer
        low = get(data, "min", path, read, required=True)
        high = get(data, "max", path, read, required=True)
        if low is not None and high is not None:
            found = rules.range_problem(kind, low, high, rules.SCALES.get(scale or ""))
            if found:
                checker.report((*path, found[0]), found[1])
        elif scale in ("log", "reverse_log") and low is not None and low <= 0:
            checker.report((*path, "min"), f"{scale} scale needs min > 0, got {low}")
        if algorithm == "grid" and kind == "double":
            checker.report(
                (*path, "type"), "grid search cannot enumerate a double parameter; use discrete values"
            )
        if kind == "double" and low is not None:
            low, high = float(low), float(high) if high is not None else None
    else:
        values = get(data, "values", path, _check_values, checker, kind, scale, required=True) or ()
    parent = (kind, values, low, high)
    children = get(data, "children", path, _check_children, checker, parent, algorithm, seen, default=())
    if len(checker.problems) > before or children is None:
        return None
    return Parameter(
        id=parameter_id, type=kind, min=low, max=high, values=values, scale=scale, children=children
    )


def _check_values(value: Any, path: KeyPath, checker: Checker, kind: str, scale: str | None) -> tuple | None:
    if not isinstance(value, list):
        checker.report(path, f"expected a list of values, got {kind_of(value)}")
        return None
    if kind == "categorical":
        good = True
        for index, item in enumerate(value):
            if not isinstance(item, str):
                checker.report((*path, index), f"categorical values are text, got {kind_of(item)} (quote it)")
                good = False
        problem = rules.categorical_values_problem(value) if good else None
        if problem:
            checker.report(path, problem)
            good = False
        return tuple(value) if good else None
    numbers = [checker.number(item, (*path, index)) for index, item in enumerate(value)]
    if any(item is None for item in numbers):
        return None
    found = rules.discrete_values_problem(numbers, rules.SCALES.get(scale or ""))
    if found:
        index, message = found
        checker.report(path if index is None else (*path, index), message)
        return None
    return tuple(float(item) for item in numbers)


def _check_children(
    value: Any,
    path: KeyPath,
    checker: Checker,
    parent: tuple,
    algorithm: str | None,
    seen: dict[str, KeyPath],
) -> tuple[Condition, ...] | None:
    """`parent` is the parent parameter's (type, values, min, max)."""
    problem = rules.conditional_parent_problem(f"{parent[0]}_value_spec")
    if problem:
        checker.report(path, problem, key=True)
        return None
    if not isinstance(value, list):
        checker.report(path, f"expected a list of {{when: [...], parameters: {{...}}}}, got {kind_of(value)}")
        return None

    def condition(item: Any, where: KeyPath) -> Condition | None:
        """One `{when: [...], parameters: {...}}`, read with its parent's context."""
        data = checker.mapping(item, where, ("when", "parameters"))
        if data is None:
            return None
        when = checker.get(data, "when", where, _check_when, checker, *parent, required=True)
        children = checker.get(data, "parameters", where, checker.names, "parameters", required=True)
        under = (*where, "parameters")
        if children is not None and not children and "parameters" in data:
            checker.report(under, "a condition needs at least one parameter")
            return None
        parameters = _check_parameter_map(checker, children, under, algorithm, seen) if children else None
        return None if when is None or parameters is None else Condition(when=when, parameters=parameters)

    conditions = [condition(item, (*path, index)) for index, item in enumerate(value)]
    return None if None in conditions else tuple(conditions)


def _check_when(
    value: Any, path: KeyPath, checker: Checker, kind: str, values: tuple, low: Any, high: Any
) -> tuple | None:
    items = value if isinstance(value, list) else [value]  # one scalar may stand for a list
    if not items:
        checker.report(path, "the list of parent values is empty")
        return None
    result = []
    for index, item in enumerate(items):
        if kind == "integer":
            fits = is_integer(item) and (low is None or high is None or low <= item <= high)
            why = f"{item!r} is not an integer in the parent's range [{low}, {high}]"
        else:
            discrete = kind == "discrete"
            typed = is_number(item) if discrete else isinstance(item, str)
            fits = typed and (not values or (float(item) if discrete else item) in values)
            why = f"{item!r} is not one of the parent's values"
        if not fits:
            checker.report((*path, index) if isinstance(value, list) else path, why)
            return None
        result.append(float(item) if kind == "discrete" else item)
    return tuple(result)


def check_flag_collisions(
    checker: Checker, parameters: Iterable[Parameter], args: Iterable[str], path: KeyPath
) -> None:
    ids = {flag.replace("-", "_") for flag in all_ids(parameters)}
    for index, arg in enumerate(args):
        if arg.startswith("--"):
            flag = arg[2:].split("=", 1)[0].replace("-", "_")
            if flag in ids:
                checker.report(
                    (*path, index), f"{arg!r} collides with the tuned parameter {flag!r}: each trial sets it"
                )


def all_ids(parameters: Iterable[Parameter]) -> list[str]:
    ids = []
    for parameter in parameters:
        ids.append(parameter.id)
        for condition in parameter.children:
            ids.extend(all_ids(condition.parameters))
    return ids

"""Reading raw YAML values: typed scalars and shapes, each problem reported where it was written.

`Checker` is what every rule in `schema` and `parameters` reads through: it returns the
value in the type asked for, or reports why not (at the value's line and column, with the
dotted field path) and returns None, so checking goes on and `validate` shows every problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from scripts.errors import did_you_mean
from scripts.experiments import rules
from scripts.experiments.source import KeyPath, Problem, Source, dotted

# A key that is not there (None is a value YAML can write).
_MISSING = object()

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
# The widths of the message fields integers go to: a larger value is a job the API cannot take.
INT32_MAX = 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# google.protobuf.Duration holds at most 10,000 years.
MAX_DURATION_SECONDS = 315_576_000_000
# Set by Vertex (or by us) for every trial; a trainer env of the same name would be overwritten.
_RESERVED_ENV = re.compile(r"(CLOUD_ML_|AIP_).*|TF_CONFIG|CLUSTER_SPEC")


# A reference longer than this is cut where a problem quotes it.
MAX_SHOWN_REFERENCE = 120


class Checker:
    """Reports problems at source positions and reads typed values out of raw mappings."""

    def __init__(self, source: Source):
        self.source = source
        self.problems: list[Problem] = []

    def report(self, path: KeyPath, message: str, key: bool = False) -> None:
        written = None if key else self.source.written(path)
        if isinstance(written, str) and "${" in written:
            # The bad value came from a variable: say which, so the fix goes where the value is set.
            shown = written if len(written) <= MAX_SHOWN_REFERENCE else written[:MAX_SHOWN_REFERENCE] + "..."
            message = f"{message} (from {shown})"
        self.problems.append(Problem.at(self.source.where(path, key=key), dotted(path), message))

    # shapes

    def mapping(
        self, value: Any, path: KeyPath, allowed: Iterable[str], what: str = "a mapping"
    ) -> dict | None:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.report(path, f"expected {what}, got {kind_of(value)}")
            return None
        allowed = tuple(allowed)
        for key in value:
            if not isinstance(key, str):
                self.report((*path, key), f"keys must be text, got {kind_of(key)}", key=True)
            elif key not in allowed:
                self.report((*path, key), f"unknown key {key!r}{did_you_mean(key, allowed)}", key=True)
        return value

    def names(self, value: Any, path: KeyPath, what: str) -> dict | None:
        """A mapping whose keys are names chosen by the user (experiments, parameters, labels)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.report(path, f"expected a mapping of {what}, got {kind_of(value)}")
            return None
        for key in value:
            if not isinstance(key, str):
                self.report((*path, key), f"{what} names must be text, got {kind_of(key)}", key=True)
        return {key: item for key, item in value.items() if isinstance(key, str)}

    def get(
        self,
        data: Mapping,
        key: str,
        path: KeyPath,
        check: Callable[..., Any],
        *options: Any,
        required: bool = False,
        default: Any = None,
    ) -> Any:
        """`check(value, path of key, *options)` of the value at `key`; `default` when it is absent."""
        value = data.get(key, _MISSING)
        if value is _MISSING or (value is None and not required):
            if required:
                self.report(path, f"missing required key {key!r}", key=True)
            return default
        return check(value, (*path, key), *options)

    def tagged(
        self, value: Any, path: KeyPath, allowed: Iterable[str], tag: str, tags: Iterable[str]
    ) -> tuple[dict | None, str | None]:
        """A `mapping` whose required `tag` (one of `tags`) says what its other keys mean: (mapping, tag)."""
        data = self.mapping(value, path, allowed)
        return data, (None if data is None else self.get(data, tag, path, self.choice, tags, required=True))

    # scalars: each returns None after reporting a problem

    def text(
        self, value: Any, path: KeyPath, pattern: re.Pattern[str] | None = None, rule: str = ""
    ) -> str | None:
        if not isinstance(value, str):
            self.report(path, f"expected text, got {kind_of(value)}")
            return None
        if "\0" in value:
            self.report(path, rules.NUL_MESSAGE)
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.report(path, f"{value!r} is not valid: {rule}")
            return None
        return value

    def choice(self, value: Any, path: KeyPath, choices: Iterable[str]) -> str | None:
        choices = tuple(choices)
        if not isinstance(value, str) or value not in choices:
            shown = repr(value) if isinstance(value, str) else kind_of(value)
            hint = did_you_mean(value, choices) if isinstance(value, str) else ""
            self.report(path, f"{shown} is not one of {', '.join(choices)}{hint}")
            return None
        return value

    def integer(
        self, value: Any, path: KeyPath, minimum: int = INT64_MIN, maximum: int = INT64_MAX
    ) -> int | None:
        """An integer in [minimum, maximum]; by default, one that fits the API's 64-bit fields."""
        if isinstance(value, bool) or not isinstance(value, int):
            self.report(path, f"expected an integer, got {kind_of(value)}")
            return None
        if value < minimum:
            self.report(path, f"must be at least {minimum}, got {value}")
            return None
        if value > maximum:
            self.report(path, f"must be at most {maximum}, got {value}")
            return None
        return value

    def limited(self, value: Any, path: KeyPath, minimum: int, field: str | None = None) -> int | None:
        """An integer of at least `minimum` and at most this tool's limit for `field` (`rules.TOOL_LIMITS`;
        by default the key it is written under)."""
        number = self.integer(value, path, minimum, INT32_MAX)
        problem = rules.tool_limit_problem(field or str(path[-1]), number) if number is not None else None
        if problem:
            self.report(path, problem)
            return None
        return number

    def number(self, value: Any, path: KeyPath) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.report(path, f"expected a number, got {kind_of(value)}")
            return None
        if value != value or value in (float("inf"), float("-inf")):
            self.report(path, f"expected a finite number, got {value}")
            return None
        return value

    def boolean(self, value: Any, path: KeyPath) -> bool | None:
        if not isinstance(value, bool):
            self.report(path, f"expected true or false, got {kind_of(value)}")
            return None
        return value

    def text_list(self, value: Any, path: KeyPath) -> tuple[str, ...] | None:
        if not isinstance(value, list):
            self.report(path, f"expected a list of text, got {kind_of(value)}")
            return None
        good = True
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self.report((*path, index), f"expected text, got {kind_of(item)} (quote it)")
                good = False
            elif "\0" in item:
                self.report((*path, index), rules.NUL_MESSAGE)
                good = False
        return tuple(value) if good else None

    def env(self, value: Any, path: KeyPath) -> tuple[tuple[str, str], ...] | None:
        data = self.names(value, path, "environment variables")
        if data is None:
            return None
        result = []
        for name, item in data.items():
            if not _ENV_NAME.fullmatch(name):
                self.report((*path, name), f"{name!r} is not a valid environment variable name", key=True)
            elif _RESERVED_ENV.fullmatch(name):
                self.report(
                    (*path, name), f"{name} is set by Vertex AI for each trial; choose another name", key=True
                )
            elif isinstance(item, str) and "\0" in item:
                self.report((*path, name), rules.NUL_MESSAGE)
            elif isinstance(item, (str, int, float)) and not isinstance(item, bool):
                result.append((name, str(item)))
            else:
                self.report((*path, name), f"expected text or a number, got {kind_of(item)}")
        return tuple(result)

    def duration(self, value: Any, path: KeyPath) -> int | None:
        """Seconds, from an integer number of seconds or text like `90m`, `2h30m`, `1d`, `3600s`."""
        if isinstance(value, int) and not isinstance(value, bool):
            seconds = value
        elif isinstance(value, str) and value and (match := _DURATION.fullmatch(value)):
            days, hours, minutes, secs = (int(part or 0) for part in match.groups())
            seconds = ((days * 24 + hours) * 60 + minutes) * 60 + secs
        else:
            self.report(path, f"expected a duration like 3600, 90m, 2h30m or 1d, got {value!r}")
            return None
        if seconds <= 0:
            self.report(path, "must be longer than zero seconds")
            return None
        if seconds > MAX_DURATION_SECONDS:
            self.report(path, f"must be at most {MAX_DURATION_SECONDS} seconds, got {seconds}")
            return None
        return seconds


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def kind_of(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"text ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__

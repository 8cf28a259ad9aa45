"""`${VAR}` and `${VAR:-default}` references, resolved from an environment mapping.

A value that is exactly one reference takes the type its text reads as in YAML (so
`max_trial_count: ${MAX_TRIALS:-6}` is the integer 6); a reference inside longer text is
spliced in as text. `$${` writes a literal `${`.

Only the variables on the allow list can be read, wherever the file is loaded (a terminal, the
local backend, a workflow step that holds credentials): exactly the names in `ALLOWED`, the
settings the workflows set from repository variables. Anything else (`${GOOGLE_APPLICATION_CREDENTIALS}`,
`${GITHUB_TOKEN}`, `${HOME}`, and `${HPT_ANYTHING_ELSE}` too: a prefix is no promise that a value is
not a secret) is a problem at the reference, `FILE:LINE:COL: field: message`, whatever the
environment holds: a pull request's file must not be able to copy a runner's variable into a job
it submits or a plan it prints. The names are documented in docs/experiments.md and docs/setup.md;
`scripts.github.environment` hands the same names to the child that plans a pull request's file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from scripts.experiments.source import KeyPath, Problem, Source, dotted, read_value

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# What `${VAR}` may read: the settings the workflows set from repository variables (docs/setup.md)
# and `build`'s image name. Not a prefix: anyone may export a secret as HPT_SOMETHING, and a name
# listed here is printed by `/hpt plan`. A variable of your own is added here, in a reviewed change.
ALLOWED = frozenset(
    {
        "GOOGLE_CLOUD_PROJECT",
        "GOOGLE_CLOUD_REGION",
        "HPT_STAGING_BUCKET",
        "HPT_ARTIFACT_REPOSITORY",
        "HPT_TRIAL_SERVICE_ACCOUNT",
        "HPT_IMAGE",
    }
)


def allowed_names() -> str:
    """The allow list as a message shows it: `A, B or C`."""
    names = sorted(ALLOWED)
    return f"{', '.join(names[:-1])} or {names[-1]}"


def resolve(
    source: Source, data: Any, env: Mapping[str, str], root: KeyPath = ()
) -> tuple[Any, list[Problem]]:
    """A copy of `data` (found at `root` in `source`) with every reference in its strings resolved."""
    problems: list[Problem] = []

    def walk(value: Any, path: KeyPath) -> Any:
        if isinstance(value, dict):
            return {key: walk(item, (*path, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, (*path, index)) for index, item in enumerate(value)]
        if isinstance(value, str) and "${" in value:
            return _substitute(value, path)
        return value

    def _substitute(text: str, path: KeyPath) -> Any:
        whole = _REFERENCE.fullmatch(text)
        failed = False

        def replace(match: re.Match[str]) -> str:
            nonlocal failed
            if match.group(0) == "$${":
                return "${"
            body = match.group(1)
            name, has_default, default = body.partition(":-")
            if not _NAME.fullmatch(name):
                failed = True
                _report(path, f"invalid reference ${{{body}}}: expected ${{NAME}} or ${{NAME:-default}}")
                return ""
            if name not in ALLOWED:  # the allow list, not a deny list: anything new is refused
                failed = True
                _report(
                    path, f"${{{name}}} is not a variable experiments files may read: use {allowed_names()}"
                )
                return ""
            found = env.get(name)
            if found:
                return found
            if has_default:
                return default
            failed = True
            _report(
                path,
                f"${{{name}}} is not set in the environment and has no default (write ${{{name}:-default}})",
            )
            return ""

        result = _REFERENCE.sub(replace, text)
        if failed:
            return None
        if whole and whole.group(1) is not None:
            return _typed(result)
        return result

    def _report(path: KeyPath, message: str) -> None:
        problems.append(Problem.at(source.where(path), dotted(path), message))

    return walk(data, root), problems


def _typed(text: str) -> Any:
    """`"6"` -> 6, `"true"` -> True, anything that is not a plain YAML scalar stays text."""
    value = read_value(text)  # within the reader's limits: a variable cannot be a YAML bomb either
    return value if isinstance(value, (int, float, bool)) else text

"""Reading an experiments file: parse, resolve `${VAR}`, check; and the variants compile asks for.

A variant is one experiment as a profile and `--set` overrides change it. It is built once and
checked once, by the same rules as the file itself; an override's problems point at `--set:N:1`
(the N-th override), a profile's at the profile, with its name.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path as FilePath
from typing import Any

from scripts.errors import UserError, did_you_mean
from scripts.experiments import rules, schema
from scripts.experiments.environment import resolve
from scripts.experiments.model import Experiment, ExperimentsFile, Settings
from scripts.experiments.source import (
    InvalidExperiments,
    KeyPath,
    Position,
    Problem,
    Source,
    dotted,
    parse,
    read_value,
)

OVERRIDES_FILE = "--set"
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_PATH_PIECE = re.compile(r"(?:[^.\[\]]+|\[\d+\])+")


def load(path: str | os.PathLike[str], env: Mapping[str, str]) -> ExperimentsFile:
    """Read and check an experiments file, its `${VAR}` read from `env`; raise `InvalidExperiments`
    with every problem."""
    name = str(path)
    try:
        text = FilePath(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise InvalidExperiments([Problem(name, 1, 1, "", f"cannot read the file: {reason}")]) from None
    return load_text(text, name, env)


def load_text(text: str, file: str, env: Mapping[str, str]) -> ExperimentsFile:
    """Check experiments-file text; `file` names it in problems."""
    source = parse(text, file)
    if source.data is None and source.problems:
        raise InvalidExperiments(source.problems)
    data, problems = resolve(source, source.data, env)
    defaults, raw_experiments, raw_profiles, checker = schema.check_file(source, data)
    defaults = defaults or Settings()
    experiments: dict[str, Experiment] = {}
    for name, raw in raw_experiments.items():
        experiment = schema.check_experiment(checker, name, raw, ("experiments", name), defaults)
        if experiment is not None:
            experiments[name] = experiment
    profiles = {}
    for name, raw in raw_profiles.items():
        profile = schema.check_profile(checker, name, raw, ("profiles", name))
        if profile is not None:
            profiles[name] = profile
    problems += source.problems + checker.problems
    problems += _display_name_problems(source, experiments, profiles)
    loaded = ExperimentsFile(file, defaults, experiments, profiles, source, env=dict(env), resolved=data)
    if not problems:
        # A profile must make a valid variant of every experiment, or `run --profile` fails later;
        # the checked variants are kept, so compiling with the profile does not check them again.
        for profile_name in profiles:
            for name in experiments:
                try:
                    loaded.variants[(profile_name, name)] = _same_environment(loaded, name, profile_name, {})
                except InvalidExperiments as error:
                    problems += error.problems
    if problems:
        raise InvalidExperiments(problems)
    return loaded


# The display name compiling gives a job: `<experiment>[-<profile>]-<7-character commit>`.
COMMIT_SUFFIX = "-nocommit"  # the longest: 7 hex digits, or "nocommit" outside git


def _display_name_problems(source: Source, experiments: Mapping[str, Any], profiles: Mapping[str, Any]):
    """Vertex AI's display-name rule (`rules.display_name_problem`) for every name compiling makes."""
    found = []
    for name in experiments:
        for profile in (None, *profiles):
            display = f"{name}{'' if profile is None else f'-{profile}'}{COMMIT_SUFFIX}"
            problem = rules.display_name_problem(display)
            if problem:
                path = ("experiments", name) if profile is None else ("profiles", profile)
                variant = f"experiment {name!r}" + ("" if profile is None else f" with profile {profile!r}")
                message = f"the job's display name (EXPERIMENT-PROFILE-COMMIT) for {variant}: {problem}"
                found.append(Problem.at(source.where(path, key=True), dotted(path), message))
    return found


def variant(
    experiments: ExperimentsFile,
    name: str,
    profile: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Experiment:
    """Experiment `name` with `profile` applied, then `overrides`: the checked form compiling reads.

    Loading checked the experiment and every profile's variant of it; only overrides (or an
    environment other than the one the file was read with) make a new variant, which is built
    from the raw values once and checked once. Text override values are read as YAML.
    """
    if name not in experiments.experiments:
        known = ", ".join(experiments.experiments) or "none"
        hint = did_you_mean(name, experiments.names)
        raise UserError(f"unknown experiment {name!r}{hint} in {experiments.path} (known: {known})")
    if profile is not None and profile not in experiments.profiles:
        known = ", ".join(experiments.profiles) or "none are defined"
        hint = did_you_mean(profile, list(experiments.profiles))
        raise InvalidExperiments(
            [Problem("--profile", 1, 1, "profile", f"unknown profile {profile!r}{hint} (known: {known})")]
        )
    overrides = overrides or {}
    if env is not None and env is not experiments.env and dict(env) != experiments.env:
        return _other_environment(experiments.source, name, env, profile, overrides)
    if not overrides:
        return experiments.experiments[name] if profile is None else experiments.variants[(profile, name)]
    return _same_environment(experiments, name, profile, overrides)


def _same_environment(
    experiments: ExperimentsFile, name: str, profile: str | None, overrides: Mapping[str, Any]
) -> Experiment:
    """A variant built from the values the file was checked with (`${VAR}` already resolved)."""
    top = experiments.resolved if isinstance(experiments.resolved, dict) else {}
    raw = (top.get("experiments") or {}).get(name)
    profile_raw = (top.get("profiles") or {}).get(profile) if profile is not None else None
    return _checked_variant(
        experiments.source, experiments.defaults, name, raw, profile, profile_raw, overrides
    )


def _other_environment(
    source: Source, name: str, env: Mapping[str, str], profile: str | None, overrides: Mapping[str, Any]
) -> Experiment:
    """A variant read again with another environment than the file was loaded with."""
    top = source.data if isinstance(source.data, dict) else {}
    # Resolve only what this variant reads: another experiment's unset variable is not its problem.
    defaults_raw, unresolved = resolve(source, top.get("defaults"), env, ("defaults",))
    raw, more = resolve(source, (top.get("experiments") or {}).get(name), env, ("experiments", name))
    unresolved += more
    profile_raw = None
    if profile is not None:
        profile_raw, more = resolve(
            source, (top.get("profiles") or {}).get(profile), env, ("profiles", profile)
        )
        unresolved += more
    checker = schema.Checker(source)
    defaults = schema.check_settings(checker, defaults_raw, ("defaults",)) or Settings()
    return _checked_variant(
        source, defaults, name, raw, profile, profile_raw, overrides, unresolved, checker.problems
    )


def _checked_variant(
    source: Source,
    defaults: Settings,
    name: str,
    raw: Any,
    profile: str | None,
    profile_raw: Any,
    overrides: Mapping[str, Any],
    unresolved: list[Problem] | None = None,
    reported: list[Problem] | None = None,
) -> Experiment:
    """Apply the profile, then the overrides, to the experiment's raw values, and check the result.

    `unresolved` problems stop the check; `reported` ones (the defaults') are reported with it.
    The positions are copied, so that a value a profile or an override sets points at where it
    was written.
    """
    source = Source(source.file, source.data, dict(source.values), dict(source.keys), [])
    root: KeyPath = ("experiments", name)
    problems = list(unresolved or [])
    checker = schema.Checker(source)
    raw = copy.deepcopy(raw) if raw is not None else {}
    if profile is not None:
        profile_path = ("profiles", profile)
        _apply_profile(source, raw, root, profile_path, copy.deepcopy(profile_raw) or {}, problems)
    for index, (field, value) in enumerate(overrides.items(), start=1):
        where = Position(OVERRIDES_FILE, index, 1)
        if isinstance(value, str):
            value = read_value(value)  # the same limits as the file: no alias bomb or deep nesting in --set
        _set(source, raw, root, field, value, where, problems)
    experiment = None if problems else schema.check_experiment(checker, name, raw, root, defaults)
    problems += checker.problems + list(reported or [])
    if problems or experiment is None:
        if profile is not None:
            # the same rule can pass without the profile: say which variant broke it
            problems = [
                dataclasses.replace(problem, message=f"{problem.message} (with profile {profile!r})")
                for problem in problems
            ]
        raise InvalidExperiments(problems or [Problem(source.file, 1, 1, dotted(root), "invalid")])
    return experiment


def parse_overrides(assignments: list[str]) -> dict[str, str]:
    """`["max_trial_count=3", ...]` -> `{"max_trial_count": "3", ...}`; compiling reads the values as YAML."""
    result: dict[str, str] = {}
    problems = []
    for index, assignment in enumerate(assignments, start=1):
        field, equals, value = assignment.partition("=")
        if equals and field.strip():
            result[field.strip()] = value
        else:
            message = f"expected FIELD=VALUE (e.g. max_trial_count=3), got {assignment!r}"
            problems.append(Problem(OVERRIDES_FILE, index, 1, field.strip(), message))
    if problems:
        raise InvalidExperiments(problems)
    return result


def _apply_profile(
    source: Source, raw: dict, root: KeyPath, profile_path: KeyPath, profile: dict, problems: list[Problem]
) -> None:
    if not isinstance(raw, dict):
        return  # the experiment's own check reports it
    trainer = raw.get("trainer")
    if not isinstance(trainer, dict):
        trainer = raw["trainer"] = {}
    args = profile.get("trainer_args") or []
    if args:
        existing = trainer.get("args")
        existing = list(existing) if isinstance(existing, list) else []
        for offset in range(len(args)):
            source.values[(*root, "trainer", "args", len(existing) + offset)] = source.where(
                (*profile_path, "trainer_args", offset)
            )
        trainer["args"] = existing + list(args)
    env = profile.get("trainer_env") or {}
    if env:
        existing = trainer.get("env") if isinstance(trainer.get("env"), dict) else {}
        for key in env:
            source.values[(*root, "trainer", "env", key)] = source.where((*profile_path, "trainer_env", key))
            source.keys[(*root, "trainer", "env", key)] = source.where(
                (*profile_path, "trainer_env", key), key=True
            )
        trainer["env"] = {**existing, **env}
    for field, value in (profile.get("set") or {}).items():
        _set(source, raw, root, field, value, source.where((*profile_path, "set", field)), problems)


def _set(
    source: Source, raw: dict, root: KeyPath, field: str, value: Any, where: Position, problems: list[Problem]
) -> None:
    """Set dotted `field` (`a.b`, `a.0.b` or `a[0].b`) in `raw`, recording `where` it came from."""
    pieces = field.split(".")
    if not all(_PATH_PIECE.fullmatch(piece) for piece in pieces):
        message = "not a field path like max_trial_count or worker_pools.0.replica_count"
        problems.append(Problem.at(where, field, message))
        return
    parts = [
        int(index or name) if index or name.isdigit() else name
        for piece in pieces
        for name, index in _PATH_PART.findall(piece)
    ]
    node: Any = raw
    for depth, part in enumerate(parts):
        in_dict = isinstance(node, dict) and not isinstance(part, int)
        if not (in_dict or (isinstance(node, list) and isinstance(part, int) and part < len(node))):
            problems.append(Problem.at(where, dotted((*root, *parts[: depth + 1])), "no such field to set"))
            return
        if depth == len(parts) - 1:
            node[part] = value
        elif not isinstance(node.get(part) if in_dict else node[part], (dict, list)):
            # what is not there yet (or not a container) becomes one, as the next part needs
            node[part] = [] if in_dict and isinstance(parts[depth + 1], int) else {}
        node = node[part]
    target = (*root, *parts)
    for table in (source.values, source.keys):
        for path in [path for path in table if path[: len(target)] == target]:
            del table[path]
        table[target] = where

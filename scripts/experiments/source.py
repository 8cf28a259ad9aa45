"""YAML with positions: plain Python values, plus where each value (and each key) was written.

Plain YAML loaders silently keep the last of two equal keys and forget line numbers; this
loader reports duplicate keys and keeps a `Position` for every value and mapping key, addressed
by its path from the root (a tuple of keys and list indexes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from scripts.experiments.problems import Problem

# Where a value sits in the document: the keys and list indexes from the root to it.
KeyPath = tuple[Any, ...]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class Position:
    file: str
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class Source:
    """A parsed document: its data, where each value and key was written, and what was wrong."""

    file: str
    data: Any = None
    values: dict[KeyPath, Position] = field(default_factory=dict)
    keys: dict[KeyPath, Position] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def where(self, path: KeyPath, key: bool = False) -> Position:
        """The position of the value at `path` (or of its key), else of its nearest written ancestor."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), Position(self.file, 1, 1))


def dotted(path: KeyPath) -> str:
    """`("experiments", "x", "worker_pools", 0)` -> `experiments.x.worker_pools[0]`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def parse(text: str, file: str) -> Source:
    """Parse one YAML document; syntax errors and duplicate keys become problems, never exceptions."""
    source = Source(file)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(part for part in (error.context, error.problem) if part) or "invalid YAML"
        source.problems.append(Problem(file, line, column, "", f"YAML syntax error: {message}"))
        return source
    except yaml.reader.ReaderError as error:  # a character YAML does not allow
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        character = f"#x{error.character:04x}" if isinstance(error.character, int) else repr(error.character)
        source.problems.append(
            Problem(
                file,
                line,
                column,
                "",
                f"YAML syntax error: character {character} is not allowed ({error.reason})",
            )
        )
        return source
    except yaml.YAMLError as error:
        source.problems.append(Problem(file, 1, 1, "", f"YAML syntax error: {error}"))
        return source
    if node is None:
        return source
    constructor = yaml.constructor.SafeConstructor()
    source.data = _build(node, (), source, constructor, set())
    return source


def _position(node: yaml.Node, file: str) -> Position:
    return Position(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _build(node: yaml.Node, path: KeyPath, source: Source, constructor, active: set[int]) -> Any:
    source.values[path] = _position(node, source.file)
    if id(node) in active:  # an alias that contains itself
        source.problems.append(Problem(source.file, *_lc(node), dotted(path), "recursive YAML alias"))
        return None
    if isinstance(node, yaml.ScalarNode):
        try:
            return constructor.construct_object(node, deep=True)
        except yaml.YAMLError as error:
            source.problems.append(Problem(source.file, *_lc(node), dotted(path), f"invalid value: {error}"))
            return None
    active = active | {id(node)}
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(item, (*path, index), source, constructor, active) for index, item in enumerate(node.value)
        ]
    result: dict[Any, Any] = {}
    merged: set[Any] = set()
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG:
            # `<<: *anchor`: its keys apply unless this mapping writes them itself
            for extra in _merge_sources(value_node):
                for extra_key, extra_value in extra.value:
                    key = _key(extra_key, constructor)
                    if key not in result:
                        result[key] = _build(extra_value, (*path, key), source, constructor, active)
                        source.keys[(*path, key)] = _position(extra_key, source.file)
                        merged.add(key)
            continue
        key = _key(key_node, constructor)
        if key is _UNHASHABLE:
            source.problems.append(
                Problem(source.file, *_lc(key_node), dotted(path), "mapping keys must be plain scalars")
            )
            continue
        if key in result and key not in merged:
            first = source.keys[(*path, key)]
            source.problems.append(
                Problem(
                    source.file,
                    *_lc(key_node),
                    dotted((*path, key)),
                    f"duplicate key {key!r} (first written at line {first.line})",
                )
            )
            continue
        merged.discard(key)
        source.keys[(*path, key)] = _position(key_node, source.file)
        result[key] = _build(value_node, (*path, key), source, constructor, active)
    return result


_UNHASHABLE = object()


def _key(node: yaml.Node, constructor) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return _UNHASHABLE
    try:
        return constructor.construct_object(node, deep=True)
    except yaml.YAMLError:
        return node.value


def _merge_sources(node: yaml.Node) -> list[yaml.MappingNode]:
    if isinstance(node, yaml.MappingNode):
        return [node]
    if isinstance(node, yaml.SequenceNode):
        return [item for item in node.value if isinstance(item, yaml.MappingNode)]
    return []


def _lc(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1

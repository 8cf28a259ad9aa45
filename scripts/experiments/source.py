"""YAML with positions: plain Python values, plus where each value (and each key) was written.

Plain YAML loaders silently keep the last of two equal keys and forget line numbers; this
loader reports duplicate keys and keeps a `Position` for every value and mapping key, addressed
by its path from the root (a tuple of keys and list indexes). A `Problem` is what is wrong at
one position, and `InvalidExperiments` every problem found: the one error type the language raises.

Hostile input cannot hurt (CI runs `validate` on every pull request's file):

- nesting is bounded *before* the composer recurses: a first pass over the parser's event stream
  (libyaml's parser keeps its own stack, it does not recurse) stops at `MAX_DEPTH` open
  collections, so 100 000 nested `[` are one located problem, not a `RecursionError` or a
  segfault inside libyaml's composer;
- aliases and merge keys are expanded within a budget: building the plain values counts every
  value and every merged key it produces, and a document that expands past `MAX_VALUES` (a
  "billion laughs" alias bomb, a chain of `<<` merges) is refused at the alias or merge key where
  the budget ran out; the depth an alias reaches is bounded the same way;
- text is at most `MAX_TEXT` characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn

import yaml

from scripts.errors import UserError

# Where a value sits in the document: the keys and list indexes from the root to it.
KeyPath = tuple[Any, ...]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"

# Nested collections (mappings and lists) a document may open. The deepest shipped path is about
# ten levels (a conditional parameter's child); each level of conditional parameters adds four.
MAX_DEPTH = 64
# Values (and merged keys) a document may expand to, aliases and merge keys included: some
# hundred times what a large experiments file holds, and built in well under a second.
MAX_VALUES = 20_000
# Characters of YAML text read: an experiments file is a few kilobytes.
MAX_TEXT = 2_000_000


class _Refused(Exception):
    """Building stopped: the document is too deep or expands too far (a problem says where)."""


@dataclass(frozen=True)
class Position:
    file: str
    line: int  # 1-based
    column: int  # 1-based


@dataclass(frozen=True, order=True)
class Problem:
    """One problem at one place: `str()` is `FILE:LINE:COL: dotted.field.path: message`."""

    file: str
    line: int
    column: int
    field: str
    message: str

    @classmethod
    def at(cls, where: Any, field: str, message: str) -> Problem:
        """A problem at a `Position` (or anything with its file, line and column)."""
        return cls(where.file, where.line, where.column, field, message)

    def __str__(self) -> str:
        field = self.field or "(file)"
        message = " ".join(self.message.split())  # always one line
        return f"{self.file}:{self.line}:{self.column}: {field}: {message}"


class InvalidExperiments(UserError):
    """Every problem found in an experiments file (or in the profile and overrides applied to it)."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(problem) for problem in self.problems))


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

    def written(self, path: KeyPath) -> Any:
        """The value at `path` as the file wrote it (before `${VAR}` references were resolved)."""
        value = self.data
        for part in path:
            in_mapping = isinstance(value, dict) and part in value
            in_list = isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
            if not (in_mapping or in_list):
                return None
            value = value[part]
        return value


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
    if len(text) > MAX_TEXT:
        source.problems.append(
            Problem(file, 1, 1, "", f"the file has {len(text)} characters; at most {MAX_TEXT} are read")
        )
        return source
    too_deep = _too_deep(text, file)
    if too_deep is not None:
        source.problems.append(too_deep)
        return source
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
        message = f"YAML syntax error: character {character} is not allowed ({error.reason})"
        source.problems.append(Problem(file, line, column, "", message))
        return source
    except yaml.YAMLError as error:
        source.problems.append(Problem(file, 1, 1, "", f"YAML syntax error: {error}"))
        return source
    if node is None:
        return source
    constructor = yaml.constructor.SafeConstructor()
    try:
        source.data = _build(node, (), source, constructor, set(), _Budget())
    except _Refused:
        source.data = None
    return source


def read_value(text: str) -> Any:
    """One YAML value from text given on a command line or in a variable (`--set`, `${VAR}`):
    the plain value, or the text itself when it is not valid YAML or breaks the limits above."""
    source = parse(text, "<value>")
    return text if source.problems else source.data


def _too_deep(text: str, file: str) -> Problem | None:
    """The first collection opened deeper than `MAX_DEPTH`, found from the parser's events alone."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    message = f"YAML nested more than {MAX_DEPTH} levels deep; refused"
                    return Problem(file, *_lc(event), "", message)
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return None  # composing reports it, and stops at the same place
    return None


class _Budget:
    """How many more values a document may expand to."""

    def __init__(self) -> None:
        self.left = MAX_VALUES

    def spend(self, node: yaml.Node, path: KeyPath, source: Source) -> None:
        self.left -= 1
        if self.left < 0:
            _refuse(
                source,
                node,
                path,
                f"the document expands to more than {MAX_VALUES} values through aliases (*name) "
                "or merge keys (<<); refused",
            )


def _position(node: yaml.Node, file: str) -> Position:
    return Position(file, *_lc(node))


def _build(
    node: yaml.Node, path: KeyPath, source: Source, constructor, active: set[int], budget: _Budget
) -> Any:
    budget.spend(node, path, source)
    if len(path) > MAX_DEPTH:  # reached through aliases: the text itself was checked before
        message = f"YAML nested more than {MAX_DEPTH} levels deep (through aliases); refused"
        _refuse(source, node, path[:MAX_DEPTH], message)
    source.values[path] = _position(node, source.file)
    if id(node) in active:  # an alias that contains itself
        _report(source, node, path, "recursive YAML alias")
        return None
    if isinstance(node, yaml.ScalarNode):
        try:
            return constructor.construct_object(node, deep=True)
        except yaml.YAMLError as error:
            _report(source, node, path, f"invalid value: {error}")
            return None
        except Exception:  # noqa: BLE001 - PyYAML's constructors raise anything for `!!int y`, `!!timestamp x`
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            _report(source, node, path, f"invalid value: {node.value[:40]!r} is not a valid {tag}")
            return None
    active = active | {id(node)}
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(item, (*path, index), source, constructor, active, budget)
            for index, item in enumerate(node.value)
        ]
    result: dict[Any, Any] = {}
    merged: set[Any] = set()
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG:
            # `<<: *anchor`: its keys apply unless this mapping writes them itself
            for extra_key, extra_value in _merged_pairs(value_node, path, source, budget, active):
                key = _key(extra_key, constructor)
                if key is not _UNHASHABLE and key not in result:
                    result[key] = _build(extra_value, (*path, key), source, constructor, active, budget)
                    source.keys[(*path, key)] = _position(extra_key, source.file)
                    merged.add(key)
            continue
        key = _key(key_node, constructor)
        if key is _UNHASHABLE:
            _report(source, key_node, path, "mapping keys must be plain scalars")
            continue
        if key in result and key not in merged:
            first = source.keys[(*path, key)]
            _report(
                source, key_node, (*path, key), f"duplicate key {key!r} (first written at line {first.line})"
            )
            continue
        merged.discard(key)
        source.keys[(*path, key)] = _position(key_node, source.file)
        result[key] = _build(value_node, (*path, key), source, constructor, active, budget)
    return result


_UNHASHABLE = object()


def _key(node: yaml.Node, constructor) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return _UNHASHABLE
    try:
        return constructor.construct_object(node, deep=True)
    except Exception:  # noqa: BLE001 - as in _build: the key's own text stands for it
        return node.value


def _merged_pairs(
    node: yaml.Node, path: KeyPath, source: Source, budget: _Budget, active: set[int], depth: int = 0
) -> list[tuple[yaml.Node, yaml.Node]]:
    """The key and value nodes a merge key brings in, the merged mappings' own merges applied
    (their own keys first, then what they merge), within the budget and the depth limit."""
    if depth > MAX_DEPTH:
        _refuse(source, node, path, f"merge keys (<<) chained more than {MAX_DEPTH} deep")
    pairs: list[tuple[yaml.Node, yaml.Node]] = []
    for mapping in _merge_sources(node):
        if id(mapping) in active:
            continue  # a mapping merging itself: nothing more to bring in
        inner = active | {id(mapping)}
        nested = []
        for key_node, value_node in mapping.value:
            budget.spend(key_node, path, source)
            if key_node.tag == _MERGE_TAG:
                nested.extend(_merged_pairs(value_node, path, source, budget, inner, depth + 1))
            else:
                pairs.append((key_node, value_node))
        pairs.extend(nested)
    return pairs


def _merge_sources(node: yaml.Node) -> list[yaml.MappingNode]:
    if isinstance(node, yaml.MappingNode):
        return [node]
    if isinstance(node, yaml.SequenceNode):
        return [item for item in node.value if isinstance(item, yaml.MappingNode)]
    return []


def _lc(node: yaml.Node | yaml.Event) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _report(source: Source, node: yaml.Node, path: KeyPath, message: str) -> None:
    source.problems.append(Problem(source.file, *_lc(node), dotted(path), message))


def _refuse(source: Source, node: yaml.Node, path: KeyPath, message: str) -> NoReturn:
    """Report why building stops at `node`, and stop it."""
    _report(source, node, path, message)
    raise _Refused

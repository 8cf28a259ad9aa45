"""The one escaper for text that an experiments file, a pull request, a comment or a trial chose.

Such text is shown in three languages, each with its own dangers:

- Markdown (our pull-request comments, job summaries): `text` for prose and table cells, `code`
  for an inline code span, `fenced` for lines in a code block. A value must never build
  structure there: close our `<details>`, start a heading, show an image (a beacon), make a link,
  notify someone with an `@mention`, or break a table row.
- A workflow log (a step's stdout and stderr): `log_line`. The Actions runner obeys a line that
  starts with `::command::` (after leading spaces), and a legacy `##[command]` anywhere in a line,
  so a value must not end the line nor hold a command the runner can see.
- A terminal: `terminal_line`. A value must not end the line, nor move the cursor or clear the
  screen (ANSI sequences start with ESC).

Each takes any object (shown as `str(value)`) and returns one line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# An invisible character that breaks what GitHub would otherwise recognise (an `@mention`, an
# autolinked URL, a workflow command) without changing what a reader sees.
_ZERO_WIDTH_SPACE = "\u200b"
_ZWSP_ENTITY = "&#8203;"  # the same in Markdown, visible in the comment's source

# ASCII punctuation that can start Markdown structure anywhere in a line: code spans, emphasis,
# images, table cells, strikethrough, math; a backslash makes each literal. `_` between two
# letters or digits (`learning_rate`) emphasizes nothing in GFM: left as it is.
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*!|~$]|(?<![^\W_])_|_(?![^\W_]))")
# A link needs `](` or `][` (with no definition possible, `[x]` and `args[1]` are text), so only
# that `]` is escaped.
_LINK = re.compile(r"\](?=[(\[])")
# A line that starts like a heading (`# x`), a list item (`- x`, `1. x`), a link definition or task
# (`[x]: url`), or is a thematic break or setext underline (`---`, `===`); `-0.5`, `1.5` and `#5`
# mid-line are left alone.
_LEADING_BLOCK = re.compile(r"^(?:#|\[|[-+=](?=[-+= ]*$| )|\d{1,9}[.)](?= |$))")
# GitHub links `http://`, `https://`, `ftp://` and `www.` in text by itself (`gs://` it does not);
# a zero-width space after the colon or before the dot stops it.
_AUTOLINK = re.compile(r"(?:(?<=http:)|(?<=https:)|(?<=ftp:))(?=//)|(?<=www)(?=\.)", re.IGNORECASE)
# Characters that end a line for someone (str.splitlines' set), other control characters that a
# terminal or log viewer may act on (ESC starts ANSI sequences), bidi controls (they reorder what
# is seen), and lone surrogates (no UTF-8 can carry them: printing one fails).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def text(value: object) -> str:
    """`value` as inert, one-line Markdown text: safe in prose, in a table cell, after `> `.

    Whitespace (line breaks included) collapses to single spaces; `& < >` become entities, so no
    HTML (`</details>`, `<!--`, `<img>`) survives; Markdown punctuation is backslash-escaped, so no
    heading, link, image, emphasis, code span or cell break; `@` and URLs get a zero-width space,
    so nobody is notified and nothing is autolinked. It renders as the value's own characters.
    """
    shown = " ".join(_CONTROL.sub("\ufffd", _whitespace_to_space(str(value))).split())
    shown = shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    shown = _MARKDOWN_PUNCTUATION.sub(r"\\\1", shown)
    shown = _LINK.sub(r"\\]", shown)
    shown = _LEADING_BLOCK.sub(lambda m: f"{m[0][:-1]}\\{m[0][-1]}", shown, count=1)
    shown = shown.replace("@", "@" + _ZWSP_ENTITY)
    return _AUTOLINK.sub(_ZWSP_ENTITY, shown)


def code(value: object) -> str:
    """`value` as an inline code span, shown literally on one line whatever backticks it holds.

    Whitespace (line breaks included) collapses to single spaces. The fence is a backtick run
    longer than any inside, padded with a space when the value starts or ends with a backtick.
    `|` is written `\\|`: inside a GitHub table that is the only way a code span can hold a pipe
    without ending the cell (outside a table the backslash shows). An empty value is `(empty)`.
    """
    shown = " ".join(_CONTROL.sub("\ufffd", _whitespace_to_space(str(value))).split())
    if not shown:
        return "(empty)"
    shown = shown.replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall("`+", shown)), default=0) + 1)
    if shown.startswith("`") or shown.endswith("`"):
        shown = f" {shown} "
    return f"{fence}{shown}{fence}"


def fenced(lines: Iterable[object]) -> list[str]:
    """`lines` as a fenced code block, each shown literally on a line of its own.

    A line break or control character inside one is shown as its escape (`\\n`), and the fence is
    longer than any backtick run inside, so no line can close the block early.
    """
    shown = [_visible(str(line)) for line in lines]
    longest = max((len(run) for line in shown for run in re.findall("`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, *shown, fence]


def log_line(value: object) -> str:
    """`value` as one line of a workflow log that starts no workflow command.

    Line breaks and other control characters are shown as their escapes (`\\n`, `\\r`, `\\x1b`),
    and a zero-width space splits every `::` and `##[`, so the runner sees no `::add-mask::`,
    `::stop-commands::` or `##[set-output]` whatever a key or message holds, and where it stands.
    """
    shown = _visible(str(value))
    return shown.replace("::", f":{_ZERO_WIDTH_SPACE}:").replace("##[", f"#{_ZERO_WIDTH_SPACE}#[")


def terminal_line(value: object) -> str:
    """`value` as one line of a terminal: each control character written as its escape."""
    return _visible(str(value))


def _visible(value: str) -> str:
    """`value` with each control character written as its escape, so it stays one line."""
    return _CONTROL.sub(lambda m: ascii(m[0])[1:-1], value)


def _whitespace_to_space(value: str) -> str:
    # Line breaks and tabs are whitespace to Markdown: spaces, not a replacement character.
    return re.sub(r"\s", " ", value)

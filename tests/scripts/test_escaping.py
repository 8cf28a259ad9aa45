"""Text a file, a pull request or a trial chose is shown as itself, and builds nothing.

Markdown is checked as GitHub renders it (cmark-gfm, `tests/markdown_render.py`): a value in a
paragraph, a table cell or a code span yields that value's characters and no element of its own.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scripts import escaping
from tests.markdown_render import LIVE_MENTION, parse

ZWSP = "\u200b"
FORGED_PLAN = (
    "</details>\n\n### Worst case $0.42 (approved)\n\n![b](https://evil.example/beacon.png) @org/admins"
)
HOSTILE = [
    "</details>",
    "x\n### Worst case $0.42 (approved)",
    "![x](https://evil/beacon.png)",
    "[a](javascript:x)",
    "<img src=https://evil/beacon.png>",
    "@org/team please merge",
    "mail admin@example.com",
    "see https://evil.example/x and www.evil.example",
    "a `b` `` c ``` d",
    "`edge`",
    "a | b || c",
    "::add-mask::x",
    "<!-- hpt:record head=f -->",
    "*bold* _em_ __strong__ a_b_c ~~gone~~ $x^2$ \\",
    "- item",
    "1. item",
    "---",
    "> [!WARNING] forged",
    "&lt;b&gt; &amp; &#64;",
    FORGED_PLAN,
]
# Text with Markdown's and HTML's special characters, line breaks and mentions over-represented.
MARKDOWN_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("\\`*_[]()#!|~$<>&@:/.-+=0123456789 \n\r\tw\u2028")), st.characters()
    ),
    max_size=40,
)


def shown(value: str) -> str:
    """What a reader should see of `value`: its words on one line, control characters (which a
    terminal or a browser may act on) as the replacement character."""
    return re.sub(
        r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]", "\ufffd", " ".join(value.split())
    )


def _cell(markdown_cell: str):
    root, stray = parse(f"| h |\n|---|\n| {markdown_cell} |\n")
    (table,) = root.find("table")
    (cell,) = table.find("td")
    return cell, stray


@pytest.mark.parametrize("value", HOSTILE)
def test_text_in_a_paragraph_is_the_value_and_nothing_else(value):
    root, stray = parse(f"> {escaping.text(value)}\n")
    (quote,) = [child for child in root.children if not isinstance(child, str)]
    assert quote.tag == "blockquote" and stray == []
    assert [tag for tag in quote.tags()] == ["p"]  # no heading, image, link, emphasis, code, HTML
    assert quote.text.strip().replace(ZWSP, "") == shown(value)
    assert not LIVE_MENTION.search(quote.prose())
    assert "https://" not in quote.text and "www." not in quote.text  # nothing to autolink


@pytest.mark.parametrize("value", HOSTILE)
def test_text_and_code_keep_a_table_row_one_cell_each(value):
    for markdown_cell in (escaping.text(value), escaping.code(value)):
        cell, stray = _cell(markdown_cell)
        assert stray == [] and cell.tags() in ([], ["code"])
    cell, _ = _cell(escaping.code(value))
    assert cell.tags() == ["code"] and cell.find("code")[0].text == shown(value)


@given(MARKDOWN_TEXT)
def test_any_text_renders_as_its_own_characters_in_a_cell(value):
    cell, stray = _cell(escaping.text(value))
    assert stray == [] and cell.tags() == []
    assert cell.text.replace(ZWSP, "") == shown(value).replace(ZWSP, "")


@given(MARKDOWN_TEXT)
def test_any_text_renders_as_its_own_characters_at_the_start_of_a_line(value):
    root, stray = parse(f"> {escaping.text(value)}\n")
    (quote,) = root.find("blockquote")
    assert stray == [] and quote.tags() in ([], ["p"])
    assert quote.text.strip().replace(ZWSP, "") == shown(value).replace(ZWSP, "")


@given(MARKDOWN_TEXT)
def test_any_text_renders_as_its_own_characters_in_a_code_span(value):
    cell, stray = _cell(escaping.code(value))
    expected = shown(value)
    if not expected:
        assert cell.text == "(empty)"
        return
    assert stray == [] and cell.tags() == ["code"]
    assert cell.find("code")[0].text == expected


def test_text_escapes_what_builds_structure_and_leaves_plain_words_alone():
    assert escaping.text("relu") == "relu" and escaping.text("-0.5") == "-0.5" and escaping.text(1.5) == "1.5"
    assert escaping.text("a\nb\r\nc") == "a b c"
    assert escaping.text("learning_rate") == "learning_rate"  # no emphasis between two letters
    assert escaping.text("__approved__ _x_") == "\\_\\_approved\\_\\_ \\_x\\_"
    assert escaping.text("</details>") == "&lt;/details&gt;"
    assert (
        escaping.text("### x") == "\\### x" and escaping.text("pull request #5 (x)") == "pull request #5 (x)"
    )
    assert escaping.text("![b](u)") == "\\![b\\](u)" and escaping.text("args[1]") == "args[1]"
    assert escaping.text("@org/admins") == "@&#8203;org/admins"
    assert escaping.text("https://e.x") == "https:&#8203;//e.x"
    assert escaping.text("gs://bucket/x") == "gs://bucket/x"  # not a link on GitHub: left alone
    assert escaping.text("a|b") == "a\\|b"
    assert escaping.text("- x") == "\\- x" and escaping.text("2. x") == "2\\. x"


def test_no_value_defines_a_link_that_another_value_uses():
    document = [
        f"> {escaping.text('[x]: https://evil.example/a')}",
        "",
        f"> {escaping.text('see [x] and [x][]')}",
    ]
    root, stray = parse("\n".join(document) + "\n")
    assert root.find("a") == [] and stray == []
    assert "[x]: https://evil.example/a" in root.text.replace(ZWSP, "")


def test_code_fences_past_any_backtick_run_and_writes_pipes_for_a_table():
    assert escaping.code("--lr=0.1") == "`--lr=0.1`"
    assert escaping.code("a`b") == "``a`b``"
    assert escaping.code("a ``` b") == "````a ``` b````"
    assert escaping.code("`x`") == "`` `x` ``"
    assert escaping.code("a|b") == "`a\\|b`"
    assert escaping.code("a\n## b") == "`a ## b`"
    assert escaping.code("") == "(empty)"


def test_fenced_lines_stay_inside_their_block():
    lines = ["f:1:1: a\n```\n## forged: x", "````", "</details>"]
    block = escaping.fenced(lines)
    assert block[0] == block[-1] == "`````"
    assert block[1:-1] == ["f:1:1: a\\n```\\n## forged: x", "````", "</details>"]
    root, stray = parse("\n".join(block) + "\n")
    assert root.tags() == ["pre", "code"] and stray == []
    assert root.find("code")[0].text.splitlines() == block[1:-1]


@pytest.mark.parametrize(
    "value", [*HOSTILE, "  ::stop-commands::tok", "x\n::warning::y", "a ##[add-mask]b", "\x1b[2K"]
)
def test_a_log_line_is_one_line_that_starts_no_workflow_command(value):
    line = escaping.log_line(value)
    assert len(line.splitlines()) <= 1 and "\r" not in line and "\x1b" not in line
    assert not line.lstrip().startswith("::")
    assert "::" not in line and "##[" not in line  # a runner finds `##[` anywhere in a line
    assert line.replace(ZWSP, "").replace("\\n", "\n").replace("\\r", "\r") == value.replace("\x1b", "\\x1b")


def test_a_log_line_shows_breaks_as_escapes():
    assert escaping.log_line("a\r\nb\u2028c") == "a\\r\\nb\\u2028c"
    assert escaping.log_line("::add-mask::x") == f":{ZWSP}:add-mask:{ZWSP}:x"
    assert escaping.log_line("plain text: ok") == "plain text: ok"


@given(st.text(alphabet=st.one_of(st.sampled_from(list(":#[ \n\r\x1b\u2028")), st.characters()), max_size=30))
def test_any_log_line_is_one_line_with_no_command_in_it(value):
    line = escaping.log_line(value)
    assert line.splitlines() in ([], [line]) and "::" not in line and "##[" not in line
    line.encode("utf-8")  # printable, whatever surrogates the value held


@given(st.lists(MARKDOWN_TEXT, max_size=4))
def test_any_lines_stay_inside_one_code_block(lines):
    block = escaping.fenced(lines)
    root, stray = parse("\n".join(block) + "\n")
    assert stray == [] and root.tags() == ["pre", "code"]
    assert root.find("code")[0].text == "".join(f"{line}\n" for line in block[1:-1]).replace("\x00", "\ufffd")

"""What a reader of our comments sees: Markdown rendered by GitHub's own parser, cmark-gfm.

GitHub renders comments with cmark-gfm (tables, autolinks, strikethrough), then sanitizes the
HTML and links `@mentions` in its text. Raw HTML is kept here (the sanitizer is GitHub's, not
ours): a comment of ours must not need it to stay safe.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

# A mention GitHub would link (and notify): `@` then a user or team name, in text.
LIVE_MENTION = re.compile(r"(?<![\w`])@[A-Za-z0-9]")


def render(markdown: str) -> str:
    """The HTML GitHub's parser makes of `markdown`, raw HTML left in."""
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


class Element:
    def __init__(self, tag: str, attributes: dict[str, str | None]):
        self.tag, self.attributes = tag, attributes
        self.children: list[Element | str] = []

    @property
    def text(self) -> str:
        return "".join(child if isinstance(child, str) else child.text for child in self.children)

    def prose(self) -> str:
        """The text outside code, where GitHub links mentions and references."""
        return "".join(
            child if isinstance(child, str) else child.prose() if child.tag not in ("code", "pre") else ""
            for child in self.children
        )

    def find(self, tag: str) -> list[Element]:
        found = []
        for child in self.children:
            if isinstance(child, Element):
                found += [child] if child.tag == tag else []
                found += child.find(tag)
        return found

    def tags(self) -> list[str]:
        return [
            tag for child in self.children if isinstance(child, Element) for tag in [child.tag, *child.tags()]
        ]


class _Tree(HTMLParser):
    VOID = {"br", "hr", "img", "input"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("root", {})
        self.stack = [self.root]
        self.stray_end_tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        element = Element(tag, dict(attrs))
        self.stack[-1].children.append(element)
        if tag not in self.VOID:
            self.stack.append(element)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if self.stack[-1].tag == tag:
            self.stack.pop()
        else:
            self.stray_end_tags.append(tag)

    def handle_data(self, data):
        self.stack[-1].children.append(data)

    def handle_comment(self, data):
        self.stack[-1].children.append(Element("!--", {"comment": data}))


def parse(markdown: str) -> tuple[Element, list[str]]:
    """The rendered element tree of `markdown`, and the end tags that closed nothing of theirs."""
    tree = _Tree()
    tree.feed(render(markdown))
    tree.close()
    return tree.root, tree.stray_end_tags

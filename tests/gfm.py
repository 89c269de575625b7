"""Markdown rendered as GitHub renders it (cmark-gfm, GitHub's parser, with its table,
autolink, strikethrough and tag-filter extensions), taken apart for tests: the elements,
the links, the text outside code, and each table's rows of cells. GitHub finds mentions,
issue references and maths afterwards in that text: :func:`Rendered.active` looks for
them there, as GitHub would."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

# What GitHub turns into a link or a mention in rendered text (outside code).
MENTION = re.compile(r"@[A-Za-z0-9]")  # a mention, a team, an e-mail address
REFERENCE = re.compile(r"(?<![\w&])#[0-9]|\bGH-[0-9]")
URL = re.compile(r"(?i)\b(?:https?|ftp)://|\bwww\.")  # GFM's autolinks (e-mail: @)


@dataclass
class Rendered:
    tags: list[str] = field(default_factory=list)
    hrefs: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)  # text nodes outside <code>
    unlinked: list[str] = field(default_factory=list)  # ... and outside links
    code: list[str] = field(default_factory=list)  # the text of each <code>
    tables: list[list[list[str]]] = field(default_factory=list)  # table -> row -> cells

    def active(self) -> list[str]:
        """Mentions, issue references and URLs GitHub would link in the text."""
        found: list[str] = []
        for node in self.unlinked:
            for pattern in (MENTION, REFERENCE, URL):
                found += [m.group() for m in pattern.finditer(node)]
        return found


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = Rendered()
        self._code = 0
        self._link = 0
        self._cell: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.tags.append(tag)
        if tag == "code":
            self._code += 1
            self.out.code.append("")
        elif tag == "a":
            self._link += 1
            self.out.hrefs += [v or "" for k, v in attrs if k == "href"]
        elif tag == "table":
            self.out.tables.append([])
        elif tag == "tr":
            self.out.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "code":
            self._code -= 1
        elif tag == "a":
            self._link -= 1
        elif tag in ("td", "th") and self._cell is not None:
            self.out.tables[-1][-1].append(self._cell)
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell += data
        if self._code:
            self.out.code[-1] += data
        else:
            self.out.text.append(data)
            if not self._link:
                self.out.unlinked.append(data)


def render(markdown: str) -> Rendered:
    """``markdown`` as GitHub's parser renders it (raw HTML kept, as the summary's own
    sanitiser would see it), taken apart."""
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.out

"""Turning an entry's Markdown answer into plain text (for indexing and the terminal) and
into safe HTML (for the web page and exports). Raw HTML in an entry is never passed through."""
from __future__ import annotations

import html
import re
import threading

_SAFE_SCHEMES = ("http://", "https://", "mailto:", "#", "/")
# Python-Markdown is quadratic on some inputs (many "[", thousands of setext underlines) and
# overflows the stack on deeply nested lists. Answers are a few hundred characters; one
# beyond these bounds is shown as plain paragraphs instead of hanging a build or a page.
MAX_MARKDOWN_CHARS = 10_000
MAX_MARKDOWN_LINES = 300
MAX_MARKDOWN_BRACKETS = 50


_local = threading.local()


def _markdown():
    # Building a Markdown instance costs more than converting an answer: one per thread (an
    # instance is not thread-safe), reset between documents.
    md = getattr(_local, "md", None)
    if md is None:
        import markdown

        md = markdown.Markdown(extensions=["sane_lists"], output_format="html")
        # Python-Markdown passes raw HTML through by default; deregistering these makes it
        # escape "<script>" like any other text.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        _local.md = md
    return md.reset()


_LIST_ITEM = re.compile(r"^\s{0,3}(\d+[.)]|[-*+])\s")


def _loosen_lists(source: str) -> str:
    """Trainers write "**操作步骤**：" with the numbered steps right under it; Markdown wants a
    blank line before a list, else the steps run together into one paragraph."""
    out, prev = [], ""
    for line in source.splitlines():
        if (_LIST_ITEM.match(line) and prev.strip() and not _LIST_ITEM.match(prev)
                and not prev.startswith((" ", "\t"))):
            out.append("")
        out.append(line)
        prev = line
    return "\n".join(out)


def _convert(source: str) -> str | None:
    """Markdown → HTML, or None when the source is outside the bounds above or breaks the parser."""
    if (len(source) > MAX_MARKDOWN_CHARS or source.count("\n") > MAX_MARKDOWN_LINES
            or source.count("[") > MAX_MARKDOWN_BRACKETS):
        return None
    try:
        return _markdown().convert(_loosen_lists(source))
    except Exception:  # RecursionError on deep nesting, or any parser bug: plain text is always safe
        _local.md = None  # a parser that failed half way may keep state; the next one is new
        return None


def _plain_html(source: str) -> str:
    paras = [p.strip() for p in re.split(r"\n\s*\n", source) if p.strip()]
    return "\n".join("<p>" + html.escape(p).replace("\n", "<br />\n") + "</p>" for p in paras)


def to_html(source: str) -> str:
    """Markdown → HTML fragment with every piece of entry text escaped and only safe links."""
    out = _convert(source)
    if out is None:
        return _plain_html(source)

    def fix_link(m):
        url = html.unescape(m.group(2))
        if not url.lower().startswith(_SAFE_SCHEMES):
            return f"{m.group(1)}#\""
        return m.group(0)

    return re.sub(r'(<(?:a|img)\b[^>]*?\b(?:href|src)=")([^"]*)"', fix_link, out)


def _number_items(html_text: str) -> str:
    """Ordered-list items keep their numbers in plain text ("1. …"), as the trainer wrote them."""
    def number(m):
        count = iter(range(1, 10_000))
        return re.sub(r"<li>", lambda _: f"<li-n>{next(count)}. ", m.group(0))
    return re.sub(r"<ol[^>]*>.*?</ol>", number, html_text, flags=re.S)


def to_text(source: str) -> str:
    """Markdown → readable plain text: paragraphs and list items on their own lines."""
    out = _convert(source)
    if out is None:
        out = _plain_html(source)
    out = _number_items(out)
    out = re.sub(r"<li>", "- ", out).replace("<li-n>", "")
    out = re.sub(r"</li>\s*", "\n", out)
    out = re.sub(r"</(p|h\d|blockquote|pre|tr|ol|ul)>|<br\s*/?>", "\n", out)
    out = re.sub(r"<[^>]+>", "", out)
    out = html.unescape(out)
    lines = [line.strip() for line in out.splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()

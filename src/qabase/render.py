"""Turning an entry's Markdown answer into plain text (for indexing and the terminal) and
into safe HTML (for the web page and exports). Raw HTML in an entry is never passed through."""
from __future__ import annotations

import html
import re

_SAFE_SCHEMES = ("http://", "https://", "mailto:", "#", "/")


def _markdown():
    import markdown

    md = markdown.Markdown(extensions=["sane_lists"], output_format="html")
    # Python-Markdown passes raw HTML through by default; deregistering these makes it
    # escape "<script>" like any other text.
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return md


def to_html(source: str) -> str:
    """Markdown → HTML fragment with every piece of entry text escaped and only safe links."""
    out = _markdown().convert(source)

    def fix_link(m):
        url = html.unescape(m.group(2))
        if not url.lower().startswith(_SAFE_SCHEMES):
            return f"{m.group(1)}#\""
        return m.group(0)

    return re.sub(r'(<(?:a|img)\b[^>]*?\b(?:href|src)=")([^"]*)"', fix_link, out)


def to_text(source: str) -> str:
    """Markdown → readable plain text: paragraphs and list items on their own lines."""
    out = _markdown().convert(source)
    out = re.sub(r"<li>", "- ", out)
    out = re.sub(r"</(p|li|h\d|blockquote|pre|tr)>|<br\s*/?>", "\n", out)
    out = re.sub(r"<[^>]+>", "", out)
    out = html.unescape(out)
    lines = [line.strip() for line in out.splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()

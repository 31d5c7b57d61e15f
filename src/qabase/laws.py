"""Statute texts in the LawRefBook Markdown layout, read from a directory the user names.

qabase ships no statute text: the catalogue in ``kb/instruments.yaml`` holds facts about
instruments, and the texts come from the user's own statute library (``--statutes``,
``QABASE_STATUTES``). Articles are lines that start ``第X条`` (or ``第X条之一``) followed by a
space; some older interpretations number them ``74.`` instead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .citations import normalise_name
from .numerals import NUMERAL_CHARS, to_int

_CN = "零〇一二两三四五六七八九十百千"
ARTICLE_RE = re.compile(rf"^第([{_CN}]+)条(?:之([{_CN}]+))?[\s\u3000]+(.*)$")
DOTTED_RE = re.compile(r"^(\d{1,3})[.．]\s*(.*)$")
_TITLE_VERSION = re.compile(r"[（(]\d{4}年?(修正|修订)?[）)]$")


@dataclass
class Statute:
    path: Path
    title: str
    year: int | None
    articles: dict[str, str] = field(default_factory=dict)  # "237" / "10-1" → text

    def keys(self) -> list[str]:
        return list(self.articles)


def _file_title(path: Path, lines: list[str]) -> str:
    for line in lines[:5]:
        m = re.match(r"^>\s*【文件】([^｜|]+)", line)
        if m:
            return _TITLE_VERSION.sub("", m.group(1).strip())
    for line in lines:
        if line.startswith("# "):
            return line[2:].strip()
    return re.sub(r"[（(].*$", "", path.stem.split("_", 1)[-1])


def _file_year(path: Path) -> int | None:
    groups = re.findall(r"[（(]([^）)]*)[）)]", path.stem)
    for g in reversed(groups):
        m = re.search(r"(19|20)\d{2}", g)
        if m:
            return int(m.group(0))
    return None


def parse_statute(path: Path) -> Statute:
    """Split one statute file into articles. Text before ``<!-- INFO END -->`` is metadata."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    title = _file_title(path, lines)
    if "<!-- INFO END -->" in text:
        start = next(i for i, l in enumerate(lines) if "<!-- INFO END -->" in l) + 1
    else:
        start = 0
    body = [l.strip() for l in lines[start:]]
    cn = [ARTICLE_RE.match(l) for l in body]
    use_dotted = not any(cn)
    articles: dict[str, str] = {}
    current = None
    for line, m in zip(body, cn):
        if not line or line.startswith(">"):
            continue
        if line.startswith("#"):
            current = None
            continue
        key, rest = None, None
        if m:
            key = str(to_int(m.group(1))) + (f"-{to_int(m.group(2))}" if m.group(2) else "")
            rest = m.group(3)
        elif use_dotted:
            d = DOTTED_RE.match(line)
            if d:
                n = int(d.group(1))
                # Dotted numbering is sequential; a "1." inside an article is a list item.
                if n == len(articles) + 1:
                    key, rest = str(n), d.group(2)
        if key is not None:
            articles[key] = rest.strip()
            current = key
        elif current is not None:
            articles[current] += "\n" + line
    return Statute(path, title, _file_year(path), articles)


class StatuteLibrary:
    """Every statute file of a directory, matched to catalogue instruments by name and year."""

    def __init__(self, directory: Path | str):
        self.dir = Path(directory)
        self._statutes: list[Statute] | None = None

    @property
    def statutes(self) -> list[Statute]:
        if self._statutes is None:
            self._statutes = [parse_statute(p) for p in sorted(self.dir.glob("*.md"))
                              if not p.name.upper().startswith("README")]
        return self._statutes

    def find(self, instrument) -> Statute | None:
        name = normalise_name(instrument.name)
        same = [s for s in self.statutes if normalise_name(s.title) == name]
        if len(same) <= 1:
            return same[0] if same else None
        want = re.search(r"(19|20)\d{2}", instrument.version or "")
        if want:
            for s in same:
                if s.year == int(want.group(0)):
                    return s
        return None

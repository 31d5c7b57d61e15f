"""The citation grammar of ``legal_basis``: one parser for check, the index and law lookup.

A citation is ``《name》第X条``, optionally followed by ``第X款`` and ``第X项``; the article may
be ``第十条之一``; an older version is named in brackets right after the title:
``《中华人民共和国民事诉讼法》（2021年修正）第二百三十三条``. Numbers are Chinese numerals or digits.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .numerals import NUMERAL_CHARS, to_chinese, to_int

_N = f"[{NUMERAL_CHARS}]+"
CITATION_RE = re.compile(
    rf"^《(?P<name>[^《》]+(?:[《〈][^《》〈〉]+[》〉][^《》]*)*)》"
    rf"(?:[（(](?P<version>[^（）()]+)[）)])?"
    rf"第(?P<article>{_N})条(?:之(?P<sub>{_N}))?"
    rf"(?:第(?P<para>{_N})款)?"
    rf"(?:[（(]?第?(?P<item>{_N})[）)]?项)?$"
)


class CitationSyntaxError(ValueError):
    """Raised when a legal_basis item does not follow the citation grammar."""


@dataclass(frozen=True)
class Citation:
    name: str           # instrument name as written, inner titles normalised to 〈〉
    version: str | None  # e.g. "2021年修正", only when written
    article: int
    sub: int | None = None   # 之一 → 1
    para: int | None = None
    item: int | None = None

    @property
    def article_label(self) -> str:
        s = f"第{to_chinese(self.article)}条"
        if self.sub:
            s += f"之{to_chinese(self.sub)}"
        return s

    @property
    def article_key(self) -> str:
        """Machine form of the article: ``237`` or ``10-1`` for 第十条之一."""
        return f"{self.article}-{self.sub}" if self.sub else str(self.article)

    def canonical(self, name: str | None = None) -> str:
        s = f"《{name or self.name}》"
        if self.version:
            s += f"（{self.version}）"
        s += self.article_label
        if self.para:
            s += f"第{to_chinese(self.para)}款"
        if self.item:
            s += f"第{to_chinese(self.item)}项"
        return s


def normalise_name(name: str) -> str:
    """Compare instrument names regardless of bracket style, width and spacing."""
    name = unicodedata.normalize("NFKC", name)
    name = name.replace("《", "〈").replace("》", "〉").replace("<", "〈").replace(">", "〉")
    name = name.replace("(", "（").replace(")", "）")
    return re.sub(r"\s+", "", name)


def match_numbers(m) -> tuple[int, int | None, int | None, int | None]:
    """(article, 之X, paragraph, item) of a citation match; ValueError on a bad numeral."""
    opt = lambda g: to_int(m[g]) if m[g] else None  # noqa: E731
    return to_int(m["article"]), opt("sub"), opt("para"), opt("item")


def parse_citation(text: str) -> Citation:
    """Parse one ``legal_basis`` item; raise CitationSyntaxError with a Chinese reason."""
    if not isinstance(text, str):
        raise CitationSyntaxError("引用应是一段文字")
    raw = re.sub(r"\s+", "", text)
    m = CITATION_RE.match(raw)
    if not m:
        if not raw.startswith("《"):
            raise CitationSyntaxError(f"引用应以《文件名》开头：{text}")
        if "条" not in raw:
            raise CitationSyntaxError(f"引用应写明条号，如“第二百三十七条”：{text}")
        raise CitationSyntaxError(f"无法解析的引用：{text}（格式：《文件名》第X条[第X款][第X项]）")
    try:
        article, sub, para, item = match_numbers(m)
    except ValueError as e:
        raise CitationSyntaxError(f"{e}：{text}") from None
    if article <= 0 or (para is not None and para <= 0) or (item is not None and item <= 0):
        raise CitationSyntaxError(f"条、款、项的序号应大于零：{text}")
    inner = m["name"]
    inner = re.sub(r"《([^《》]*)》", r"〈\1〉", inner)
    return Citation(inner, m["version"], article, sub, para, item)


# Loose form for queries: "民诉法237条", "民事诉讼法第二百三十七条", "异议复议规定第5条".
QUERY_ARTICLE_RE = re.compile(rf"第?(?P<article>{_N})条(?:之(?P<sub>{_N}))?")

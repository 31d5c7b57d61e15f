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
from ..errors import QabaseError
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
        want = re.search(r"(19|20)\d{2}", instrument.version or "")
        if want:
            # A text of another year is another version: never answer with it.
            same = [s for s in same if s.year is None or s.year == int(want.group(0))]
        return same[0] if len(same) == 1 else None


class UnknownInstrument(QabaseError):
    """Raised when a reference names no instrument of the catalogue; ``hint`` is the closest one."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


class NoSuchArticle(QabaseError):
    """Raised when the instrument is known but the article number does not exist in it."""


class BadReference(QabaseError):
    """Raised when the text does not look like a reference to an article."""


_LOOSE = re.compile(
    rf"^(?P<name>.+?)(?:[（(](?P<version>[^（）()]*\d{{4}}[^（）()]*)[）)])?第?(?P<article>[{NUMERAL_CHARS}]+)条?"
    rf"(?:之(?P<sub>[{NUMERAL_CHARS}]+))?(?:第(?P<para>[{NUMERAL_CHARS}]+)款)?(?:第(?P<item>[{NUMERAL_CHARS}]+)项)?$"
)


@dataclass
class Resolved:
    instrument: object
    citation: object
    text: str | None = None  # article text, when a statute library is available

    def to_dict(self) -> dict:
        from .numerals import to_chinese

        i, c = self.instrument, self.citation
        return {
            "citation": c.canonical(i.name if i.is_current else None) if i.is_current else c.canonical(),
            "instrument": {"id": i.id, "name": i.name, "version": i.version, "issuer": i.issuer,
                           "status": i.status, "superseded_by": i.superseded_by},
            "article": {"number": c.article, "sub": c.sub, "label": c.article_label,
                        "chinese": to_chinese(c.article)},
            "paragraph": c.para, "item": c.item,
            "text": self.text,
        }


def resolve_reference(text: str, catalogue) -> Resolved:
    """Any reasonable form — ``民诉法 237``, ``民事诉讼法第二百三十七条``, ``异议复议规定第5条``,
    ``《中华人民共和国民事诉讼法》（2021年修正）第233条`` — to a catalogued article."""
    import difflib

    from .citations import Citation, match_numbers

    compact = re.sub(r"[\s《》〈〉<>]", "", text or "")
    m = _LOOSE.match(compact)
    if not m:
        raise BadReference(f"无法识别的条文：{text}（例如：民诉法 237、民事诉讼法第二百三十七条）")
    try:
        article, sub, para, item = match_numbers(m)
    except ValueError as e:
        raise BadReference(f"{e}：{text}") from None
    name = m["name"]
    if not catalogue.candidates(name):
        pool = {normalise_name(n): i.name for i in catalogue.instruments for n in (i.name, *i.abbr)}
        close = difflib.get_close_matches(normalise_name(name), list(pool), n=1, cutoff=0.4)
        hint = pool[close[0]] if close else None
        raise UnknownInstrument(f"引用目录中没有“{name}”" + (f"；是不是《{hint}》？" if hint else ""), hint)
    c = Citation(name, m["version"], article, sub, para, item)
    inst = catalogue.resolve(c)
    if inst is None:
        raise UnknownInstrument(f"《{name}》没有“{m['version']}”这个版本")
    c = Citation(inst.name, m["version"], article, sub, para, item)
    keys = inst.article_keys()
    if keys is not None and c.article_key not in keys:
        count = int(inst.articles.get("count") or 0)
        raise NoSuchArticle(f"《{inst.name}》（{inst.version}）没有{c.article_label}，该文件共{count}条")
    return Resolved(inst, c)


def statutes_dir(kb, explicit=None) -> Path | None:
    """``--statutes``, else ``QABASE_STATUTES``, else ``statutes:`` in kb/config.yaml (relative to the root)."""
    import os

    value = explicit or os.environ.get("QABASE_STATUTES") or kb.settings.get("statutes")
    if not value:
        return None
    p = Path(value).expanduser()
    if not p.is_absolute():
        p = (kb.root / p) if not explicit else p.resolve()
    return p if p.is_dir() else None


HOW_TO_ADD = ("未配置法规原文目录，只显示条文的名称和编号。要显示条文原文，请用 --statutes 指定 LawRefBook 格式的法规目录，"
              "或设置环境变量 QABASE_STATUTES，或在 kb/config.yaml 中写 statutes: 目录。")


def article_text(library: StatuteLibrary, instrument, citation) -> str | None:
    st = library.find(instrument)
    if st is None:
        return None
    return st.articles.get(citation.article_key)


def search_articles(library: StatuteLibrary, plan, segmenter, limit: int = 5) -> list[dict]:
    """BM25 over article texts with the entries' analysis (jieba + user dictionary).
    The library is small (thousands of articles), so it is scored in memory."""
    import math

    docs = []
    for st in library.statutes:
        for key, text in st.articles.items():
            docs.append((st, key, text, segmenter.terms(text)))
    if not docs or not plan.terms:
        return []
    n = len(docs)
    avg = sum(len(d[3]) for d in docs) / n
    df: dict[str, int] = {}
    for d in docs:
        for t in set(d[3]):
            df[t] = df.get(t, 0) + 1
    scored = []
    for st, key, text, terms in docs:
        tf: dict[str, int] = {}
        for t in terms:
            tf[t] = tf.get(t, 0) + 1
        score = 0.0
        for qt in plan.terms:
            f = tf.get(qt.text)
            if not f:
                continue
            idf = math.log(1 + (n - df[qt.text] + 0.5) / (df[qt.text] + 0.5))
            score += qt.weight * idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * len(terms) / avg))
        if score > 0:
            scored.append((score, st, key, text))
    scored.sort(key=lambda x: -x[0])
    out = []
    for score, st, key, text in scored[:limit]:
        art, _, sub = key.partition("-")
        from .numerals import to_chinese

        label = f"第{to_chinese(int(art))}条" + (f"之{to_chinese(int(sub))}" if sub else "")
        # A title quoting another (最高人民法院关于适用《中华人民共和国民事诉讼法》的解释) is
        # shown inside 《》 everywhere, so its inner marks are 〈〉 as in every citation.
        title = st.title.replace("《", "〈").replace("》", "〉")
        out.append({"title": title, "file": st.path.name, "article": label, "key": key,
                    "score": round(score, 3), "text": text})
    return out


def cited_articles(catalogue, citations, library: StatuteLibrary | None) -> list[dict]:
    """For each citation of an entry: its canonical form and, when the library has it, the text."""
    out = []
    for c in citations:
        inst = catalogue.resolve(c)
        text = article_text(library, inst, c) if (library and inst) else None
        out.append({"citation": c.canonical(), "status": inst.status if inst else None, "text": text})
    return out

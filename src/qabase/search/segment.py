"""Chinese segmentation with jieba and the legal user dictionary, and query analysis.

Engine-neutral: this module knows jieba but not Whoosh. The index stores the terms it
produces; search analyses queries with it, so both sides always agree.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field

from ..content.catalogue import Catalogue
from ..content.citations import QUERY_ARTICLE_RE, normalise_name
from ..content.numerals import to_int

MAX_QUERY_CHARS = 200
# Terms made only of these are not worth searching for.
_WORDLIKE = re.compile(r"[\w]", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# Lone surrogates cannot be encoded anywhere downstream.
_SURROGATE = re.compile(r"[\ud800-\udfff]")

SUBTERM_WEIGHT = 0.4
SYNONYM_WEIGHT = 0.7
# A homophone correction counts a little less than the word a judge actually typed.
CORRECTION_WEIGHT = 0.8


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits to half-width), lower case, no control characters."""
    text = _SURROGATE.sub("", text)
    text = unicodedata.normalize("NFKC", text)
    return _CONTROL.sub(" ", text).lower()


class Segmenter:
    """jieba with the knowledge base's user dictionary, initialised on first use."""

    def __init__(self, userdict: list[tuple[str, int | None, str | None]], extra_words=()):
        self._userdict = list(userdict)
        self._extra = [w for w in extra_words if w]
        self._tk = None
        self._cutter = None

    @property
    def tokenizer(self):
        if self._tk is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tk = jieba.Tokenizer()
            tk.initialize()
            for word, freq, tag in self._userdict:
                tk.add_word(normalise(word), freq, tag)
            for word in self._extra:
                tk.add_word(normalise(word))
            self._tk = tk
        return self._tk

    @property
    def cutter(self) -> "DagCutter":
        """jieba's algorithm over jieba's dictionary (with the user words), run by qabase's
        own loop: the same cuts as ``Tokenizer.tokenize(mode="search", HMM=False)``
        (tests/test_segment.py compares them) at about twice the speed, which is most of a
        full build's time."""
        if self._cutter is None:
            tk = self.tokenizer
            self._cutter = DagCutter.from_freq(tk.FREQ, tk.total)
        return self._cutter

    def spans(self, text: str):
        """(term, start, end) in search mode: whole words plus the dictionary words inside them.
        Offsets are characters in the normalised text."""
        return self.cutter.spans(normalise(text))

    def terms(self, text: str) -> list[str]:
        return [w for w, _, _ in self.spans(text)]

    def vocabulary(self, words) -> tuple[dict[str, int], int]:
        """Frequencies of ``words`` (the index's terms plus the kb word lists) and of every
        single character jieba knows, with jieba's total: enough for VocabSegmenter to cut
        queries as jieba would, without loading jieba's 350,000-word dictionary."""
        tk = self.tokenizer
        if getattr(self, "_chars", None) is None:
            # A scan of 350,000 entries (0.1 s): once per process, not once per build or update.
            self._chars = {w: f for w, f in tk.FREQ.items() if len(w) == 1 and f}
        freq = dict(self._chars)
        for w in words:
            f = tk.FREQ.get(w)
            if f:
                freq[w] = f
        for word, f, _ in self._userdict:
            w = normalise(word)
            freq[w] = tk.FREQ.get(w) or f or 1
        for w in self._extra:
            w = normalise(w)
            freq[w] = tk.FREQ.get(w) or 1
        return freq, tk.total


_RE_HAN = re.compile(r"([\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+)")
_RE_SKIP = re.compile(r"(\r\n|\s)")
_RE_ENG = re.compile(r"[a-zA-Z0-9]")


_MISSING = object()


class DagCutter:
    """jieba's dictionary segmentation: a DAG of the dictionary words at each position, the
    most probable route through it (no HMM), then search mode's two- and three-character
    dictionary words inside longer words. Built from a mapping like jieba's ``FREQ`` (every
    dictionary word to its frequency, every proper prefix of one to 0) by ``from_freq``.

    Scores are computed with exactly jieba's float operations, ties go to the longer word as
    in jieba's ``max`` over (score, end), so the cuts are identical."""

    def __init__(self, table: dict[str, float | None], total: int):
        import math

        # One lookup per DAG step: log(freq) - log(total) for a word (jieba's exact float
        # operations), None for a proper prefix of one, absent otherwise.
        self.table = table
        self.total = total
        self.logtotal = math.log(total)

    @classmethod
    def from_freq(cls, known: dict[str, int], total: int) -> "DagCutter":
        from math import log

        logtotal = log(total)
        return cls({w: (log(f) - logtotal if f else None) for w, f in known.items()}, total)

    def _cut_block(self, s: str):
        n = len(s)
        get = self.table.get
        missing = _MISSING
        single = 0.0 - self.logtotal  # jieba's log(FREQ.get(c) or 1) - logtotal for an unknown c
        score = [0.0] * (n + 1)
        end = list(range(n + 1))
        for idx in range(n - 1, -1, -1):
            best, bx = None, idx
            i = idx
            frag = s[idx]
            while i < n:
                p = get(frag, missing)
                if p is missing:
                    break
                if p is not None:
                    v = p + score[i + 1]
                    if best is None or v >= best:  # a tie goes to the later end, as in max()
                        best, bx = v, i
                i += 1
                frag = s[idx:i + 1]
            if best is None:
                best = single + score[idx + 1]
            score[idx], end[idx] = best, bx
        x, buf = 0, ""
        while x < n:
            y = end[x] + 1
            word = s[x:y]
            if len(word) == 1 and _RE_ENG.match(word):
                buf += word
            else:
                if buf:
                    yield buf
                    buf = ""
                yield word
            x = y
        if buf:
            yield buf

    def _cut(self, text: str):
        for blk in _RE_HAN.split(text):
            if not blk:
                continue
            if _RE_HAN.match(blk):
                yield from self._cut_block(blk)
            else:
                for part in _RE_SKIP.split(blk):
                    if _RE_SKIP.match(part):
                        yield part
                    else:
                        yield from part

    def spans(self, text: str):
        """(term, start, end) of already normalised text; whitespace and punctuation dropped."""
        for word, start, end in self._search_mode(text):
            word = word.strip()
            if word and _WORDLIKE.search(word):
                yield word, start, end

    def _search_mode(self, text: str):
        # jieba's tokenize(mode="search"): the dictionary's two- and three-character words
        # inside a longer word, then the word itself.
        get = self.table.get
        start = 0
        for w in self._cut(text):
            width = len(w)
            if width > 2:
                for i in range(width - 1):
                    if get(w[i:i + 2]) is not None:
                        yield w[i:i + 2], start + i, start + i + 2
            if width > 3:
                for i in range(width - 2):
                    if get(w[i:i + 3]) is not None:
                        yield w[i:i + 3], start + i, start + i + 3
            yield w, start, start + width
            start += width


class VocabSegmenter:
    """jieba's segmentation (DagCutter) over a small vocabulary saved with the index. The
    search path uses it so that a cold ``qabase search`` never imports jieba.

    Saved with marshal, DAG table included: every cold search loads it, and parsing text and
    taking logarithms of tens of thousands of words would cost more than the search."""

    FORMAT = 2

    def __init__(self, freq: dict[str, int], cutter: DagCutter):
        self.freq = freq
        self.total = cutter.total
        self.source = None  # (generation, engine commit) the vocabulary was read from
        self.cutter = cutter

    @staticmethod
    def _cutter(freq: dict[str, int], total: int) -> DagCutter:
        known: dict[str, int] = {}
        for w in freq:
            for i in range(1, len(w)):
                known.setdefault(w[:i], 0)
        known.update(freq)
        return DagCutter.from_freq(known, total)

    @classmethod
    def load(cls, path) -> "VocabSegmenter":
        with open(path, "rb") as f:
            return cls.parse(f.read())

    @classmethod
    def parse(cls, data: bytes) -> "VocabSegmenter":
        import marshal

        try:
            fmt, total, freq, table = marshal.loads(data)
        except (EOFError, ValueError, TypeError) as e:
            raise ValueError(f"词表无法读取：{e}") from None
        if fmt != cls.FORMAT or not isinstance(freq, dict) or not isinstance(table, dict):
            raise ValueError("词表格式不符")
        return cls(freq, DagCutter(table, total))

    @staticmethod
    def dump(freq: dict[str, int], total: int) -> bytes:
        import marshal

        freq = {w: n for w, n in freq.items() if "\t" not in w and "\n" not in w}
        table = VocabSegmenter._cutter(freq, total).table
        return marshal.dumps((VocabSegmenter.FORMAT, total, freq, table), 4)

    def spans(self, text: str):
        return self.cutter.spans(normalise(text))

    def terms(self, text: str) -> list[str]:
        return [w for w, _, _ in self.spans(text)]

    def vocabulary(self, words) -> tuple[dict[str, int], int]:
        """Its own words: it cannot produce any other."""
        return dict(self.freq), self.total


@dataclass
class QueryTerm:
    text: str
    weight: float
    origin: str  # "query", "part" (inside a longer query word), "synonym"
    source: str | None = None  # for synonyms: the query word that brought it in


@dataclass
class QueryPlan:
    query: str
    terms: list[QueryTerm] = field(default_factory=list)
    citations: list[str] = field(default_factory=list)  # citation keys, as indexed
    citation_labels: list[str] = field(default_factory=list)
    truncated: bool = False
    corrections: list[dict] = field(default_factory=list)  # [{"from": "中本", "to": "终本"}]
    corrected_query: str | None = None

    @property
    def searched_as(self) -> list[str]:
        out = []
        for t in self.terms:
            if t.origin != "part" and t.text not in out:
                out.append(t.text)
        return out + [c for c in self.citation_labels if c not in out]

    @property
    def empty(self) -> bool:
        return not self.terms and not self.citations


class QueryAnalyzer:
    def __init__(self, segmenter: Segmenter, synonyms: list[list[str]], stopwords, catalogue: Catalogue,
                 homophones=None):
        self.segmenter = segmenter
        self._homophones = homophones  # a Homophones, or a callable that loads it on first need
        self.stopwords = frozenset(normalise(w) for w in stopwords)
        self.groups: dict[str, list[str]] = {}
        for group in synonyms:
            members = [normalise(w) for w in group]
            for m in members:
                self.groups.setdefault(m, [])
                for other in members:
                    if other != m and other not in self.groups[m]:
                        self.groups[m].append(other)
        self.catalogue = catalogue
        self._names = None

    def _find_citations(self, text: str):
        from ..content.catalogue import citation_key
        from ..content.citations import Citation

        keys, labels, spans = [], [], []
        compact = re.sub(r"[\s《》〈〉<>]", "", text)
        matches = list(QUERY_ARTICLE_RE.finditer(compact))
        if matches and self._names is None:
            if callable(self.catalogue):  # loaded only when a query looks like a citation
                self.catalogue = self.catalogue()
            self._names = self.catalogue.names_for_queries()
        for m in matches:
            before = compact[: m.start()]
            for name, inst in self._names:
                if before.endswith(name):
                    try:
                        art = to_int(m["article"])
                        sub = to_int(m["sub"]) if m["sub"] else None
                    except ValueError:
                        break
                    c = Citation(inst.name, None, art, sub)
                    keys.append(citation_key(self.catalogue, c))
                    labels.append(c.canonical())
                    spans.append((m.start() - len(name), m.end()))
                    break
        return keys, labels, spans, compact

    def analyse(self, query: str) -> QueryPlan:
        plan = QueryPlan(query=query)
        text = normalise(query or "").strip()
        if len(text) > MAX_QUERY_CHARS:
            text = text[:MAX_QUERY_CHARS]
            plan.truncated = True
        if not text:
            return plan
        keys, labels, spans, compact = self._find_citations(text)
        plan.citations, plan.citation_labels = keys, labels
        if spans:
            # Words of a recognised citation would only add noise ("第", "条", numbers).
            kept, last = [], 0
            for s, e in spans:
                kept.append(compact[last:s])
                last = e
            kept.append(compact[last:])
            text = " ".join(kept)
        spans_ = list(self.segmenter.spans(text))
        whole = []
        for w, s, e in spans_:
            if not any(s2 <= s and e <= e2 and (s2, e2) != (s, e) for _, s2, e2 in spans_):
                whole.append((w, s, e))
        fixes = self._corrections(text, whole)
        inside = lambda s, e: any(a <= s and e <= b for a, b, _ in fixes)  # noqa: E731
        seen = set()
        for w, s, e in spans_:
            if w in self.stopwords or w in seen:
                continue
            is_part = (w, s, e) not in whole
            seen.add(w)
            if inside(s, e):
                # The characters of a mistyped word: kept, but far below the correction.
                plan.terms.append(QueryTerm(w, SUBTERM_WEIGHT / 2, "part"))
                continue
            plan.terms.append(QueryTerm(w, SUBTERM_WEIGHT if is_part else 1.0, "part" if is_part else "query"))
        corrected = text
        for a, b, term in sorted(fixes, reverse=True):
            corrected = corrected[:a] + term + corrected[b:]
            plan.corrections.insert(0, {"from": text[a:b], "to": term})
            if term not in seen:
                seen.add(term)
                plan.terms.append(QueryTerm(term, CORRECTION_WEIGHT, "correction", text[a:b]))
        if fixes:
            plan.corrected_query = corrected
        for t in list(plan.terms):
            if t.origin not in ("query", "correction"):
                continue
            for syn in self.groups.get(t.text, ()):
                if syn not in seen:
                    seen.add(syn)
                    w = SYNONYM_WEIGHT * (CORRECTION_WEIGHT if t.origin == "correction" else 1.0)
                    plan.terms.append(QueryTerm(syn, w, "synonym", t.text))
        return plan

    def _corrections(self, text: str, whole: list) -> list[tuple[int, int, str]]:
        """Spans of the query that are not words of the index but sound like a dictionary
        term: (start, end, term). Only spans that the cut broke into single characters are
        considered, which is what an unknown word looks like; correct words never change."""
        if self._homophones is None or not isinstance(self.segmenter, VocabSegmenter):
            return []
        known = self.segmenter.freq
        out: list[tuple[int, int, str]] = []
        n = len(whole)
        candidates = []
        for i in range(n):
            for j in range(i + 1, min(i + 4, n) + 1):
                window = whole[i:j]
                if any(window[k][2] != window[k + 1][1] for k in range(len(window) - 1)):
                    break
                span = text[window[0][1]:window[-1][2]]
                if not (2 <= len(span) <= 8) or not re.fullmatch(r"[\u4e00-\u9fff]+", span):
                    continue
                if not any(len(w) == 1 for w, _, _ in window) or known.get(span):
                    continue
                candidates.append((window[0][1], window[-1][2], span))
        if not candidates:
            return []
        if callable(self._homophones):
            self._homophones = self._homophones()
            if self._homophones is None:
                return []
        for a, b, span in sorted(candidates, key=lambda c: -(c[1] - c[0])):
            if any(a < y and x < b for x, y, _ in out):
                continue
            term = self._homophones.match(span)
            if term:
                out.append((a, b, term))
        return out

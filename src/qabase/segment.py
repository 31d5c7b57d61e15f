"""Chinese segmentation with jieba and the legal user dictionary, and query analysis.

Engine-neutral: this module knows jieba but not Whoosh. The index stores the terms it
produces; search analyses queries with it, so both sides always agree.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field

from .catalogue import Catalogue
from .citations import QUERY_ARTICLE_RE, normalise_name
from .numerals import to_int

MAX_QUERY_CHARS = 200
# Terms made only of these are not worth searching for.
_WORDLIKE = re.compile(r"[\w]", re.UNICODE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# Lone surrogates cannot be encoded anywhere downstream.
_SURROGATE = re.compile(r"[\ud800-\udfff]")

SUBTERM_WEIGHT = 0.4
SYNONYM_WEIGHT = 0.7


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

    def spans(self, text: str):
        """(term, start, end) in search mode: whole words plus the dictionary words inside them.
        Offsets are characters in the normalised text."""
        text = normalise(text)
        for word, start, end in self.tokenizer.tokenize(text, mode="search", HMM=False):
            word = word.strip()
            if word and _WORDLIKE.search(word):
                yield word, start, end

    def terms(self, text: str) -> list[str]:
        return [w for w, _, _ in self.spans(text)]


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
    def __init__(self, segmenter: Segmenter, synonyms: list[list[str]], stopwords, catalogue: Catalogue):
        self.segmenter = segmenter
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
        from .catalogue import citation_key
        from .citations import Citation

        if self._names is None:
            self._names = self.catalogue.names_for_queries()
        keys, labels, spans = [], [], []
        compact = re.sub(r"[\s《》〈〉<>]", "", text)
        for m in QUERY_ARTICLE_RE.finditer(compact):
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
        seen = set()
        for w, s, e in spans_:
            if w in self.stopwords or w in seen:
                continue
            is_part = (w, s, e) not in whole
            seen.add(w)
            plan.terms.append(QueryTerm(w, SUBTERM_WEIGHT if is_part else 1.0, "part" if is_part else "query"))
        for t in list(plan.terms):
            if t.origin != "query":
                continue
            for syn in self.groups.get(t.text, ()):
                if syn not in seen:
                    seen.add(syn)
                    plan.terms.append(QueryTerm(syn, SYNONYM_WEIGHT, "synonym", t.text))
        return plan

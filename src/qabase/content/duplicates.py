"""Near-duplicate questions: character-bigram Jaccard similarity over normalised text.

Chinese questions share few whole words when rephrased, but they share character pairs, so
bigrams need no segmenter. Two texts are compared after NFKC folding and dropping everything
that is not a letter or a digit (punctuation and spaces say nothing about the question).
"""
from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass

# The shipped knowledge base's most similar pair of different questions scores 0.50
# (arbitration vs notarised-deed versions of one question); reworded copies of one question
# score 0.7 and more. 0.6 sits between the two.
DEFAULT_THRESHOLD = 0.6


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def bigrams(text: str) -> frozenset[str]:
    s = normalise(text)
    if len(s) < 2:
        return frozenset([s]) if s else frozenset()
    return frozenset(s[i:i + 2] for i in range(len(s) - 1))


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the two texts' character bigrams, 0.0–1.0."""
    return _jaccard(bigrams(a), bigrams(b))


def _jaccard(a: frozenset, b: frozenset) -> float:
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


def threshold(kb) -> float:
    """``duplicate_threshold`` from kb/config.yaml, or the default when absent or unusable."""
    value = (getattr(kb, "settings", None) or {}).get("duplicate_threshold")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        return DEFAULT_THRESHOLD
    return float(value)


@dataclass(frozen=True)
class Duplicate:
    """``a`` (an entry's question or alias) looks like ``b``; ``a_id`` sorts after ``b_id``
    when both come from the knowledge base, so each pair is reported once, on the later file."""

    a_id: str
    a_text: str
    b_id: str
    b_text: str
    score: float

    def message(self) -> str:
        return (f"{self.a_id} 与 {self.b_id} 的问题相近（相似度 {self.score:.2f}）："
                f"“{_short(self.a_text)}” ≈ “{_short(self.b_text)}”；如确为同一问题，请合并为一个条目，"
                f"把另一种说法写进 aliases")


def _short(text: str, n: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n] + "…"


def _texts(entry) -> list[str]:
    return [t for t in [entry.question, *entry.aliases] if t]


def _candidates(entries):
    """(id, text, bigrams) for every question and alias of the entries that are still in use."""
    out = []
    for e in entries:
        if e.status == "withdrawn":
            continue  # a withdrawn entry is meant to look like the one that replaced it
        for t in _texts(e):
            grams = bigrams(t)
            if grams:
                out.append((e.id, t, grams))
    return out


def find_duplicates(entries, limit: float) -> list[Duplicate]:
    """Every pair of different entries whose questions or aliases reach ``limit``; the best
    scoring text pair per entry pair."""
    items = _candidates(entries)
    postings: dict[str, list[int]] = defaultdict(list)
    best: dict[tuple[str, str], Duplicate] = {}
    for i, (eid, text, grams) in enumerate(items):
        shared: dict[int, int] = defaultdict(int)
        for g in grams:
            for j in postings[g]:
                shared[j] += 1
            postings[g].append(i)
        for j, n in shared.items():
            oid, otext, ograms = items[j]
            if oid == eid:
                continue
            score = n / (len(grams) + len(ograms) - n)
            if score < limit:
                continue
            (a, at), (b, bt) = sorted([(eid, text), (oid, otext)], reverse=True)
            key = (a, b)
            if key not in best or score > best[key].score:
                best[key] = Duplicate(a, at, b, bt, round(score, 4))
    return sorted(best.values(), key=lambda d: (d.a_id, d.b_id))


class Matcher:
    """The questions and aliases of a set of entries, indexed by bigram, to look up one new
    question at a time (``new --question``, each imported row) without comparing against
    every text."""

    def __init__(self, entries=()):
        self.items: list[tuple[str, str, frozenset]] = []
        self.postings: dict[str, list[int]] = defaultdict(list)
        for eid, text, grams in _candidates(entries):
            self.add(eid, text, grams)

    def add(self, eid: str, text: str, grams: frozenset | None = None) -> None:
        grams = bigrams(text) if grams is None else grams
        if not grams:
            return
        i = len(self.items)
        self.items.append((eid, text, grams))
        for g in grams:
            self.postings[g].append(i)

    def match(self, texts: list[str], limit: float, new_id: str = "新问题") -> list[Duplicate]:
        best: dict[str, Duplicate] = {}
        for t in texts:
            grams = bigrams(t)
            shared: dict[int, int] = defaultdict(int)
            for g in grams:
                for j in self.postings.get(g, ()):
                    shared[j] += 1
            for j, n in shared.items():
                eid, otext, ograms = self.items[j]
                if eid == new_id:
                    continue
                score = n / (len(grams) + len(ograms) - n)
                if score >= limit and (eid not in best or score > best[eid].score):
                    best[eid] = Duplicate(new_id, t, eid, otext, round(score, 4))
        return sorted(best.values(), key=lambda d: (-d.score, d.b_id))


def similar_to(texts: list[str], entries, limit: float, new_id: str = "新问题") -> list[Duplicate]:
    """Entries whose question or aliases look like any of ``texts`` (a question not yet
    saved, or a row being imported), best first."""
    return Matcher(entries).match([t for t in texts if t], limit, new_id)


def problems(kbase, entries) -> list:
    """check.py's view: one warning per near-duplicate pair, on the later entry's question line."""
    from ..errors import WARNING, Problem, rel

    by_id = {e.id: e for e in entries}
    out = []
    for d in find_duplicates(entries, threshold(kbase.kb)):
        e = by_id[d.a_id]
        key = "question" if d.a_text == e.question else "aliases"
        out.append(Problem(rel(e.path, kbase.kb.root), e.field_lines.get(key, 2), WARNING, d.message()))
    return out

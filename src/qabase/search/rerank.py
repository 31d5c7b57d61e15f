"""Second look at the engine's best candidates, the same for every engine.

The engines score words (BM25F). What they cannot see is how much of a short text the query
covers: a query that says nearly what one of an entry's questions or other phrasings says
should put that entry first, however common its words. This module measures that overlap
on the stored question and aliases of the top candidates and raises their scores by it.
Citation queries are ordered by how central the article is to each citing entry.
"""
from __future__ import annotations

import re

from .segment import QueryPlan

DEPTH = 50  # candidates looked at again; past this the engine's order stands
# How far near-exact question/alias coverage raises a score (relative). Chosen on the
# golden set, then checked on the blind set as a whole.
ALPHA = 0.6
# Overlap at or above this is a near-exact match of a question or alias (see rerank).
NEAR_EXACT = 0.75
# A citation in the question, first in legal_basis, in the conclusion, elsewhere.
CENTRALITY = {"question": 1.0, "first": 0.8, "conclusion": 0.6, "listed": 0.3}


def _covered(text: str, words: list[str]) -> tuple[int, int]:
    """(characters of ``text`` covered by ``words``, CJK characters of ``text``)."""
    hit = bytearray(len(text))
    for w in words:
        start = 0
        while True:
            i = text.find(w, start)
            if i < 0:
                break
            hit[i:i + len(w)] = b"\x01" * len(w)
            start = i + 1
    cjk = [("\u4e00" <= c <= "\u9fff") for c in text]
    return sum(1 for i, k in enumerate(cjk) if k and hit[i]), sum(cjk)


def _typed_groups(plan: QueryPlan) -> list[tuple[float, list[str]]]:
    return [(w, [t.text for t in ms]) for w, ms in plan.groups() if ms[0].origin in ("query", "correction", "lexicon")]


def overlap(plan: QueryPlan, texts: list[str], groups=None) -> float:
    """How nearly the query says one of ``texts``: for the best text, the share of its
    characters the query's word groups cover times the share of the query's (weighted) word
    groups it contains. 1.0 means the same words both ways."""
    groups = _typed_groups(plan) if groups is None else groups
    if not groups:
        return 0.0
    total_w = sum(w for w, _ in groups)
    best = 0.0
    for text in texts:
        if not text:
            continue
        got = sum(w for w, words in groups if any(x in text for x in words)) / total_w
        if not got:
            continue
        # The text's own question words (有什么区别) are as neutral as the query's.
        cov, n = _covered(text, [x for _, words in groups for x in words] + plan.stopped)
        best = max(best, got * (cov / n if n else 0.0))
    return best


def centrality(label_of, doc: dict, citation_labels: list[str]) -> float:
    """How central the cited articles are to an entry (0 when it cites none of them)."""
    best = 0.0
    basis = list(doc.get("legal_basis") or [])
    answer = doc.get("answer_text", "")
    conclusion = answer.split("\n", 1)[0]
    for label in citation_labels:
        if label not in basis:
            continue
        short = label_of(label)
        if short and short in doc.get("question", ""):
            best = max(best, CENTRALITY["question"])
        elif basis and basis[0] == label:
            best = max(best, CENTRALITY["first"])
        elif short and short in conclusion:
            best = max(best, CENTRALITY["conclusion"])
        else:
            best = max(best, CENTRALITY["listed"])
    return best


def _article_words(label: str) -> str | None:
    m = re.search(r"(第[零〇一二三四五六七八九十百千]+条)", label)
    return m.group(1) if m else None


def rerank(plan: QueryPlan, found: list[tuple[float, dict]]) -> list[tuple[float, dict, float]]:
    """(score, stored doc, overlap) of every candidate, best first."""
    out = []
    groups = _typed_groups(plan)  # once per query, not once per candidate
    for score, d in found:
        ov = overlap(plan, [d.get("question", ""), *(d.get("aliases") or [])], groups)
        s = score * (1 + ALPHA * ov)
        if plan.citation_labels:
            s += score * centrality(_article_words, d, plan.citation_labels)
        out.append((s, d, ov))
    out.sort(key=lambda x: (-x[0], x[1].get("id", "")))
    # A query that says nearly exactly what one of an entry's phrasings says is asking that
    # entry's question: it goes first, whatever the word counts elsewhere.
    near = [x for x in out if x[2] >= NEAR_EXACT]
    if near:
        top = out[0][0]
        lifted = [(max(s, top * 1.05) + (len(near) - i) * 1e-6, d, ov) for i, (s, d, ov) in enumerate(near)]
        out = lifted + [x for x in out if x[2] < NEAR_EXACT]
    return out
